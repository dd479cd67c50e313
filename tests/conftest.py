"""Session-wide test policy: root tests skip cleanly on a laptop, and fail loudly in CI.

Tests marked `root` build real labs (network namespaces, veths, iptables) and probe them with
real `curl`, `dig` and `nc`. Without root or those tools they are skipped with the reason.
CI sets NETLAB_REQUIRE_ROOT=1: there a skipped root test is a failure of the whole session,
so a misconfigured runner cannot pass by testing nothing.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_ROOT_ENV = "NETLAB_REQUIRE_ROOT"
# What netlab needs to build a lab, plus the probes the integration tests run inside pods.
ROOT_TOOLS = ("ip", "iptables-restore", "iptables-save", "curl", "dig", "nc")


def root_unavailable() -> str | None:
    """Why root tests cannot run here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root: builds real network namespaces, links and iptables rules"
    missing = [tool for tool in ROOT_TOOLS if shutil.which(tool) is None]
    if missing:
        return f"missing system tool(s): {', '.join(missing)}"
    return None


class RootGuard:
    """Skips root tests that cannot run, and remembers every root test that was skipped."""

    def __init__(self, required: bool) -> None:
        self.required = required
        self.skipped: list[tuple[str, str]] = []

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        reason = root_unavailable()
        if reason is None:
            return
        for item in items:
            if item.get_closest_marker("root"):
                item.add_marker(pytest.mark.skip(reason=f"root test: {reason}"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo):
        report = yield
        # An expected failure is reported as "skipped" with `wasxfail`; that one did run.
        if report.skipped and not hasattr(report, "wasxfail") and item.get_closest_marker("root"):
            longrepr = report.longrepr
            reason = longrepr[2].removeprefix("Skipped: ") if isinstance(longrepr, tuple) else str(longrepr)
            self.skipped.append((item.nodeid, reason))
        return report

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.required and self.skipped:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not (self.required and self.skipped):
            return
        terminalreporter.write_sep(
            "=", f"{REQUIRE_ROOT_ENV} is set but {len(self.skipped)} root test(s) were skipped", red=True
        )
        for nodeid, reason in self.skipped:
            terminalreporter.write_line(f"SKIPPED {nodeid}: {reason}")
        terminalreporter.write_line("run the suite as root with the tools installed (scripts/setup.sh)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "root: needs root and builds real labs (integration)")
    config.pluginmanager.register(RootGuard(bool(os.environ.get(REQUIRE_ROOT_ENV))), "netlab-root-guard")
