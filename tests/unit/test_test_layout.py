"""The suite's own layout: pytest imports test modules by basename (there is no package), so a
unit and an integration test of the same file name break collection of the whole run."""

from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_no_test_module_name_is_used_twice():
    unit = {p.name for p in (TESTS / "unit").glob("test_*.py")}
    integration = {p.name for p in (TESTS / "integration").glob("test_*.py")}
    assert not unit & integration, f"rename one of each: {sorted(unit & integration)}"
