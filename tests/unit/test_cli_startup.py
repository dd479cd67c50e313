"""`netlab` imports only what the command uses: `--version` and `--help` no parser, `get pods`
no parser and no API model, and `get` or `exec` neither netlink, the reconciler nor the tracer.

Each check starts a real interpreter (the module set of this test process says nothing) and
looks at module names, never at timings: speed is measured by scripts/bench.py (`--only cli`).
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from netlab import __version__
from netlab.cli import fast, index
from netlab.cli.app import COMMANDS, app

REPO = Path(__file__).resolve().parents[2]
# What no read-only command may load: pyroute2 (netlink), the reconcile step list, the tracer.
NEVER_ON_THE_READ_PATH = ("pyroute2", "netlab.lab", "netlab.trace")


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repository, so this checkout's netlab is the one imported."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200", **env}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def imported(stderr: str) -> set[str]:
    """The modules `python -X importtime` reported importing."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and not line.rstrip().endswith("imported package")
    }


def loaded(modules: set[str], roots: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == r or m.startswith(r + ".") for r in roots))


def test_version_answers_without_importing_typer():
    result = run("-X", "importtime", "-m", "netlab", "--version")
    assert result.returncode == 0
    assert result.stdout == f"netlab {__version__}\n"
    modules = imported(result.stderr)
    assert "netlab.cli.main" in modules
    assert loaded(modules, ("typer", "rich", "pydantic", "netlab.cli.app")) == []


def test_help_lists_every_command_and_imports_none():
    result = run("-X", "importtime", "-m", "netlab", "--help")
    assert result.returncode == 0
    panel = result.stdout.split("─ Commands ─", 1)[1].split("╰", 1)[0]
    # A row starts with its command's name; the lines of a wrapped help start with spaces.
    assert [line.split()[1] for line in panel.splitlines() if line.startswith("│ ") and line[2] != " "] == list(COMMANDS)
    commands = {c.module for c in COMMANDS.values()}
    unwanted = (*commands, "typer", "rich", "pydantic", "netlab.cli.app", "netlab.api", *NEVER_ON_THE_READ_PATH)
    assert loaded(imported(result.stderr), unwanted) == []


def test_netlab_alone_prints_the_help_and_exits_2_as_click_does():
    result = run("-m", "netlab")
    assert result.returncode == 2
    assert result.stdout == run("-m", "netlab", "--help").stdout


def test_the_root_help_says_what_typer_would():
    """index.py's help (printed without typer) lists typer's root options with their help."""
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="netlab", **group.context_settings)
    options = [(max(p.opts, key=len), min((o for o in p.opts if not o.startswith("--")), default=""), p.help) for p in group.get_params(ctx)]
    assert options == list(index.ROOT_OPTIONS)
    assert group.help == index.ROOT_HELP
    text = index.root_help("netlab", 100)
    assert all(len(line) <= 100 for line in text.splitlines())
    for long, short, _ in index.ROOT_OPTIONS:
        assert any(line.startswith(f"│ {long} ") and (not short or f" {short} " in line) for line in text.splitlines())


COMPLETE = """
import sys
sys.argv = ["netlab"]
from netlab.cli.main import main
try:
    main()
finally:
    print(sorted(m for m in sys.modules if m.startswith("netlab.cli.")), file=sys.stderr)
"""


def test_completing_a_command_name_imports_no_command():
    result = run("-c", COMPLETE, _NETLAB_COMPLETE="complete_bash", COMP_WORDS="netlab g", COMP_CWORD="1")
    assert result.stdout.split() == ["get", "graph"]
    assert result.stderr.strip() == "['netlab.cli.app', 'netlab.cli.fast', 'netlab.cli.index', 'netlab.cli.main']"


RESOLVE = """
import json, sys
import typer
from netlab.cli.app import app
group = typer.main.get_command(app)
ctx = typer.Context(group)
for name in ("get", "exec"):
    group.resolve_command(ctx, [name])
parsing = sorted(sys.modules)
import netlab.kubelet.exec, netlab.views.get  # what the two commands call when they run
print(json.dumps({"parsing": parsing, "running": sorted(sys.modules)}))
"""


