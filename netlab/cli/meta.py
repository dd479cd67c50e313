"""`netlab label`, `netlab annotate` and `netlab api-resources`: kubectl's metadata edits and
its list of kinds."""

from __future__ import annotations

from typing import List, Optional

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, out, report
from netlab.errors import require_root

ARGS_HELP = "KIND NAME... KEY=VALUE... KEY-... (or KIND/NAME, or KIND with -l / --all)."


def _split(args: list[str]) -> tuple[str, list[str], list[str]]:
    """kubectl's reading: the kind (or KIND/NAME...), the names, then the edits."""
    edits = [a for a in args if "=" in a or (a.endswith("-") and a != "-")]
    targets = [a for a in args if a not in edits]
    if not targets:
        raise typer.BadParameter("name a kind, e.g. pod web app=v2", param_hint="ARGS")
    if "/" in targets[0]:
        kinds = {t.split("/", 1)[0] for t in targets}
        if len(kinds) != 1 or not all("/" in t for t in targets):
            raise typer.BadParameter("use KIND/NAME for every object, of one kind", param_hint="ARGS")
        return kinds.pop(), [t.split("/", 1)[1] for t in targets], edits
    return targets[0], targets[1:], edits


def _edit(field: str, verb: str, args, overwrite, selector, all_objects, namespace, cluster) -> None:
    from netlab.api.kinds import lookup
    from netlab.api.labels import parse_label_selector
    from netlab.lab import metadata

    require_root()
    kind_text, names, words = _split(args)
    info = lookup(kind_text)
    if info is None or not info.modelled:
        raise typer.BadParameter(f'the server doesn\'t have a resource type "{kind_text}"', param_hint="ARGS")
    if not names and selector is None and not all_objects:
        raise typer.BadParameter("name the objects, or use -l SELECTOR or --all", param_hint="ARGS")
    edits = metadata.parse_edits(words)
    sel = parse_label_selector(selector) if selector else None
    outcomes, warnings, problems = metadata.edit(cluster, field, info.kind, namespace, names, sel, edits, overwrite)
    for w in warnings:
        note(w)
    for o in outcomes:
        out(f"{info.qualified}/{o.name} {verb if o.changed else 'not ' + verb}")
    report(problems)


def register(app: typer.Typer) -> None:
    @app.command("label")
    def label(
        args: List[str] = typer.Argument(..., help=ARGS_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a label that already has another value."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Edit every object of KIND whose labels match."),
        all_objects: bool = typer.Option(False, "--all", help="Edit every object of KIND in the namespace."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Add, change (--overwrite) or remove (KEY-) labels; a pod's labels decide which Services select it."""
        _edit("labels", "labeled", args, overwrite, selector, all_objects, namespace, cluster)

    @app.command("annotate")
    def annotate(
        args: List[str] = typer.Argument(..., help=ARGS_HELP),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an annotation that already has another value."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Edit every object of KIND whose labels match."),
        all_objects: bool = typer.Option(False, "--all", help="Edit every object of KIND in the namespace."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Add, change (--overwrite) or remove (KEY-) annotations."""
        _edit("annotations", "annotated", args, overwrite, selector, all_objects, namespace, cluster)

    @app.command("api-resources")
    def api_resources(
        output: Optional[str] = typer.Option(None, "-o", "--output", help="wide or name."),
        namespaced: Optional[str] = typer.Option(None, "--namespaced", metavar="true|false", help="Only namespaced (true) or cluster-scoped (false) kinds."),
        no_headers: bool = typer.Option(False, "--no-headers", help="Leave out the header line."),
    ) -> None:
        """The kinds netlab knows: name, short names, API version, namespaced, kind (kubectl's table)."""
        from netlab.api.kinds import KINDS
        from netlab.cli.common import print_table

        kinds = sorted(KINDS, key=lambda k: (k.group, k.resource))
        if namespaced is not None:
            want = namespaced.lower() == "true"
            kinds = [k for k in kinds if k.namespaced == want]
        if output == "name":
            for k in kinds:
                out(k.qualified_plural)
            return
        headers = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"] + (["VERBS"] if output == "wide" else [])
        rows = []
        for k in kinds:
            verbs = "create,delete,get,list,update,watch" if k.modelled else "get,list,watch"
            row = [k.resource, ",".join(k.short_names), f"{k.group}/v1" if k.group else "v1", str(k.namespaced).lower(), k.kind]
            rows.append(row + ([verbs] if output == "wide" else []))
        if no_headers:
            for r in rows:
                out("   ".join(r))
            return
        print_table(headers, rows)
