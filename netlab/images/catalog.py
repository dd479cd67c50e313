"""Image -> program: what a container runs, given that netlab cannot pull images.

Pure: `resolve` looks only at the container spec. The kubelet part execs `Program.argv` in the
pod's namespaces (and checks that a host binary exists; this module does not).

Kubernetes semantics are kept where they mean something without the image: `command`
replaces the image's ENTRYPOINT and `args` replace its CMD (see "Define a Command and
Arguments for a Container"), so `args: [netexec]` on agnhost runs `/agnhost netexec`, and
`args: [sleep, "3600"]` on busybox (which has no ENTRYPOINT) runs `sleep 3600`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from netlab.errors import EXIT_INVALID, NetlabError
from netlab.images.agnhost import SUBCOMMANDS, subcommand_of


@dataclass(frozen=True)
class Program:
    argv: tuple[str, ...]  # what to exec
    builtin: bool  # True when netlab provides the program (not the container's own command)
    description: str  # for `describe`: "agnhost netexec (built-in)", "host command: sleep"


class ImageError(NetlabError):
    """An image netlab cannot run as given; the message says what to change."""

    exit_code = EXIT_INVALID


# --- the image table; docs/images.md documents it row by row --------------------------------
# A key with a "/" must equal the image's repository path; a key without one matches the
# last path component, so `nginx`, `docker.io/library/nginx` and `bitnami/nginx` can differ.

AGNHOST_IMAGES = ("agnhost",)
# The real /agnhost binary and the agnhost-2 symlink that entrypoint tests use.
AGNHOST_ENTRYPOINTS = ("/agnhost", "agnhost", "/agnhost-2", "agnhost-2")
AGNHOST_DEFAULT = ("/agnhost", "pause")  # Dockerfile: ENTRYPOINT ["/agnhost"], CMD ["pause"]

# The old standalone image (k8s.gcr.io/serve_hostname) whose program became agnhost's.
SERVE_HOSTNAME_IMAGES = ("serve_hostname", "serve-hostname")
SERVE_HOSTNAME_ENTRYPOINTS = ("/serve_hostname", "serve_hostname", "/serve-hostname",
                              "serve-hostname")

PAUSE_IMAGES = ("pause",)
# Coreutils sleep instead of a Python process: a fifth of the memory, and labs run one per
# pod. SIGTERM ends it (the kernel's default action), which is all the pause image does.
PAUSE_ARGV = ("sleep", "infinity")

# Web servers and the port their image listens on by default.
WEB_IMAGES: tuple[tuple[str, int], ...] = (
    ("bitnami/nginx", 8080),
    ("nginx", 80),
    ("nginx-unprivileged", 8080),
    ("httpd", 80),
    ("caddy", 80),
    ("whoami", 80),  # traefik/whoami, containous/whoami
    ("http-echo", 5678),  # hashicorp/http-echo
    ("httpbin", 80),  # kennethreitz/httpbin
    ("go-httpbin", 8080),  # mccutchen/go-httpbin
    ("hello-app", 8080),  # gcr.io/google-samples/hello-app
    ("echoserver", 8080),  # registry.k8s.io/echoserver
    ("echo-server", 80),  # ealen/echo-server
    ("podinfo", 9898),  # stefanprodan/podinfo
    ("kuard-amd64", 8080),  # gcr.io/kuar-demo/kuard-amd64
    ("nginxdemos/hello", 80),
)

# Toolboxes whose default CMD serves HTTP but which are mostly run with a command.
TOOLBOX_WEB_IMAGES: tuple[tuple[str, int], ...] = (
    ("network-multitool", 80),  # praqma/ and wbitt/network-multitool run nginx by default
)

# Client images: (image, ENTRYPOINT, CMD) as their Dockerfiles say; run with host binaries.
CLIENT_IMAGES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("busybox", (), ("sh",)),
    ("busyboxplus", (), ("/bin/sh",)),
    ("alpine", (), ("/bin/sh",)),
    ("ubuntu", (), ("/bin/bash",)),
    ("debian", (), ("bash",)),
    ("fedora", (), ("/bin/bash",)),
    ("bash", (), ("bash",)),
    ("netshoot", (), ("sh",)),  # nicolaka/netshoot's CMD is zsh, seldom on a host
    ("jessie-dnsutils", (), ("sh",)),  # registry.k8s.io/e2e-test-images/jessie-dnsutils
    ("dnsutils", (), ("sh",)),  # tutum/dnsutils, the e2e dnsutils image
    ("dnstools", (), ("sh",)),  # infoblox/dnstools
)
# curlimages/curl's entrypoint.sh puts `curl` in front of arguments that are not a command.
CURL_IMAGES = ("curl",)


def image_path(image: str) -> str:
    """The repository path of an image reference: no registry, tag, digest or `library/`.

    registry.k8s.io/e2e-test-images/agnhost:2.47 -> e2e-test-images/agnhost,
    docker.io/library/nginx:1.25 -> nginx, nginx@sha256:... -> nginx.
    """
    reference = image.strip().partition("@")[0]
    components = reference.split("/")
    first = components[0]
    if len(components) > 1 and ("." in first or ":" in first or first == "localhost"):
        components = components[1:]  # a registry host, as Docker tells one apart
    components[-1] = components[-1].partition(":")[0]
    path = "/".join(components).lower()
    return path.removeprefix("library/")


def _matches(key: str, path: str) -> bool:
    return key == path if "/" in key else key == path.rsplit("/", 1)[-1]


def _lookup(table, path: str):
    return next((row for row in table if _matches(row[0], path)), None)


def resolve(image: str, command: Sequence[str] | None, args: Sequence[str] | None,
            ports: Sequence[tuple[int, str]], python: str) -> Program:
    """The program to run for a container; ImageError if netlab has nothing to run."""
    path = image_path(image)
    if not path:
        raise ImageError("container has no image")
    command, args = tuple(command or ()), tuple(args or ())
    builtin_prefix = (python, "-m", "netlab.images")

    if any(_matches(key, path) for key in AGNHOST_IMAGES):
        return _agnhost(image, _kubernetes_argv(AGNHOST_DEFAULT[:1], AGNHOST_DEFAULT[1:],
                                                command, args), builtin_prefix)
    if any(_matches(key, path) for key in SERVE_HOSTNAME_IMAGES):
        argv = _kubernetes_argv(("/serve_hostname",), (), command, args)
        if argv[0] not in SERVE_HOSTNAME_ENTRYPOINTS:
            return _host_command(argv)
        return Program(builtin_prefix + ("agnhost", "serve-hostname") + argv[1:], True,
                       "agnhost serve-hostname (built-in)")
    if any(_matches(key, path) for key in PAUSE_IMAGES):
        if command:
            return _host_command(command + args)
        return Program(PAUSE_ARGV, True, "pause (built-in: sleep infinity)")

    web = _lookup(WEB_IMAGES, path)
    if web is not None:
        return _web(web, command, args, ports, builtin_prefix)
    toolbox = _lookup(TOOLBOX_WEB_IMAGES, path)
    if toolbox is not None:
        if command or args:  # its entrypoint.sh ends in `exec "$@"`
            return _host_command(command + args)
        return _web_program(_merge_ports([(toolbox[1], "TCP")], ports), builtin_prefix, "")
    client = _lookup(CLIENT_IMAGES, path)
    if client is not None:
        return _host_command(_kubernetes_argv(client[1], client[2], command, args))
    if any(_matches(key, path) for key in CURL_IMAGES):
        return _host_command(command + args if command else _curl_argv(args))

    # An image netlab does not know: its command if it has one, else a web server on the
    # ports it declares (a container with ports is a server), else its args as a command
    # (the image's ENTRYPOINT is unknown; many have none).
    if command:
        return _host_command(command + args)
    if ports:
        return _web_program(_merge_ports([], ports), builtin_prefix, "")
    if args:
        return _host_command(args)
    raise ImageError(f"image {image}: netlab cannot pull images; give the container a command, "
                     "or declare containerPorts to get the built-in web server")


def _kubernetes_argv(entrypoint: tuple[str, ...], cmd: tuple[str, ...],
                     command: tuple[str, ...], args: tuple[str, ...]) -> tuple[str, ...]:
    """command replaces ENTRYPOINT (and drops CMD); args replace CMD."""
    if command:
        return command + args
    return entrypoint + (args or cmd)


def _host_command(argv: tuple[str, ...]) -> Program:
    return Program(argv, False, f"host command: {argv[0]}")


def _agnhost(image: str, argv: tuple[str, ...], builtin_prefix: tuple[str, ...]) -> Program:
    if argv[0] not in AGNHOST_ENTRYPOINTS:
        return _host_command(argv)  # e.g. command: ["/bin/sh", "-c", ...]
    subcommand = subcommand_of(argv[1:])
    supported = [name for name, _ in SUBCOMMANDS]
    if subcommand is not None and subcommand not in supported + ["help"]:
        raise ImageError(f"image {image}: agnhost subcommand {subcommand!r} is not built into "
                         f"netlab; supported: {', '.join(supported)}")
    what = subcommand if subcommand is not None else "help"
    return Program(builtin_prefix + ("agnhost",) + argv[1:], True, f"agnhost {what} (built-in)")


def _web(row: tuple[str, int], command: tuple[str, ...], args: tuple[str, ...],
         ports: Sequence[tuple[int, str]], builtin_prefix: tuple[str, ...]) -> Program:
    # The image's own server binary is not on the host, so its command cannot run; the
    # built-in answers on the port the real server would use and on every declared port.
    name, default_port = row
    extra: list[tuple[int, str]] = [(default_port, "TCP")]
    text = ""
    if name == "http-echo":
        listen, text = _http_echo_flags(args)
        if listen is not None:
            extra = [(listen, "TCP")]
    note = " (the image's command is not run)" if command else ""
    return _web_program(_merge_ports(extra, ports), builtin_prefix, note, text)


def _http_echo_flags(args: tuple[str, ...]) -> tuple[int | None, str]:
    """hashicorp/http-echo's `-listen=:PORT` and `-text=TEXT` (Go flag syntax)."""
    values: dict[str, str] = {}
    words = list(args)
    while words:
        word = words.pop(0)
        name, sep, value = word.lstrip("-").partition("=")
        if word.startswith("-") and name in ("listen", "text"):
            values[name] = value if sep else (words.pop(0) if words else "")
    match = re.search(r":(\d+)$", values.get("listen", ""))
    listen = int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else None
    return listen, values.get("text", "")


