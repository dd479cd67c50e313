"""The `netlab` command: the commands of `app.py`, inside one error boundary.

Exit codes (`netlab.errors`, the README's table): 0 success, 1 partial failure (valid request,
not all of it carried out), 2 usage error, 3 invalid input (nothing applied), 4 environment
problem (not root, missing tool, range clash), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import sys

from netlab import __version__
from netlab.errors import EXIT_INTERRUPTED, EXIT_PARTIAL, NetlabError


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        # Answered before the parser is imported: typer alone costs twice a bare interpreter's start.
        print(f"netlab {__version__}")
        return
    from netlab.cli.app import app

    verbose = any(a in ("-v", "--verbose") for a in sys.argv[1:])
    try:
        app()  # typer/click handle usage errors themselves (exit code 2)
    except NetlabError as exc:
        if verbose:
            raise
        for line in exc.message.splitlines():
            sys.stderr.write(f"error: {line}\n")
        if exc.detail:
            sys.stderr.write(f"  {exc.detail}\n")
        sys.exit(exc.exit_code)
    except Exception as exc:
        # A kernel refusal the adapter did not name (a pyroute2 error from a read, say) is
        # still one line and exit 1, not a traceback; -v shows where it came from.
        if verbose or not type(exc).__module__.startswith("pyroute2"):
            raise
        sys.stderr.write(f"error: the kernel refused an operation: {exc}\n")
        sys.stderr.write("  run the command again with -v to see where; `netlab doctor` checks the kernel\n")
        sys.exit(EXIT_PARTIAL)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: run the same command again (or netlab reset) to finish or clean up\n")
        sys.exit(EXIT_INTERRUPTED)


if __name__ == "__main__":
    main()
