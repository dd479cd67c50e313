"""The host, as the whole integration suite must leave it: netlab's promises, checked once per run.

- Host sysctls, iptables/nftables rulesets, routes, links and addresses are the same after the
  suite as before it — netlab's own objects aside (links carrying its alias, routes of its
  protocol, and what sits on its links), which each test's teardown checks already.
- No packet of a lab range crosses a host interface other than a lab's own veth: a capture
  runs on every host interface for the whole suite. A packet on an interface that still
  exists at the end and carries no netlab mark (eth0, docker0, …) is a leak; `lo` cannot take
  a packet off the machine (the host's ICMP errors to its own lab address travel there).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass

from netlab import naming
from netlab.naming import RTPROT_NETLAB



def lab_nets() -> list[str]:
    """Every range a test lab (conftest.Ranges) or the default lab may use — and nothing else:
    the host's own resolver may well live in 10/8 (10.255.255.53 on some machines)."""
    from conftest import RANGE_CHOICES, Ranges

    from netlab.api.cluster import default_cluster

    nets = [n for k in range(RANGE_CHOICES) for n in Ranges.pick(k).all(dual=True)]
    default = default_cluster("netlab", ip_family="dual")
    nets += [*default.podCIDR, *default.serviceCIDR, *default.underlayCIDR]
    collapsed = []
    for family in (4, 6):  # collapse_addresses wants one family at a time
        collapsed += ipaddress.collapse_addresses(ipaddress.ip_network(str(n)) for n in nets if n.version == family)
    return [str(n) for n in collapsed]

# Sysctls that move by themselves (counters, tables the kernel sizes or fills as it goes).
VOLATILE_SYSCTL = re.compile(r"nf_conntrack_count|/neigh/.*/(base_reachable_time|gc_)|route/gc_|stable_secret")


def _run(*argv: str) -> str:
    if shutil.which(argv[0]) is None:
        return ""
    return subprocess.run(argv, capture_output=True, text=True).stdout


def _sysctls() -> dict[str, str]:
    values = {}
    for root, _, files in os.walk("/proc/sys/net"):
        for name in files:
            path = os.path.join(root, name)
            if VOLATILE_SYSCTL.search(path):
                continue
            try:
                with open(path) as f:
                    values[path] = f.read()
            except OSError:  # write-only, or a device that went away meanwhile
                continue
    return values


def _host_links() -> list[dict]:
    return json.loads(_run("ip", "-j", "-d", "link", "show") or "[]")


def _netlab_links(links: list[dict]) -> set[str]:
    return {link["ifname"] for link in links if (link.get("ifalias") or "").startswith(naming.MARKER + ":")}


def _links(links: list[dict], ours: set[str]) -> dict[str, tuple]:
    return {
        link["ifname"]: ((link.get("linkinfo") or {}).get("info_kind", ""), link.get("mtu"), link.get("master"), link.get("operstate"))
        for link in links
        if link["ifname"] not in ours
    }


def _addresses(ours: set[str]) -> set[tuple]:
    return {
        (link["ifname"], a["local"], a["prefixlen"])
        for link in json.loads(_run("ip", "-j", "addr", "show") or "[]")
        if link["ifname"] not in ours
        for a in link.get("addr_info", [])
    }


def _routes(ours: set[str]) -> set[str]:
    kept = set()
    for family in ("-4", "-6"):
        for route in json.loads(_run("ip", "-j", family, "route", "show", "table", "all") or "[]"):
            if route.get("protocol") in (str(RTPROT_NETLAB), RTPROT_NETLAB) or route.get("dev") in ours:
                continue
            kept.add(json.dumps({k: v for k, v in sorted(route.items()) if k != "flags"}))
    return kept


def _rulesets() -> dict[str, str]:
    counters = re.compile(r"\[\d+:\d+\]|counter packets \d+ bytes \d+|^#.*$", re.M)
    return {
        tool: counters.sub("", _run(tool, *args))
        for tool, *args in (("iptables-save",), ("ip6tables-save",), ("nft", "list", "ruleset"))
    }


@dataclass(frozen=True)
class HostState:
    sysctls: dict[str, str]
    links: dict[str, tuple]
    addresses: set[tuple]
    routes: set[str]
    rulesets: dict[str, str]

    @classmethod
    def read(cls) -> "HostState":
        links = _host_links()  # one listing: netlab's links are told apart in the same snapshot
        ours = _netlab_links(links)
        return cls(_sysctls(), _links(links, ours), _addresses(ours), _routes(ours), _rulesets())

    def differences(self, after: "HostState") -> list[str]:
        problems = []
        # A device's own settings are compared when the device is the host's, before and after
        # (a lab's veth comes and goes with its settings; the link list below reports the rest).
        devices = set(self.links) & set(after.links)
        for path in sorted(set(self.sysctls) | set(after.sysctls)):
            device = re.match(r"/proc/sys/net/ipv[46]/(?:conf|neigh)/([^/]+)/", path)
            if device and device[1] not in devices | {"all", "default"}:
                continue
            if self.sysctls.get(path) != after.sysctls.get(path):
                problems.append(f"sysctl {path}: {self.sysctls.get(path)!r} -> {after.sysctls.get(path)!r}")
        for name in sorted(set(self.links) | set(after.links)):
            if self.links.get(name) != after.links.get(name):
                problems.append(f"link {name}: {self.links.get(name)} -> {after.links.get(name)}")
        problems += [f"address gone: {a}" for a in sorted(self.addresses - after.addresses)]
        problems += [f"address added: {a}" for a in sorted(after.addresses - self.addresses)]
        problems += [f"route gone: {r}" for r in sorted(self.routes - after.routes)]
        problems += [f"route added: {r}" for r in sorted(after.routes - self.routes)]
        for tool, text in self.rulesets.items():
            if text != after.rulesets[tool]:
                problems.append(f"{tool} changed:\n--- before\n{text}\n--- after\n{after.rulesets[tool]}")
        return problems


class LabPacketCapture:
    """tcpdump on every host interface, for lab-range packets, for as long as the suite runs."""

    def __init__(self) -> None:
        self._out = tempfile.NamedTemporaryFile("w+", prefix="netlab-host-capture-", suffix=".txt")
        expression = " or ".join(f"net {n}" for n in lab_nets())
        self._tcpdump = subprocess.Popen(
            ["tcpdump", "-i", "any", "-nn", "-l", "-Q", "inout", expression],
            stdout=self._out, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        header = ""
        while "listening on" not in header and self._tcpdump.poll() is None:
            header += self._tcpdump.stderr.readline()
        if "listening on" not in header:
            raise RuntimeError(f"tcpdump did not start: {header}")

    def leaks(self) -> list[str]:
        """Stop the capture; every packet seen on an interface that is no lab's veth."""
        self._tcpdump.send_signal(signal.SIGINT)
        self._tcpdump.communicate(timeout=30)
        self._out.seek(0)
        links = _host_links()
        existing = {link["ifname"] for link in links}
        ours = _netlab_links(links)
        leaks = []
        for line in self._out:
            fields = line.split()
            # An interface that is gone was a lab's veth (the host's own links outlive the suite).
            if len(fields) > 1 and fields[1] in existing and fields[1] not in ours and fields[1] != "lo":
                leaks.append(line.rstrip())
        self._out.close()
        return leaks
