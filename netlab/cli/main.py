"""The `netlab` command: the commands of `app.py`, inside one error boundary.

Exit codes (`netlab.errors`, the README's table): 0 success, 1 partial failure (valid request,
not all of it carried out), 2 usage error, 3 invalid input (nothing applied), 4 environment
problem (not root, missing tool, range clash), 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from netlab import __version__
from netlab.errors import EXIT_INTERRUPTED, EXIT_PARTIAL, EXIT_USAGE, NetlabError

EXIT_SIGPIPE = 141  # 128 + SIGPIPE, what a shell reports for a tool its pipe's reader left
COMPLETE_ENV = "_NETLAB_COMPLETE"  # set by the shell's completion script: typer answers
COMMANDS_HANDED_OVER = ("apply", "delete")  # to the lab's warm process (cli/resident.py)


def main() -> None:
    args = sys.argv[1:]
    if args == ["--version"]:
        # Answered before the parser is imported: typer alone costs twice a bare interpreter's start.
        print(f"netlab {__version__}")
        return
    if args in ([], ["--help"], ["-h"]) and COMPLETE_ENV not in os.environ:
        # The root's help, from the table of commands without typer; alone, `netlab` prints it
        # and exits 2 as click's no_args_is_help does.
        from netlab.cli import index

        sys.stdout.write(index.root_help(index.prog_name(), index.width()))
        sys.stdout.flush()
        sys.exit(EXIT_USAGE if not args else 0)
    verbose = any(a in ("-v", "--verbose") for a in args)
    with error_boundary(verbose):
        if args and args[0] in COMMANDS_HANDED_OVER and COMPLETE_ENV not in os.environ:
            # Run by the lab's warm process (cli/resident.py), which has the models loaded; if
            # there is none, here.
            from netlab.cli import resident

            code = resident.forward(resident.cluster_of(args))
            if code is not None:
                # The command ran elsewhere and wrote to these same streams; this process has
                # nothing of its own to tear down, and its interpreter's finalization cost
                # 5-15 ms of every apply (timestamps in both processes).
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        from netlab.cli import fast

        if not fast.run(args):  # a plainly written `get` or `exec` runs without typer
            from netlab.cli.app import app

            app()  # typer/click handle usage errors themselves (exit code 2)


@contextmanager
def error_boundary(verbose: bool) -> Iterator[None]:
    try:
        yield
    except NetlabError as exc:
        if verbose:
            raise
        for line in exc.message.splitlines():
            sys.stderr.write(f"error: {line}\n")
        if exc.detail:
            sys.stderr.write(f"  {exc.detail}\n")
        sys.exit(exc.exit_code)
    except BrokenPipeError:
        # The reader went away (`netlab get pods | head -1`): end quietly, as a Unix tool
        # killed by SIGPIPE does, and keep the interpreter's final flush from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_SIGPIPE)
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