def test_get_and_exec_load_neither_netlink_nor_reconciler_nor_tracer():
    result = run("-c", RESOLVE)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert "netlab.cli.get" in modules["parsing"] and "netlab.cli.exec" in modules["parsing"]
    # Resolved for their --help or completion, they load no API model either.
    assert loaded(set(modules["parsing"]), ("pydantic", "netlab.api.models", *NEVER_ON_THE_READ_PATH)) == []
    # What they call when they run loads no netlink, reconciler or tracer either (and, below,
    # no API model when the fast parser runs them).
    assert loaded(set(modules["running"]), NEVER_ON_THE_READ_PATH) == []


# `get pods` and `exec` as the fast parser runs them, up to where they find no lab: every module
# the pods view and exec's recorded spec need is imported by then (they import nothing later).
FAST_RUN = """
import json, sys
from netlab.cli import fast
from netlab.errors import NetlabError
try:
    fast.run(sys.argv[1:])
except NetlabError:
    pass
import netlab.views.get, netlab.kubelet.exec
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("argv", [["get", "pods"], ["exec", "web", "--", "true"]], ids=["get pods", "exec"])
def test_get_pods_and_exec_load_no_parser_and_no_api_model(tmp_path, argv):
    result = run("-c", FAST_RUN, argv[0], "--cluster", "nosuch", *argv[1:], NETLAB_STATE_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    modules = set(json.loads(result.stdout))
    assert {f"netlab.cli.{argv[0]}", "netlab.kubelet.status", "netlab.kubelet.exec"} <= modules
    # typer and pydantic each cost more than a bare interpreter's start; uuid, hashlib, ctypes,
    # socket and subprocess are loaded by the writers and the kernel work only.
    heavy = ("typer", "click", "rich", "pydantic", "yaml", "netlab.api.models", "netlab.api.podspec", "netlab.api.cluster",
             "netlab.api.documents", "netlab.api.loader",
             "netlab.kubelet.containers", "netlab.kubelet.sync", "netlab.views.jsonpath", "uuid", "hashlib", "ctypes",
             "socket", "subprocess")
    # lab/controlplane.py is the one part of lab/ a reader loads (to start a dead control plane).
    allowed = {"netlab.lab", "netlab.lab.controlplane"}
    assert [m for m in loaded(modules, (*heavy, *NEVER_ON_THE_READ_PATH)) if m not in allowed] == []


def fast_parsed_commands() -> list[str]:
    return sorted(fast.FAST_COMMANDS)


@pytest.mark.parametrize("name", fast_parsed_commands())
def test_the_fast_parameters_are_the_typer_commands_parameters(name):
    """Each PARAMETERS (plain data) declares what its typer command declares."""
    params = __import__(fast.FAST_COMMANDS[name], fromlist=["PARAMETERS"]).PARAMETERS
    command = registered(fast.FAST_COMMANDS[name]).commands[name]
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    assert [("*" if a.nargs == -1 else "") + a.name for a in arguments] == list(params.arguments)
    assert all(a.required for a in arguments)
    options = {p.name: p for p in command.params if p.param_type_name == "option"}
    assert set(options) == {o.dest for o in params.options}
    for o in params.options:
        typer_option = options[o.dest]
        assert set(typer_option.opts) == set(o.flags), o.dest
        kind = fast.FLAG if typer_option.is_flag else fast.MULTI if typer_option.multiple else fast.VALUE
        assert kind == o.kind, o.dest
        assert (typer_option.envvar or None) == o.envvar, o.dest
        assert typer_option.required == o.required, o.dest
        if kind == fast.VALUE:
            assert typer_option.default == o.default, o.dest
    assert command.context_settings.get("allow_interspersed_args", True) == params.interspersed


SAMPLES = {
    "get": [
        ["pods"], ["pods", "-o", "wide"], ["-n", "kube-system", "pods"], ["pods,svc", "-A"], ["po/web", "svc/web", "-ojson"],
        ["pods", "-Aw"], ["pods", "--output=yaml", "-l", "app=web", "--cluster", "lab2"], ["pod", "a", "b", "-L", "x", "-L", "y"],
        ["pods", "--sort-by", ".metadata.name", "--no-headers", "--show-labels", "--field-selector", "status.phase=Running"],
        ["pods", "--", "-weird"], ["-", "pods"], ["pods", "-n"], ["pods", "--nope"], ["pods", "-x"], ["pods", "--help"],
        ["pods", "-o", "-w"], ["-w=1", "pods"], [], ["-A"],
    ],
    "apply": [
        ["-f", "web.yaml"], ["-f", "-"], ["-f", "a.yaml", "-f", "dir/", "-n", "x"], ["-fweb.yaml", "--wait=false"],
        ["--filename=a.yaml", "--dry-run", "server", "--cluster", "lab2"], ["-n", "kube-system", "-f", "a.yaml", "--wait", "true"],
        [], ["-f"], ["-f", "a.yaml", "extra"], ["-f", "a.yaml", "--help"], ["-f", "a.yaml", "--nope"], ["-f", "-n", "x"],
    ],
    "exec": [
        ["web", "--", "curl", "-s", "svc"], ["-n", "x", "web", "--", "true"], ["--cluster=c", "-it", "web", "sh"],
        ["-c", "app", "web", "--", "ls", "-l"], ["web", "-c", "app", "--", "ls"], ["--", "web", "ls"], ["-ti", "web", "--", "sh"],
        ["web"], ["-n"], ["--nope", "web", "ls"], ["web", "--help"], ["-cweb", "pod", "id"],
    ],
}


@pytest.mark.parametrize("name", fast_parsed_commands())
def test_the_fast_parser_reads_a_command_line_as_typer_does(name, monkeypatch):
    """Where the fast parser gives values they are click's; everything else it leaves to typer."""
    monkeypatch.delenv("NETLAB_CLUSTER", raising=False)
    params = __import__(fast.FAST_COMMANDS[name], fromlist=["PARAMETERS"]).PARAMETERS
    command = registered(fast.FAST_COMMANDS[name]).commands[name]
    parsed = 0
    for args in SAMPLES[name]:
        values = params.parse(args)
        if values is None:
            continue
        parsed += 1
        with command.make_context(name, list(args)) as ctx:
            expected = {k: list(v) if isinstance(v, tuple) else v for k, v in ctx.params.items()}
        assert values == expected, args
    assert parsed >= len(SAMPLES[name]) // 2
    monkeypatch.setenv("NETLAB_CLUSTER", "from-env")
    assert params.parse([*SAMPLES[name][0]])["cluster"] == "from-env"


