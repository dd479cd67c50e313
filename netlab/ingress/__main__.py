"""`python -m netlab.ingress --routes PATH --dir DIR`: the ingress-nginx controller pod's program
(what the `registry.k8s.io/ingress-nginx/controller` image runs in netlab). Exits 0 on SIGTERM
or SIGINT, after a graceful stop of its nginx."""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import threading

from netlab.errors import EXIT_ENVIRONMENT, EXIT_OK
from netlab.ingress.controller import run
from netlab.ingress.render import NginxPaths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m netlab.ingress", description=__doc__)
    parser.add_argument("--routes", required=True, help="the routes snapshot the control plane publishes (JSON)")
    parser.add_argument("--dir", required=True, help="where nginx.conf, the pid file, temp files and logs go")
    args = parser.parse_args(argv)
    if shutil.which("nginx") is None:
        print("ingress: nginx is not installed (scripts/setup.sh installs Debian's nginx)", file=sys.stderr)
        return EXIT_ENVIRONMENT
    os.makedirs(args.dir, exist_ok=True)
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    print(f"ingress: following {args.routes}, nginx under {args.dir}", file=sys.stderr, flush=True)
    run(args.routes, NginxPaths(args.dir), sys.stderr, stopping)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
