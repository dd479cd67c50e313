"""`netlab apply` and `netlab delete`: kubectl's verbs over the library.

`apply` is parsed without typer when written plainly (cli/fast.py): it is the command scripts
run most after `get` and `exec`, and typer alone is a fifth of its start."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, List, Optional

from netlab.api.kinds import lookup
from netlab.apiserver.state import exists
from netlab.cli.common import UsageProblem, note, out, report
from netlab.cli.fast import Params, multi, value
from netlab.errors import InvalidInput, require_root, require_tools
from netlab.naming import CLUSTER_ENV, DEFAULT_CLUSTER

if TYPE_CHECKING:
    import typer

PARAMETERS = Params(
    "netlab.cli.apply:apply_command",
    arguments=(),
    options=(
        multi("filename", "-f", "--filename", required=True),
        value("namespace", "-n", "--namespace", default="default"),
        value("wait", "--wait", default="true"),
        value("dry_run", "--dry-run", default="none"),
        value("cluster", "--cluster", default=DEFAULT_CLUSTER, envvar=CLUSTER_ENV),
    ),
)


def parse_refs(args: list[str]) -> list[tuple[str, str]]:
    """kubectl's spellings: `KIND NAME...`, `KIND,KIND NAME...` (each name of each kind) and
    `KIND/NAME...`."""
    usage = "expected KIND NAME... or KIND/NAME... with KIND one of pod, svc, namespace, deploy, rs, sts, cm, secret, …"
    if "/" in args[0]:
        pairs = [a.split("/", 1) for a in args]
    elif len(args) >= 2:
        pairs = [[kind, name] for kind in args[0].split(",") for name in args[1:]]
    else:
        raise UsageProblem(usage)
    refs = []
    for kind, name in pairs:
        info = lookup(kind)
        if info is None or not info.modelled or not name:
            raise UsageProblem(usage)
        refs.append((info.kind, name))
    return refs


def _wait_flag(value: str) -> bool:
    """kubectl's spelling: --wait, --wait=true, --wait=false."""
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise UsageProblem(f"--wait: expected true or false, got {value!r}")


def _namespace_given() -> bool:
    return any(a in ("-n", "--namespace") or a.startswith("--namespace=") for a in sys.argv)


def apply_command(filename: list[str], namespace: str, wait: str, dry_run: str, cluster: str) -> None:
    """`netlab apply`, as typer or cli/fast.py calls it."""
    if not filename:
        raise UsageProblem("Missing option '-f' / '--filename'.")
    if dry_run not in ("none", "client", "server"):
        raise UsageProblem(f'Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".')
    wait_for_lab = _wait_flag(wait)
    require_root()
    require_tools()
    # yaml and pydantic: loaded once the command line is known good.
    from netlab.api.loader import load_manifests

    loaded = load_manifests(filename, namespace, stdin=sys.stdin, explicit_namespace=_namespace_given())
    for warning in loaded.warnings:
        note(f"Warning: {warning}")
    if any('"SCTP"' in json.dumps(o.to_dict()) for o in loaded.objects):  # accepted; can this kernel carry it?
        from netlab.kernel.features import sctp_problem

        if (problem := sctp_problem()) is not None:
            note(f"Warning: protocol SCTP: this kernel cannot carry it ({problem}): kube-proxy's rules are written, but no pod can open an SCTP socket")
    if dry_run != "none":
        _dry_run(cluster, dry_run, loaded)
        return
    if not exists(cluster) and cluster == DEFAULT_CLUSTER:
        from netlab.api.cluster import default_cluster
        from netlab.lab.lifecycle import admit_into_new_lab, ensure_default  # the heavy imports, once

        # Admission first: a refused first apply must not leave a whole lab behind.
        if problems := admit_into_new_lab(default_cluster(cluster), loaded.objects, loaded.sources):
            raise InvalidInput(problems)
        note(f"No cluster yet: creating the default cluster {cluster!r} (2 nodes; see netlab cluster create --help)")
        ensure_default(cluster)
    from netlab.lab import commands

    changes, problems = commands.apply(cluster, loaded.objects, loaded.sources, wait=wait_for_lab)
    for change in changes:
        out(str(change))
    report(problems)


def register(app: typer.Typer) -> None:
    import typer

    from netlab.cli.common import ClusterOption, NamespaceOption

    wait_option = typer.Option(
        "true",
        "--wait",
        metavar="true|false",
        help="Return once the lab reflects the change (default), or with --wait=false as soon as it is stored.",
    )

    @app.command("diff")
    def diff(
        filename: List[str] = typer.Option(..., "-f", "--filename", help="File, directory or - (stdin); repeatable."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Show what `apply -f` would change, as a unified diff; exit 0 no change, 1 changes, >1 error."""
        from netlab.api.loader import load_manifests
        from netlab.lab import dryrun

        require_root()
        loaded = load_manifests(filename, namespace, stdin=sys.stdin, explicit_namespace=_namespace_given())
        text = dryrun.diff(cluster, loaded.objects, loaded.sources)
        sys.stdout.write(text)
        sys.stdout.flush()
        if text:
            raise typer.Exit(1)

    @app.command("apply")
    def apply(
        filename: List[str] = typer.Option(..., "-f", "--filename", help="File, directory or - (stdin); repeatable."),
        namespace: str = NamespaceOption,
        wait: str = wait_option,
        dry_run: str = typer.Option("none", "--dry-run", metavar="none|client|server", help="client: validate only; server: full admission and allocation, nothing stored."),
        cluster: str = ClusterOption,
    ) -> None:
        """Create or update objects from Kubernetes YAML (Pods, Services, Namespaces, NetworkPolicies).

        The default cluster is created on first use. Prints kubectl's
        `pod/NAME created|configured|unchanged`; nothing is applied if any document is invalid.
        """
        try:
            apply_command(filename, namespace, wait, dry_run, cluster)
        except UsageProblem as exc:
            raise typer.BadParameter(str(exc)) from None

    @app.command("delete")
    def delete(
        args: Optional[List[str]] = typer.Argument(None, help="KIND NAME... (pod, svc, namespace, netpol, deploy, rs, sts); KIND/NAME works too; KIND[,KIND] with -l or --all"),
        filename: Optional[List[str]] = typer.Option(None, "-f", "--filename", help="Delete the objects in these files."),
        namespace: str = NamespaceOption,
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Delete the objects of KIND whose labels match, e.g. app=web."),
        all_objects: bool = typer.Option(False, "--all", help="Delete every object of KIND in the namespace."),
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="With -l or --all: in every namespace."),
        ignore_not_found: bool = typer.Option(False, "--ignore-not-found", help="Succeed when an object is already gone."),
        wait: str = wait_option,
        cluster: str = ClusterOption,
    ) -> None:
        """Delete objects by file (-f) or by KIND NAME...; a pod's namespace, veth and processes go with it."""
        try:
            _delete(args, filename, namespace, selector, all_objects, all_namespaces, ignore_not_found, wait, cluster)
        except UsageProblem as exc:
            raise typer.BadParameter(str(exc)) from None


def _delete(args, filename, namespace: str, selector, all_objects: bool, all_namespaces: bool, ignore_not_found: bool, wait: str, cluster: str) -> None:
    from netlab.lab import commands

    require_root()
    if selector is not None or all_objects:
        _delete_selected(args or [], namespace, selector, all_objects, all_namespaces, _wait_flag(wait), cluster)
        return
    refs: list[tuple[str, str, str]] = []
    if filename:
        from netlab.api.loader import load_references

        refs += load_references(filename, namespace, stdin=sys.stdin)
    if args:
        refs += [(kind, namespace if lookup(kind).namespaced else "", name) for kind, name in parse_refs(args)]
    if not refs:
        raise UsageProblem("name objects to delete: -f FILE, KIND NAME, or KIND with -l SELECTOR or --all")
    changes, problems = commands.delete(cluster, refs, ignore_not_found=ignore_not_found, wait=_wait_flag(wait))
    for change in changes:
        out(str(change))
    report(problems)


def _dry_run(cluster: str, mode: str, loaded) -> None:
    """kubectl's `pod/web created (dry run)` / `(server dry run)`; nothing is stored."""
    from netlab.lab import dryrun

    if mode == "client":
        changes = dryrun.client(cluster, loaded.objects)
    else:
        changes = dryrun.server(cluster, loaded.objects, loaded.sources).changes
    for change in changes:
        out(f"{change} ({'dry run' if mode == 'client' else 'server dry run'})")


def _delete_selected(args: list[str], namespace: str, selector: str | None, all_objects: bool, all_namespaces: bool, wait: bool, cluster: str) -> None:
    """kubectl delete KIND[,KIND] -l SELECTOR | --all: `No resources found` when none match."""
    from netlab.api.labels import parse_label_selector

    if len(args) != 1 or "/" in args[0]:
        raise UsageProblem("with -l or --all give the kinds only, e.g. `delete pods,svc -l app=web`")
    if selector is not None and all_objects:
        raise UsageProblem("--all and -l are mutually exclusive")
    kinds = []
    for word in args[0].split(","):
        info = lookup(word)
        if info is None or not info.modelled:
            raise UsageProblem(f"cannot delete {word!r}: use pod, svc, namespace, netpol, deploy, rs or sts")
        kinds.append(info.kind)
    from netlab.lab import commands

    scope = None if all_namespaces else namespace
    changes, problems = commands.delete_selected(cluster, kinds, scope, parse_label_selector(selector) if selector else None, wait=wait)
    for change in changes:
        out(str(change))
    if not changes:
        note(f"No resources found{f' in {scope} namespace' if scope else ''}.")
    report(problems)
