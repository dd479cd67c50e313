"""Test inputs shared by tests/unit (checked as text) and tests/integration (loaded into a real
kernel); importable as `cases` through pytest's `pythonpath` setting in pyproject.toml."""
