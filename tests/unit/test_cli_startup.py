"""`netlab` imports only what the command uses: `--version` no parser, `--help` no command, and
`get` or `exec` neither netlink, the reconciler nor the tracer.

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
    assert loaded(imported(result.stderr), (*commands, "pydantic", "netlab.api", *NEVER_ON_THE_READ_PATH)) == []


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
    assert result.stderr.strip() == "['netlab.cli.app', 'netlab.cli.main']"


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
    # Running them loads the API models (the kind table, the pod spec), and typer's own option
    # parsing imports pydantic anyway; still no netlink, reconciler or tracer.
    assert loaded(set(modules["running"]), NEVER_ON_THE_READ_PATH) == []


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
