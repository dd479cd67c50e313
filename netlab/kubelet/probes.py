"""The kubelet's prober: readiness and liveness checks, run from the node like kubelet does.

httpGet and tcpSocket connect from the node's network namespace to the pod's IP (so they cross
the pod's veth, as on a real node); exec runs the command inside the pod. A probe passes after
successThreshold consecutive successes and fails after failureThreshold consecutive failures.
"""

from __future__ import annotations

import socket
import subprocess
from typing import Any

from netlab.kernel import ns, runtime


def _port(port: int | str, container) -> int | None:
    if isinstance(port, int):
        return port
    return next((p.containerPort for p in container.ports if p.name == port), None)


def _connect(node_netns: str, ip: str, port: int, timeout: float) -> socket.socket:
    # The socket belongs to the namespace it was created in: create it on the node, use it here.
    with ns.entered(node_netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect((ip, port))
    except BaseException:
        sock.close()
        raise
    return sock


def run(probe, container, pod_ip: str, node_netns: str, launch: runtime.Launch) -> tuple[bool, str]:
    """One probe attempt: (success, message)."""
    timeout = float(probe.timeoutSeconds)
    try:
        if probe.exec is not None:
            result = runtime.run_in_pod(launch, tuple(probe.exec.command), timeout)
            return result == 0, f"exec exited with {result}"
        action = probe.httpGet or probe.tcpSocket
        port = _port(action.port, container)
        if port is None:
            return False, f"port {action.port!r} is not a declared container port"
        host = action.host or pod_ip
        sock = _connect(node_netns, host, port, timeout)
        with sock:
            if probe.tcpSocket is not None:
                return True, f"tcp {host}:{port} accepted"
            request = f"GET {action.path} HTTP/1.0\r\nHost: {host}:{port}\r\nUser-Agent: kube-probe/netlab\r\n\r\n"
            sock.sendall(request.encode())
            status_line = sock.makefile("rb").readline().decode(errors="replace").split()
        code = int(status_line[1]) if len(status_line) > 1 and status_line[1].isdigit() else 0
        # kubelet: any code from 200 to 399 is a success.
        return 200 <= code < 400, f"HTTP probe {action.path} on {host}:{port} returned {code or 'no status'}"
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"probe failed: {exc}"


def initial(kind: str) -> dict[str, Any]:
    """Readiness starts failed (not ready until a probe passes), liveness starts passed."""
    return {"ok": kind == "liveness", "successes": 0, "failures": 0}


def update(state: dict[str, Any], probe, ok: bool, message: str, now: float) -> dict[str, Any]:
    """Fold one result into the probe's state: consecutive counts and the verdict."""
    state = dict(state)
    if ok:
        state["successes"] = state.get("successes", 0) + 1
        state["failures"] = 0
        if state["successes"] >= probe.successThreshold:
            state["ok"] = True
    else:
        state["failures"] = state.get("failures", 0) + 1
        state["successes"] = 0
        if state["failures"] >= probe.failureThreshold:
            state["ok"] = False
    state["last"] = now
    state["message"] = message
    return state


def due(state: dict[str, Any], probe, started: float, now: float) -> bool:
    if now - started < probe.initialDelaySeconds:
        return False
    return now - state.get("last", 0) >= probe.periodSeconds
