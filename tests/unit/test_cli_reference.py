"""docs/reference/commands.md documents every registered command and is what the generator writes
today: a new command, option or help text without `python scripts/gen-cli-reference.py` fails."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def generator():
    spec = importlib.util.spec_from_file_location("gen_cli_reference", REPO / "scripts" / "gen-cli-reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_registered_command_has_a_section(generator):
    reference = generator.REFERENCE.read_text()
    missing = [path for path in generator.command_paths() if f"\n## {path}\n" not in reference]
    assert not missing, f"not in docs/reference/commands.md: {missing}; run python scripts/gen-cli-reference.py"


def test_the_reference_is_not_stale(generator):
    assert generator.REFERENCE.read_text() == generator.render(), (
        "docs/reference/commands.md is stale: run python scripts/gen-cli-reference.py"
    )


def test_the_walk_finds_nested_commands_and_every_option(generator):
    paths = generator.command_paths()
    assert {"netlab", "netlab doctor", "netlab cluster create", "netlab node fail"} <= set(paths)
    section = generator.render().split("\n## netlab get\n", 1)[1].split("\n## ", 1)[0]
    for flag in ("-n, --namespace", "-A, --all-namespaces", "-l, --selector", "-o, --output", "--cluster"):
        assert f"`{flag}" in section
