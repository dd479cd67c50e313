"""`netlab port-forward`: kubectl's port-forward, listening on the host's 127.0.0.1 only."""

from __future__ import annotations

import sys
from typing import List

import typer

from netlab.cli.common import ClusterOption, NamespaceOption, note, out
from netlab.errors import InvalidInput, NetlabError, require_root


def parse_ports(specs: list[str]) -> list[tuple[int, str]]:
    """`8080:80`, `80` (same port), `:80` (any free local port); the remote may be a port name."""
    pairs = []
    for spec in specs:
        local, sep, remote = spec.rpartition(":") if ":" in spec else (spec, "", spec)
        if not sep:
            local = remote = spec
        if local == "":
            local = "0"
        if not local.isdigit() or not 0 <= int(local) <= 65535:
            raise InvalidInput(f"Invalid port format '{spec}': local port must be 0-65535")
        if not remote or (remote.isdigit() and not 1 <= int(remote) <= 65535):
            raise InvalidInput(f"Invalid port format '{spec}': remote port must be 1-65535 or a port name")
        pairs.append((int(local), remote))
    return pairs


def register(app: typer.Typer) -> None:
    @app.command("port-forward")
    def port_forward(
        target: str = typer.Argument(..., help="POD, pod/NAME, svc/NAME, deploy/NAME, rs/NAME or sts/NAME."),
        ports: List[str] = typer.Argument(..., help="[LOCAL:]REMOTE..., e.g. 8080:80 (LOCAL 0 or empty: any free port)."),
        address: List[str] = typer.Option(["127.0.0.1"], "--address", help="Only localhost / 127.0.0.1: lab traffic never leaves this host."),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Forward local TCP ports on 127.0.0.1 into a pod's network namespace (Ctrl-C to stop)."""
        import threading

        from netlab.cli.common import open_alive
        from netlab.kernel import ns, portforward
        from netlab.views.portforward import choose_pod

        require_root()
        for a in address:
            if a not in ("localhost", "127.0.0.1"):
                raise InvalidInput(f"--address {a}: netlab listens on 127.0.0.1 only (lab traffic stays on this host)")
        pairs = parse_ports(ports)
        lab = open_alive(cluster)
        pod, netns, resolved = choose_pod(lab, target, namespace, [r for _, r in pairs])
        servers = []
        try:
            for (local, _), remote in zip(pairs, resolved):
                try:
                    server = portforward.listen(local)
                except OSError as exc:
                    raise NetlabError(f"unable to listen on port {local}: {exc.strerror}") from None
                servers.append((server, remote))
                out(f"Forwarding from 127.0.0.1:{server.getsockname()[1]} -> {remote}")
            path = ns.netns_path(netns)
            for server, remote in servers:
                local_port = server.getsockname()[1]
                threading.Thread(
                    target=portforward.serve,
                    args=(server, path, remote, lambda p=local_port: out(f"Handling connection for {p}"), lambda m: note(f"E {m}")),
                    daemon=True,
                ).start()
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.stdout.flush()
        finally:
            for server, _ in servers:
                server.close()
