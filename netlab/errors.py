"""The error hierarchy; the CLI's single error boundary maps each class to an exit code."""

from __future__ import annotations

# Exit codes, documented in the README.
EXIT_OK = 0
EXIT_PARTIAL = 1  # the request was valid but part of it could not be carried out
EXIT_USAGE = 2  # wrong command-line usage (typer/click's own code)
EXIT_INVALID = 3  # invalid input: manifests, names, ranges; nothing was applied
EXIT_ENVIRONMENT = 4  # the machine cannot run the lab: not root, missing tool, range clash


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


class KernelError(NetlabError):
    """A kernel operation failed; the message says which object and why."""

    exit_code = EXIT_PARTIAL
