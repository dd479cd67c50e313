"""Every command of `netlab` by name and one-line help, and the root's `--help` drawn from it.

Plain data and plain writes, so that `netlab --help` (and `netlab` alone) answer without
importing typer, which alone costs about twice a bare interpreter's start. `app.py` builds the
parser from the same table: each name a stand-in until its command runs. A first paragraph
changed in a command's docstring must be copied here: tests/unit/test_cli_startup.py compares
the two, and the options below with the root callback's in app.py.
"""

from __future__ import annotations

import os
import sys


class Entry:
    """A command as the root knows it before importing it: the module whose register(app)
    adds it, the first paragraph of its help (what `netlab --help` lists), and whether it is a
    group of subcommands, like `netlab cluster create`."""

    __slots__ = ("module", "help", "group")

    def __init__(self, module: str, help: str, group: bool = False) -> None:
        self.module, self.help, self.group = module, help, group


# In the order `netlab --help` lists them: typer puts the commands first, then the groups.
COMMANDS: dict[str, Entry] = {
    "apply": Entry("netlab.cli.apply", "Create or update objects from Kubernetes YAML (Pods, Services, Namespaces, NetworkPolicies)."),
    "diff": Entry("netlab.cli.apply", "Show what `apply -f` would change, as a unified diff; exit 0 no change, 1 changes, >1 error."),
    "delete": Entry("netlab.cli.apply", "Delete objects by file (-f) or by KIND NAME...; a pod's namespace, veth and processes go with it."),
    "get": Entry("netlab.cli.get", "List objects like kubectl get: aligned columns, or -o wide|json|yaml|name|jsonpath|custom-columns."),
    "edit": Entry("netlab.cli.edit", "Edit an object in $KUBE_EDITOR or $EDITOR (vi) and apply what you changed, as kubectl edit."),
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
    "create": Entry("netlab.cli.imperative", "Create an object from flags, as kubectl create does: deployment, configmap, secret.", group=True),
    "node": Entry("netlab.cli.node", "Fail, recover, cordon, uncordon and drain nodes.", group=True),
    "cluster": Entry("netlab.cli.cluster", "Create, delete and list labs (clusters).", group=True),
    "controller": Entry("netlab.cli.controller", "The lab's control plane: kubelet, kube-proxy and the controllers, always running.", group=True),
    "rollout": Entry("netlab.cli.rollout", "Manage the rollout of a Deployment or StatefulSet: status, history, undo, restart.", group=True),
    "policy": Entry("netlab.cli.policy", "NetworkPolicy: probe who reaches whom, and explain why.", group=True),
}  # fmt: skip

ROOT_HELP = "A real Kubernetes-style pod network on this Linux host, from ordinary Kubernetes YAML."

# The root's options as its --help lists them: (long, short, help); the last three are typer's own.
ROOT_OPTIONS: tuple[tuple[str, str, str], ...] = (
    ("--version", "", "Print the version and exit."),
    ("--verbose", "-v", "Show stack traces on errors."),
    ("--install-completion", "", "Install completion for the current shell."),
    ("--show-completion", "", "Show completion for the current shell, to copy it or customize the installation."),
    ("--help", "-h", "Show this message and exit."),
)


def prog_name() -> str:
    """What the usage line calls the program, as click names it."""
    arg0 = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "netlab"
    return "python -m netlab" if arg0 == "__main__.py" else arg0


def width() -> int:
    """The terminal's width as rich measures it: $COLUMNS, the terminal, else 80."""
    try:
        return max(40, int(os.environ["COLUMNS"]))
    except (KeyError, ValueError):
        pass
    try:
        return max(40, os.get_terminal_size(sys.stdout.fileno()).columns) if sys.stdout.isatty() else 80
    except (OSError, ValueError):
        return 80


def root_help(prog: str, columns: int) -> str:
    """The root's --help: usage, description, then the Options and Commands panels, laid out as
    typer's rich help lays them out (without colour)."""
    lines = ["", f" Usage: {prog} [OPTIONS] COMMAND [ARGS]...", ""]
    lines += [" " + line for line in _wrap(ROOT_HELP, columns - 2)]
    lines.append("")
    options = [(long, short, text) for long, short, text in ROOT_OPTIONS]
    lines += _panel("Options", options, columns)
    lines += _panel("Commands", [(name, e.help) for name, e in COMMANDS.items()], columns)
    return "\n".join(lines) + "\n"


def _panel(title: str, rows: list[tuple[str, ...]], columns: int) -> list[str]:
    """A rounded box of aligned columns; the last column wraps to the box's inner width."""
    inner = columns - 4  # "│ " and " │"
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lead = sum(w + 2 for w in widths)
    out = ["╭─ " + title + " " + "─" * (columns - len(title) - 5) + "╮"]
    for row in rows:
        first = "".join(cell.ljust(w + 2) for cell, w in zip(row, widths))
        for i, text in enumerate(_wrap(row[-1], inner - lead)):
            out.append("│ " + ((first if i == 0 else " " * lead) + text).ljust(inner) + " │")
    out.append("╰" + "─" * (columns - 2) + "╯")
    return out


def _wrap(text: str, width: int) -> list[str]:
    """Greedy word wrap that keeps the text's own line breaks."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines
