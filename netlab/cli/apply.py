"""`netlab apply` and `netlab delete`: kubectl's verbs over the library."""

from __future__ import annotations

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
    """kubectl's two spellings: `KIND NAME...` and `KIND/NAME...`."""
    usage = "expected KIND NAME... or KIND/NAME... with KIND one of pod, svc, namespace, deploy, rs, sts"
    if "/" in args[0]:
        pairs = [a.split("/", 1) for a in args]
    elif len(args) >= 2:
        pairs = [[args[0], name] for name in args[1:]]
    else:
        raise typer.BadParameter(usage, param_hint="ARGS")
    refs = []
    for kind, name in pairs:
        info = lookup(kind)
        if info is None or info.model is None or not name:
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
    @app.command("apply")
    def apply(
        filename: List[str] = typer.Option(..., "-f", "--filename", help="File, directory or - (stdin); repeatable."),
        namespace: str = NamespaceOption,
        wait: str = WaitOption,
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
        if not exists(cluster) and cluster == DEFAULT_CLUSTER:
            from netlab.api.cluster import default_cluster
            from netlab.apiserver.admission import admit_into_new_lab
            from netlab.lab.lifecycle import ensure_default  # builds a lab: the heavy imports, once

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
        args: Optional[List[str]] = typer.Argument(None, help="KIND NAME... (pod, svc, namespace, netpol, deploy, rs, sts); KIND/NAME works too"),
        filename: Optional[List[str]] = typer.Option(None, "-f", "--filename", help="Delete the objects in these files."),
        namespace: str = NamespaceOption,
        ignore_not_found: bool = typer.Option(False, "--ignore-not-found", help="Succeed when an object is already gone."),
        wait: str = WaitOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Delete objects by file (-f) or by KIND NAME...; a pod's namespace, veth and processes go with it."""
        require_root()
        refs: list[tuple[str, str, str]] = []
        if filename:
            loaded = load_manifests(filename, namespace, stdin=sys.stdin, explicit_namespace=_namespace_given())
            refs += [(o.kind, o.metadata.namespace or "" if o.kind != "Namespace" else "", o.metadata.name) for o in loaded.objects]
        if args:
            refs += [(kind, "" if kind == "Namespace" else namespace, name) for kind, name in parse_refs(args)]
        if not refs:
            raise typer.BadParameter("name objects to delete: -f FILE or KIND NAME")
        changes, problems = commands.delete(cluster, refs, ignore_not_found=ignore_not_found, wait=_wait_flag(wait))
        for change in changes:
            out(str(change))
        report(problems)
