"""The apiserver's HTTPS endpoint, as an anonymous client sees a real one.

`python -m netlab.apiserver.serve ADDRESS PORT CERT KEY` — started by the control plane in the
lab's fabric namespace (`lab/apiendpoint.py`), bound to the lab's control-plane address only.
It answers what kube-apiserver's default RBAC lets `system:anonymous` read
(`system:public-info-viewer`): `/healthz`, `/livez`, `/readyz` with `ok`, and `/version` with
the version document; every other path gets the 403 Status a real apiserver sends an
unauthenticated caller, so `curl -k https://kubernetes.default/api` looks familiar too.
"""

from __future__ import annotations

import json
import platform
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from netlab.apiserver.endpoint import version_info

HEALTH = ("/healthz", "/livez", "/readyz")
HANDSHAKE_TIMEOUT = 10.0


def forbidden(path: str) -> dict:
    """The Status kube-apiserver answers an anonymous request it does not authorize."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f'forbidden: User "system:anonymous" cannot get path "{path}"',
        "reason": "Forbidden",
        "details": {},
        "code": 403,
    }


class Handler(BaseHTTPRequestHandler):
    server_version = "netlab-apiserver"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = self.path.split("?", 1)[0]
        if path.rstrip("/") in HEALTH or any(path.startswith(h + "/") for h in HEALTH):
            self.answer(200, "text/plain; charset=utf-8", b"ok")
        elif path == "/version":
            body = json.dumps(version_info(platform.machine()), indent=2) + "\n"
            self.answer(200, "application/json", body.encode())
        else:
            self.answer(403, "application/json", json.dumps(forbidden(path)).encode() + b"\n")

    def answer(self, code: int, content_type: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's signature)
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


class TLSServer(ThreadingHTTPServer):
    """The TLS handshake happens in the request's own thread, so a client that connects and
    says nothing holds up only itself."""

    daemon_threads = True
    context: ssl.SSLContext

    def finish_request(self, request, client_address) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        try:
            self.RequestHandlerClass(tls, client_address, self)
        finally:
            tls.close()  # the wrapper owns the connection's descriptor now


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print("usage: python -m netlab.apiserver.serve ADDRESS PORT CERT KEY", file=sys.stderr)
        return 2
    address, port, cert, key = argv
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # the apiserver's default minimum
    context.load_cert_chain(cert, key)
    server = TLSServer((address, int(port)), Handler)
    server.context = context
    print(f"serving https://{address}:{port}", file=sys.stderr, flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