def _curl_argv(args: tuple[str, ...]) -> tuple[str, ...]:
    """curlimages/curl: CMD ["curl"]; its entrypoint prefixes `curl` unless $1 is a command.

    Whether $1 is a command is decided by its look (an option, a URL or a host name is not),
    since this module does not look at the host's binaries.
    """
    if not args:
        return ("curl",)
    first = args[0]
    looks_like_command = not first.startswith("-") and (
        first.startswith("/") or re.fullmatch(r"[A-Za-z0-9_+-]+", first) is not None)
    return args if looks_like_command else ("curl",) + args


def _merge_ports(first: list[tuple[int, str]],
                 declared: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
    # An empty protocol is Kubernetes' default, TCP.
    merged = [(int(port), (protocol or "TCP").upper()) for port, protocol in [*first, *declared]]
    return list(dict.fromkeys(merged))


def _web_program(ports: list[tuple[int, str]], builtin_prefix: tuple[str, ...], note: str,
                 text: str = "") -> Program:
    served = [(port, protocol) for port, protocol in ports if protocol in ("TCP", "UDP")]
    skipped = [f"{port}/{protocol}" for port, protocol in ports if (port, protocol) not in served]
    if not served:
        raise ImageError(f"no TCP or UDP port to serve ({', '.join(skipped)}): the built-in "
                         "web server speaks HTTP on TCP and echoes on UDP")
    argv = builtin_prefix + ("web",)
    for port, protocol in served:
        argv += ("--port", f"{port}/{protocol}")
    if text:
        argv += ("--text", text)
    listed = ", ".join(f"{port}/{protocol}" for port, protocol in served)
    if skipped:
        note += f" (not served: {', '.join(skipped)})"
    return Program(argv, True, f"built-in web server on {listed}{note}")
