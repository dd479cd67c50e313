"""The CLI's side of the warm process (cli/resident.py), without one running: which lab's warm
process a command line asks, and that the CLI runs the command itself when none answers."""

from __future__ import annotations

import os
import secrets

import pytest

from netlab.cli import resident
from netlab.lab import warmcli


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["apply", "-f", "x.yaml", "--cluster", "lab1"], {}, "lab1"),
        (["apply", "--cluster=lab2", "-f", "x.yaml"], {}, "lab2"),
        (["delete", "pod", "a"], {"NETLAB_CLUSTER": "lab3"}, "lab3"),
        (["delete", "pod", "a"], {}, "netlab"),
        (["apply", "-f", "-", "--", "--cluster", "nope"], {}, "netlab"),  # after `--`: not an option
    ],
)
def test_the_lab_whose_warm_process_a_command_line_asks(monkeypatch, args, env, expected) -> None:
    monkeypatch.delenv("NETLAB_CLUSTER", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert resident.cluster_of(args) == expected


def test_without_a_warm_process_the_cli_runs_the_command_itself(monkeypatch) -> None:
    monkeypatch.delenv(resident.DISABLE_ENV, raising=False)
    assert resident.forward(f"no-such-lab-{secrets.token_hex(4)}") is None  # nothing listens
    monkeypatch.setenv(resident.DISABLE_ENV, "0")
    assert resident.forward("netlab") is None  # asked not to, whatever runs


def test_a_warm_process_knows_when_netlab_changed_under_it(tmp_path, monkeypatch) -> None:
    package = tmp_path / "netlab"
    (package / "cli").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "__init__.py").write_text("")
    (package / "cli" / "apply.py").write_text("")
    (package / "__pycache__" / "x.pyc").write_text("")
    monkeypatch.setattr(warmcli, "package_dir", lambda: str(package))
    before = warmcli._files()
    assert set(before) == {str(package / "__init__.py"), str(package / "cli" / "apply.py")}  # no bytecode
    assert warmcli._files() == before
    os.utime(package / "cli" / "apply.py", ns=(10**9, 10**9))  # written again (a clock tick may not show)
    assert warmcli._files() != before
