"""The ingress controller pod's program: keep a real nginx in step with the routes snapshot.

What ingress-nginx's controller does in its pod (internal/ingress/controller/nginx.go
OnUpdate → testTemplate → reload): when the Ingresses or their endpoints change, render the
configuration, test it with `nginx -t` against a scratch copy, and only if it passes put it
in place and signal the master to reload gracefully (SIGHUP: new workers start on the new
config, old ones finish the requests they hold, so no request is dropped). A config that
fails the test is never loaded; the running nginx keeps serving the last good one, and the
error goes to `status.json`, which the control plane turns into a Warning event on the
Ingresses.

nginx is this process's child, in the pod's namespaces (it was started by the container
process), with `-p`/`-e` and every path in the config under the pod's own directory; its
master gets SIGTERM if this program dies (PR_SET_PDEATHSIG) and it is in the container's
process group, which the kubelet signals as a whole.
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import TextIO

from netlab.ingress.render import NginxPaths, render
from netlab.ingress.routes import Routes

CHECK_INTERVAL = 0.1  # how often the snapshot's identity is looked at (a stat, no parse)
STATUS_FILE = "status.json"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str  # nginx -t's message when not ok


def nginx_argv(paths: NginxPaths, conf: str, *extra: str) -> list[str]:
    # -e: the error log nginx opens before it reads the config (else /var/log/nginx/error.log).
    return ["nginx", "-p", paths.prefix, "-e", paths.error_log, "-c", conf, *extra]


def check_config(paths: NginxPaths, text: str) -> tuple[str, Outcome]:
    """Write `text` as a candidate next to the live config and `nginx -t` it."""
    candidate = paths.conf + ".new"
    with open(candidate, "w") as f:
        f.write(text)
    done = subprocess.run(nginx_argv(paths, candidate, "-t", "-q"), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return candidate, Outcome(False, " ".join(done.stderr.split()) or f"nginx -t exited {done.returncode}")
    return candidate, Outcome(True, "")


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class Nginx:
    """One nginx master, this process's child."""

    def __init__(self, paths: NginxPaths, log: TextIO) -> None:
        self.paths = paths
        self.log = log
        self.master: subprocess.Popen | None = None
        self.reloads = 0
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            os.makedirs(os.path.join(paths.temp, sub), exist_ok=True)

    def apply(self, text: str) -> Outcome:
        """Test `text`; if good, make it the config and start or reload nginx on it."""
        candidate, outcome = check_config(self.paths, text)
        if not outcome.ok:
            os.unlink(candidate)
            return outcome
        os.replace(candidate, self.paths.conf)
        if self.master is None or self.master.poll() is not None:
            self.master = subprocess.Popen(nginx_argv(self.paths, self.paths.conf), preexec_fn=_die_with_parent)
            self._say(f"started nginx master pid {self.master.pid}")
        else:
            self.master.send_signal(signal.SIGHUP)  # graceful: old workers finish their requests
            self.reloads += 1
            self._say(f"reloaded nginx (reload {self.reloads})")
        return outcome

    def stop(self) -> None:
        if self.master is not None and self.master.poll() is None:
            self.master.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.master.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()

    def _say(self, text: str) -> None:
        print(f"ingress: {text}", file=self.log, flush=True)


def write_status(paths: NginxPaths, routes: Routes, outcome: Outcome, snapshot_mtime: float) -> None:
    status = {"ok": outcome.ok, "error": outcome.error, "ingresses": list(routes.ingresses),
              "snapshot": snapshot_mtime, "at": time.time()}
    tmp = os.path.join(paths.prefix, STATUS_FILE + ".tmp")
    with open(tmp, "w") as f:
        json.dump(status, f)
    os.replace(tmp, os.path.join(paths.prefix, STATUS_FILE))


def read_status(prefix: str) -> dict | None:
    try:
        with open(os.path.join(prefix, STATUS_FILE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def run(routes_path: str, paths: NginxPaths, log: TextIO, stopping: threading.Event) -> None:
    """Follow the snapshot until `stopping` is set; nginx runs from the first good config."""
    nginx = Nginx(paths, log)
    seen: tuple[int, int, int] | None = None
    try:
        while not stopping.is_set():
            try:
                st = os.stat(routes_path)
            except OSError:
                st = None  # not published yet: nothing to serve
            identity = (st.st_ino, st.st_size, st.st_mtime_ns) if st else None
            if identity is not None and identity != seen:
                seen = identity
                _sync(routes_path, st.st_mtime, nginx, paths, log)
            if nginx.master is not None and nginx.master.poll() is not None:
                print(f"ingress: nginx exited with {nginx.master.returncode}; starting it again", file=log, flush=True)
                nginx.master = None
                seen = None
            stopping.wait(CHECK_INTERVAL)
    finally:
        nginx.stop()


def _sync(routes_path: str, mtime: float, nginx: Nginx, paths: NginxPaths, log: TextIO) -> None:
    try:
        with open(routes_path) as f:
            routes = Routes.from_json(f.read())
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"ingress: cannot read {routes_path}, keeping the running config: {exc}", file=log, flush=True)
        return
    outcome = nginx.apply(render(routes, paths))
    if not outcome.ok:
        print(f"ingress: Error reloading NGINX, keeping the running config: {outcome.error}", file=log, flush=True)
    write_status(paths, routes, outcome, mtime)
