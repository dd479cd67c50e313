"""The error hierarchy; the CLI's single error boundary maps each class to an exit code."""

from __future__ import annotations

import os

# Exit codes, documented in the README's table (one table; tests/integration/test_exit_codes.py).
EXIT_OK = 0
EXIT_PARTIAL = 1  # the request was valid but part of it could not be carried out (kernel work failed)
EXIT_USAGE = 2  # wrong command-line usage (typer/click's own code)
EXIT_INVALID = 3  # invalid input: manifests, names, unknown objects; nothing was applied
EXIT_ENVIRONMENT = 4  # the machine cannot run the lab: not root, missing tool, range clash
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, as shells report it)


class NetlabError(Exception):
    """Base class: a message meant for the user, plus an exit code."""

    exit_code = EXIT_PARTIAL

    def __init__(self, message: str, *, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # e.g. the captured output of a failing subprocess


class InvalidInput(NetlabError):
    """One or more problems with what the user gave; carries every problem found."""

    exit_code = EXIT_INVALID

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("\n".join(self.problems))


class NotFound(NetlabError):
    exit_code = EXIT_INVALID


class EnvironmentProblem(NetlabError):
    exit_code = EXIT_ENVIRONMENT


class RangeClash(EnvironmentProblem):
    """A lab's ranges overlap another lab's, a host route or a host address."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class KernelError(NetlabError):
    """A kernel operation failed; the message says which object and why."""

    exit_code = EXIT_PARTIAL


def require_root() -> None:
    """The first check of every command that reads or changes a lab (exit code 4 when it fails)."""
    if os.geteuid() != 0:
        raise EnvironmentProblem(
            "netlab must run as root: it creates network namespaces, links and iptables rules",
            detail="run it with sudo",
        )


def require_tools() -> None:
    """What building a lab needs on the host: iptables and bridge netfilter (exit code 4)."""
    import shutil

    missing = [t for t in ("iptables-restore", "iptables-save") if shutil.which(t) is None]
    if missing:
        raise EnvironmentProblem(
            f"missing system tool(s): {', '.join(missing)}",
            detail="install them with scripts/setup.sh (apt-get install iptables)",
        )
    if not os.path.exists("/proc/sys/net/bridge"):
        raise EnvironmentProblem(
            "the br_netfilter kernel module is not loaded (Services need bridged traffic to pass iptables)",
            detail="load it on the host: modprobe br_netfilter",
        )
