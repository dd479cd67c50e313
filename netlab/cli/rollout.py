"""`netlab rollout status|history|undo|restart`: kubectl's rollout verbs for Deployments and
StatefulSets."""

from __future__ import annotations

import time
from typing import Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, out, report
from netlab.errors import NetlabError, require_root

TARGET_HELP = "deploy/NAME or sts/NAME (or KIND NAME)."


def _target(target: str, name: Optional[str]) -> tuple[str, str, str]:
    """(kind, qualified kind, name) from `deploy/web` or `deploy web`."""
    from netlab.api.kinds import lookup

    kind_text, _, slash_name = target.partition("/")
    info = lookup(kind_text)
    name = slash_name or name
    if info is None or info.kind not in ("Deployment", "StatefulSet") or not name:
        raise typer.BadParameter("expected deploy/NAME or sts/NAME", param_hint="TARGET")
    return info.kind, info.qualified, name


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Manage the rollout of a Deployment or StatefulSet: status, history, undo, restart.", no_args_is_help=True)
    app.add_typer(group, name="rollout")

    @group.command("status")
    def status(
        target: str = typer.Argument(..., help=TARGET_HELP),
        name: Optional[str] = typer.Argument(None, hidden=True),
        watch: bool = typer.Option(True, "-w", "--watch", help="Follow until the rollout finishes (--watch=false: print once)."),
        timeout: str = typer.Option("0s", "--timeout", help="Give up after this long (0s: never), exit 1."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Follow a rollout until every replica runs the new template, as kubectl prints it."""
        from netlab.cli.common import open_alive
        from netlab.views import rollout
        from netlab.views.wait import parse_duration

        require_root()
        kind, _, name = _target(target, name)
        seconds = parse_duration(timeout)
        lab = open_alive(cluster)
        deadline = time.monotonic() + seconds if seconds > 0 else None
        last = None
        while True:
            message, done = rollout.status(lab, kind, namespace, name)
            if message != last:
                out(message)
                last = message
            if done or not watch:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise NetlabError("timed out waiting for the condition")
            time.sleep(0.2)  # polling the rollout's progress, bounded by --timeout

    @group.command("history")
    def history(
        target: str = typer.Argument(..., help=TARGET_HELP),
        name: Optional[str] = typer.Argument(None, hidden=True),
        revision: int = typer.Option(0, "--revision", help="Show the pod template of this revision."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """List a Deployment's revisions (REVISION, CHANGE-CAUSE), or show one's pod template."""
        from netlab.cli.common import open_alive, print_table
        from netlab.views import rollout

        require_root()
        kind, qualified, name = _target(target, name)
        rollout.check_kind(kind, "history")
        lab = open_alive(cluster)
        revisions = rollout.history(lab, namespace, name)
        if revision:
            chosen = [r for r in revisions if r.number == revision]
            if not chosen:
                raise NetlabError(f"unable to find the specified revision {revision}")
            out(f"{qualified}/{name} with revision #{revision}")
            for line in rollout.describe_template(rollout.revision_template(chosen[0])):
                out(line)
            return
        out(f"{qualified}/{name} ")
        print_table(["REVISION", "CHANGE-CAUSE"], [[r.number, r.change_cause or "<none>"] for r in revisions])

    @group.command("undo")
    def undo(
        target: str = typer.Argument(..., help=TARGET_HELP),
        name: Optional[str] = typer.Argument(None, hidden=True),
        to_revision: int = typer.Option(0, "--to-revision", help="The revision to go back to (default: the previous one)."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Roll a Deployment back to its previous revision, or to --to-revision."""
        from netlab.lab import rollout as rollouts
        from netlab.views import rollout

        require_root()
        kind, qualified, name = _target(target, name)
        rollout.check_kind(kind, "undo")
        verb, problems = rollouts.undo(cluster, namespace, name, to_revision)
        out(f"{qualified}/{name} {verb}")
        report(problems)

    @group.command("restart")
    def restart(
        target: str = typer.Argument(..., help=TARGET_HELP),
        name: Optional[str] = typer.Argument(None, hidden=True),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Replace every pod with a new one, as a rollout (kubectl.kubernetes.io/restartedAt)."""
        from netlab.lab import rollout as rollouts

        require_root()
        kind, qualified, name = _target(target, name)
        problems = rollouts.restart(cluster, kind, namespace, name)
        out(f"{qualified}/{name} restarted")
        report(problems)
