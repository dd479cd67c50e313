"""The root of `netlab`: every command by name and one-line help, its module imported when used.

`netlab --help` and completing a command name read the table below and import no command
module; running a command, showing its own `--help` or completing its arguments imports that
one module (which imports the part of the library it calls). A first paragraph changed in a
command's docstring must be copied here: tests/unit/test_cli_startup.py compares the two.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, NamedTuple

import typer
from typer.core import TyperCommand, TyperGroup

from netlab import __version__


class Entry(NamedTuple):
    """A command as the root knows it before importing it."""

    module: str  # the module whose register(app) adds the command
    help: str  # the first paragraph of its help: what `netlab --help` lists
    group: bool = False  # a group of subcommands, like `netlab cluster create`


# In the order `netlab --help` lists them: typer puts the commands first, then the groups.
COMMANDS: Mapping[str, Entry] = {
    "apply": Entry("netlab.cli.apply", "Create or update objects from Kubernetes YAML (Pods, Services, Namespaces, NetworkPolicies)."),
    "diff": Entry("netlab.cli.apply", "Show what `apply -f` would change, as a unified diff; exit 0 no change, 1 changes, >1 error."),
    "delete": Entry("netlab.cli.apply", "Delete objects by file (-f) or by KIND NAME...; a pod's namespace, veth and processes go with it."),
    "get": Entry("netlab.cli.get", "List objects like kubectl get: aligned columns, or -o wide|json|yaml|name|jsonpath|custom-columns."),
    "describe": Entry("netlab.cli.describe", "Show one pod, Service, NetworkPolicy or node in detail: IPs, veth pairs, routes, containers, chains, selected pods, events."),
    "exec": Entry("netlab.cli.exec", "Run a command inside a pod: its network namespace, hostname, resolv.conf and /etc/hosts."),
    "wait": Entry("netlab.cli.wait", "Wait until objects meet a condition (Ready, Available, a JSONPath value) or are deleted."),
    "logs": Entry("netlab.cli.exec", "Print a container's output (stdout and stderr)."),
    "label": Entry("netlab.cli.meta", "Add, change (--overwrite) or remove (KEY-) labels; a pod's labels decide which Services select it."),
    "annotate": Entry("netlab.cli.meta", "Add, change (--overwrite) or remove (KEY-) annotations."),
    "api-resources": Entry("netlab.cli.meta", "The kinds netlab knows: name, short names, API version, namespaced, kind (kubectl's table)."),
    "expose": Entry("netlab.cli.imperative", "Create a Service for a Deployment, pod, ReplicaSet, StatefulSet or Service, as kubectl expose."),
    "run": Entry("netlab.cli.imperative", "Create a pod running one container, as kubectl run; with -it, run its command interactively."),
    "port-forward": Entry("netlab.cli.portforward", "Forward local TCP ports on 127.0.0.1 into a pod's network namespace (Ctrl-C to stop)."),
    "scale": Entry("netlab.cli.node", "Set the number of replicas of a Deployment, ReplicaSet or StatefulSet."),
    "reset": Entry("netlab.cli.cluster", "Remove every object netlab owns on this machine (all labs), even without its state. Idempotent."),
    "events": Entry("netlab.cli.events", "What the lab did, oldest first: pods scheduled, sandboxes created, rules synced, restarts, node failures."),
    "trace": Entry("netlab.cli.trace", "Show the path of a connection hop by hop — DNS, routes, veths, bridges, iptables chains,\nthe node route, the listening process — from the live kernel state, or where it stops and why."),
    "capture": Entry("netlab.cli.capture", "Run tcpdump inside a pod's or node's network namespace (Ctrl-C to stop)."),
    "graph": Entry("netlab.cli.graph", "Draw the lab: fabric, nodes (/24, underlay IP), bridges, veth pairs, pods (IP, labels), Services and their endpoints."),
    "doctor": Entry("netlab.cli.doctor", "Check this machine for a lab: root, kernel features, tools, address clashes, resolver, leftovers."),
    "create": Entry("netlab.cli.imperative", "Create an object from flags, as kubectl create does: deployment.", group=True),
    "node": Entry("netlab.cli.node", "Fail, recover, cordon, uncordon and drain nodes.", group=True),
    "cluster": Entry("netlab.cli.cluster", "Create, delete and list labs (clusters).", group=True),
    "controller": Entry("netlab.cli.controller", "The lab's control plane: kubelet, kube-proxy and the controllers, always running.", group=True),
    "rollout": Entry("netlab.cli.rollout", "Manage the rollout of a Deployment or StatefulSet: status, history, undo, restart.", group=True),
    "policy": Entry("netlab.cli.policy", "NetworkPolicy: probe who reaches whom, and explain why.", group=True),
}  # fmt: skip


class LazyGroup(TyperGroup):
    """The root group: each name starts as a stand-in (name and help); get_command() swaps in the
    real command, importing its module, except while the group lists its commands."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = {name: _stand_in(name, entry) for name, entry in COMMANDS.items()}
        self._unloaded = set(COMMANDS)
        self._listing = False

    def get_command(self, ctx: typer.Context, cmd_name: str) -> Any:
        if cmd_name in self._unloaded and not self._listing:
            self._load(COMMANDS[cmd_name].module)
        return self.commands.get(cmd_name)

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:
        with self._stand_ins():  # typer asks get_command() for each name it lists
            super().format_help(ctx, formatter)

    def shell_complete(self, ctx: typer.Context, incomplete: str) -> Any:
        with self._stand_ins():  # completing a command name needs the names and their help
            return super().shell_complete(ctx, incomplete)

    @contextmanager
    def _stand_ins(self) -> Iterator[None]:
        self._listing = True
        try:
            yield
        finally:
            self._listing = False

    def _load(self, module: str) -> None:
        """Every command `module` registers, built by typer as if registered on the root."""
        holder = typer.Typer(rich_markup_mode=self.rich_markup_mode)
        importlib.import_module(module).register(holder)
        for name, command in typer.main.get_group(holder).commands.items():
            self.commands[name] = command
            self._unloaded.discard(name)


def _stand_in(name: str, entry: Entry) -> TyperCommand | TyperGroup:
    return (TyperGroup if entry.group else TyperCommand)(name=name, help=entry.help)


app = typer.Typer(
    name="netlab",
    cls=LazyGroup,
    help="A real Kubernetes-style pod network on this Linux host, from ordinary Kubernetes YAML.",
    no_args_is_help=True,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"netlab {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Show stack traces on errors."),
) -> None:
    """Build pods, Services and cluster DNS from Kubernetes YAML with real namespaces, veths and iptables."""
    # -v is read by main() (netlab/cli/main.py), which owns the error boundary.
