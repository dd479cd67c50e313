"""`netlab events`: what the lab did, when (rows from `netlab/views/events.py`)."""

from __future__ import annotations

import time

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, open_alive, out, print_table
from netlab.errors import EXIT_INTERRUPTED, require_root
from netlab.views.events import headers, rows_since

WATCH_INTERVAL = 0.2  # seconds between two looks at the events table


def register(app: typer.Typer) -> None:
    @app.command("events")
    def events(
        namespace: str = NamespaceOption,
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="Events of every namespace."),
        watch: bool = typer.Option(False, "-w", "--watch", help="After listing, print new events as they happen (Ctrl-C to stop)."),
        cluster: str = ClusterOption,
    ) -> None:
        """What the lab did, oldest first: pods scheduled, sandboxes created, rules synced, restarts, node failures."""
        require_root()
        lab = open_alive(cluster)
        scope = None if all_namespaces else namespace
        table, last = rows_since(lab, scope)
        if table:
            print_table(headers(scope is None), table)
        elif not watch:
            note(f"No events found{' in ' + scope + ' namespace' if scope else ''}.")
        if not watch:
            return
        header_printed = bool(table)
        try:
            while True:
                time.sleep(WATCH_INTERVAL)  # polling the events table; no write announces itself
                new, last = rows_since(lab, scope, last)
                for row in new:
                    if not header_printed:
                        out("   ".join(headers(scope is None)))
                        header_printed = True
                    out("   ".join(row))
        except KeyboardInterrupt:  # Ctrl-C ends a watch quietly, with 130 as kubectl's does
            raise SystemExit(EXIT_INTERRUPTED) from None
