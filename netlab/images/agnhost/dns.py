"""`agnhost dns-suffix`, `dns-server-list`, `etc-hosts`: print what the pod's resolver sees.

As test/images/agnhost/dns/: the first `search` line's domains, or the first `nameserver`
line's servers, comma-separated; a file without such a line makes upstream panic (exit 2).
The files are the pod's own: the kubelet part bind-mounts them into the container.
"""

from __future__ import annotations

import sys

RESOLV_CONF = "/etc/resolv.conf"
HOSTS = "/etc/hosts"


def first_line_values(text: str, keyword: str) -> list[str] | None:
    for line in text.split("\n"):
        if line.startswith(keyword):
            return line.split(" ")[1:]  # as upstream: split on single spaces
    return None


def print_values(keyword: str) -> int:
    with open(RESOLV_CONF, encoding="utf-8") as conf:
        values = first_line_values(conf.read(), keyword)
    if values is None:
        sys.stderr.write("panic: Could not find DNS search list!\n")  # upstream's text
        return 2
    print(",".join(values))
    return 0


def no_arguments(argv: list[str]) -> bool:
    if argv:
        sys.stderr.write(f"Error: accepts at most 0 arg(s), received {len(argv)}\n")
    return not argv


def dns_suffix(argv: list[str]) -> int:
    return print_values("search") if no_arguments(argv) else 1


def dns_server_list(argv: list[str]) -> int:
    return print_values("nameserver") if no_arguments(argv) else 1


def etc_hosts(argv: list[str]) -> int:
    if not no_arguments(argv):
        return 1
    with open(HOSTS, encoding="utf-8") as hosts:
        print(hosts.read())
    return 0
