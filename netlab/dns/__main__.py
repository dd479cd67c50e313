"""`python -m netlab.dns --records PATH [--port 53] [--bind ::]`: the cluster DNS pod's
program (what the `coredns` container runs in netlab). Exits 0 on SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from netlab.dns.server import DnsServer, SnapshotWatcher, stdout_log
from netlab.errors import EXIT_ENVIRONMENT, EXIT_OK
from netlab.images.serving import bind_address


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab.dns", description=__doc__)
    parser.add_argument("--records", type=Path, required=True, help="the DNS snapshot (JSON)")
    parser.add_argument("--port", type=int, default=53)
    # Every address of the pod, both families where the kernel has IPv6 (as CoreDNS binds).
    parser.add_argument("--bind", default=None)
    args = parser.parse_args(argv)
    args.bind = args.bind or bind_address()

    watcher = SnapshotWatcher(args.records, log=sys.stderr)
    watcher.start()
    try:
        server = DnsServer(args.bind, args.port, watcher, log=stdout_log(), errors=sys.stderr)
    except OSError as exc:
        print(f"dns: cannot listen on {args.bind}:{args.port}: {exc}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    if watcher.zone() is None:
        print(f"dns: no snapshot at {args.records} yet; answering SERVFAIL until it appears",
              file=sys.stderr, flush=True)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: server.stop())
    print(f"dns: listening on {args.bind}:{args.port} (udp, tcp)", file=sys.stderr, flush=True)
    server.serve_forever()
    watcher.stop()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
