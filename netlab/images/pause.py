"""`agnhost pause`: block until told to stop, with agnhost's own messages and exit codes.

Upstream (test/images/agnhost/pause/pause.go) prints "Paused", then exits 1 on SIGINT and 2 on
SIGTERM after printing "exiting <code>". The `pause` *image* does not come here: the catalog
maps it to coreutils `sleep infinity`, which costs a fifth of a Python process's memory, and
labs run one per pod.
"""

from __future__ import annotations

import signal
import sys

from netlab.images import serving

EXIT_CODES = {signal.SIGINT: 1, signal.SIGTERM: 2}


def main(argv: list[str]) -> int:
    if argv:
        sys.stderr.write(f"Error: accepts at most 0 arg(s), received {len(argv)}\n")
        return 1

    def stop(signum: int, _frame) -> None:
        print(f"exiting {EXIT_CODES[signum]}", flush=True)
        serving.exit_now(EXIT_CODES[signum])

    for signum in EXIT_CODES:
        signal.signal(signum, stop)
    print("Paused", flush=True)
    serving.wait_forever()
    return 0