def test_an_error_reaches_the_error_boundary(tmp_path):
    # Not root: exit 4; root: the lab does not exist (an empty state directory), exit 3.
    result = run("-m", "netlab", "get", "pods", "--cluster", "nosuch", NETLAB_STATE_DIR=str(tmp_path))
    assert (result.returncode, result.stdout) in ((3, ""), (4, ""))
    assert result.stderr.startswith("error: ")


def registered(module: str) -> TyperGroup:
    """What `module`'s register(app) adds, built as typer builds it."""
    holder = typer.Typer()
    __import__(module, fromlist=["register"]).register(holder)
    return typer.main.get_group(holder)


@pytest.mark.parametrize("module", sorted({c.module for c in COMMANDS.values()}))
def test_the_table_says_what_each_module_registers(module):
    built = registered(module)
    assert set(built.commands) == {name for name, c in COMMANDS.items() if c.module == module}
    for name, command in built.commands.items():
        assert COMMANDS[name].help == (command.help or "").split("\n\n")[0], f"copy {name}'s first paragraph to COMMANDS"
        assert COMMANDS[name].group == isinstance(command, TyperGroup)


def test_every_command_module_is_in_the_table():
    with_register = {
        f"netlab.cli.{path.stem}"
        for path in (REPO / "netlab" / "cli").glob("*.py")
        if any(isinstance(node, ast.FunctionDef) and node.name == "register" for node in ast.parse(path.read_text()).body)
    }
    assert with_register == {c.module for c in COMMANDS.values()}


def test_every_command_and_subcommand_shows_its_help():
    runner = CliRunner()
    for name, entry in COMMANDS.items():
        paths = [[name]] + ([[name, sub] for sub in registered(entry.module).commands[name].commands] if entry.group else [])
        for path in paths:
            result = runner.invoke(app, [*path, "--help"])
            assert result.exit_code == 0, (path, result.output)
            assert f"netlab {' '.join(path)} [OPTIONS]" in " ".join(result.output.split())
