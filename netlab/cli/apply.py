"""`netlab apply` and `netlab delete`: kubectl's verbs over the library."""

from __future__ import annotations

import json
import sys
from typing import List, Optional

import typer

from netlab.api.kinds import lookup
from netlab.api.loader import load_manifests
from netlab.apiserver.state import DEFAULT_CLUSTER, exists
from netlab.cli.common import ClusterOption, NamespaceOption, note, out, report
from netlab.errors import InvalidInput, require_root, require_tools
from netlab.lab import commands


def parse_refs(args: list[str]) -> list[tuple[str, str]]:
    """kubectl's spellings: `KIND NAME...`, `KIND,KIND NAME...` (each name of each kind) and
    `KIND/NAME...`."""
    usage = "expected KIND NAME... or KIND/NAME... with KIND one of pod, svc, namespace, deploy, rs, sts, cm, secret, …"
    if "/" in args[0]:
        pairs = [a.split("/", 1) for a in args]
    elif len(args) >= 2:
        pairs = [[kind, name] for kind in args[0].split(",") for name in args[1:]]
    else:
        raise typer.BadParameter(usage, param_hint="ARGS")
    refs = []
    for kind, name in pairs:
        info = lookup(kind)
        if info is None or not info.modelled or not name:
            raise typer.BadParameter(usage, param_hint="ARGS")
        refs.append((info.kind, name))
    return refs


def _wait_flag(value: str) -> bool:
    """kubectl's spelling: --wait, --wait=true, --wait=false."""
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise typer.BadParameter(f"expected true or false, got {value!r}")


WaitOption = typer.Option(
    "true",
    "--wait",
    metavar="true|false",
    help="Return once the lab reflects the change (default), or with --wait=false as soon as it is stored.",
)


def _namespace_given() -> bool:
    return any(a in ("-n", "--namespace") or a.startswith("--namespace=") for a in sys.argv)


def register(app: typer.Typer) -> None:
    @app.command("diff")
    def diff(
        filename: List[str] = typer.Option(..., "-f", "--filename", help="File, directory or - (stdin); repeatable."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Show what `apply -f` would change, as a unified diff; exit 0 no change, 1 changes, >1 error."""
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
        wait: str = WaitOption,
        dry_run: str = typer.Option("none", "--dry-run", metavar="none|client|server", help="client: validate only; server: full admission and allocation, nothing stored."),
        cluster: str = ClusterOption,
    ) -> None:
        """Create or update objects from Kubernetes YAML (Pods, Services, Namespaces, NetworkPolicies).

        The default cluster is created on first use. Prints kubectl's
        `pod/NAME created|configured|unchanged`; nothing is applied if any document is invalid.
        """
        require_root()
        require_tools()
        loaded = load_manifests(filename, namespace, stdin=sys.stdin, explicit_namespace=_namespace_given())
        for warning in loaded.warnings:
            note(f"Warning: {warning}")
        if any('"SCTP"' in json.dumps(o.to_dict()) for o in loaded.objects):  # accepted; can this kernel carry it?
            from netlab.kernel.features import sctp_problem

            if (problem := sctp_problem()) is not None:
                note(f"Warning: protocol SCTP: this kernel cannot carry it ({problem}): kube-proxy's rules are written, but no pod can open an SCTP socket")
        if dry_run not in ("none", "client", "server"):
            raise typer.BadParameter(f'Invalid dry-run value ({dry_run}). Must be "none", "server", or "client".')
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
        changes, problems = commands.apply(cluster, loaded.objects, loaded.sources, wait=_wait_flag(wait))
        for change in changes:
            out(str(change))
        report(problems)

    @app.command("delete")
    def delete(
        args: Optional[List[str]] = typer.Argument(None, help="KIND NAME... (pod, svc, namespace, netpol, deploy, rs, sts); KIND/NAME works too; KIND[,KIND] with -l or --all"),
        filename: Optional[List[str]] = typer.Option(None, "-f", "--filename", help="Delete the objects in these files."),
        namespace: str = NamespaceOption,
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Delete the objects of KIND whose labels match, e.g. app=web."),
        all_objects: bool = typer.Option(False, "--all", help="Delete every object of KIND in the namespace."),
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="With -l or --all: in every namespace."),
        ignore_not_found: bool = typer.Option(False, "--ignore-not-found", help="Succeed when an object is already gone."),
        wait: str = WaitOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Delete objects by file (-f) or by KIND NAME...; a pod's namespace, veth and processes go with it."""
        require_root()
        if selector is not None or all_objects:
            _delete_selected(args or [], namespace, selector, all_objects, all_namespaces, _wait_flag(wait), cluster)
            return
        refs: list[tuple[str, str, str]] = []
        if filename:
            from netlab.api.loader import load_references

            refs += load_references(filename, namespace, stdin=sys.stdin)
        if args:
            refs += [(kind, "" if kind == "Namespace" else namespace, name) for kind, name in parse_refs(args)]
        if not refs:
            raise typer.BadParameter("name objects to delete: -f FILE, KIND NAME, or KIND with -l SELECTOR or --all")
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
        raise typer.BadParameter("with -l or --all give the kinds only, e.g. `delete pods,svc -l app=web`", param_hint="ARGS")
    if selector is not None and all_objects:
        raise typer.BadParameter("--all and -l are mutually exclusive")
    kinds = []
    for word in args[0].split(","):
        info = lookup(word)
        if info is None or not info.modelled:
            raise typer.BadParameter(f"cannot delete {word!r}: use pod, svc, namespace, netpol, deploy, rs or sts", param_hint="ARGS")
        kinds.append(info.kind)
    scope = None if all_namespaces else namespace
    changes, problems = commands.delete_selected(cluster, kinds, scope, parse_label_selector(selector) if selector else None, wait=wait)
    for change in changes:
        out(str(change))
    if not changes:
        note(f"No resources found{f' in {scope} namespace' if scope else ''}.")
    report(problems)
