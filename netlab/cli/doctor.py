"""`netlab doctor`: check this machine for everything a lab needs, and say how to fix what is not."""

from __future__ import annotations

from enum import Enum

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from netlab.cli.common import console, out, print_document
from netlab.doctor import checks as doctor
from netlab.doctor import facts as hostfacts

STYLES = {doctor.Status.ok: "green", doctor.Status.warn: "yellow", doctor.Status.fail: "red", doctor.Status.skip: "dim"}


class DoctorOutput(str, Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


def render_table(checks: list[doctor.Check]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_lines=False, pad_edge=False)
    table.add_column("", no_wrap=True)
    table.add_column("CHECK", no_wrap=True)
    table.add_column("RESULT / FIX")
    for check in checks:
        style = STYLES[check.status]
        result = Text(check.summary)
        if check.fix:
            result.append("\nfix: " + check.fix, style="bold")
        table.add_row(Text(doctor.SYMBOLS[check.status], style=style), check.name, result)
    return table


def register(app: typer.Typer) -> None:
    @app.command("doctor")
    def doctor_cmd(
        output: DoctorOutput = typer.Option(DoctorOutput.table, "-o", "--output", help="table (default), json or yaml."),
    ) -> None:
        """Check this machine for a lab: root, kernel features, tools, address clashes, resolver, leftovers.

        Kernel features are tried for real inside a throwaway network namespace, never on the
        host. Exits 4 when a lab cannot work here (every ✗ has a fix), else 0.
        """
        checks = doctor.run_checks(hostfacts.gather())
        code = doctor.exit_code(checks)
        if output == DoctorOutput.table:
            console().print(render_table(checks))
            failed = sum(c.status == doctor.Status.fail for c in checks)
            warned = sum(c.status == doctor.Status.warn for c in checks)
            verdict = "a lab cannot work here until the ✗ lines are fixed" if failed else "a lab can run here"
            out(f"{failed} failed, {warned} warnings: {verdict}")
        else:
            print_document({"ok": code == 0, "checks": [c.to_dict() for c in checks]}, output)
        raise typer.Exit(code)
