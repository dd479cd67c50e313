"""`netlab doctor`: does a lab get along with what else lives on this host (pure).

Address ranges against host routes, host addresses and other labs (`range_clashes`), VPN and
Docker interfaces, the resolver pods see, and what crashed labs left behind. Like
`netlab.doctor.checks`, every function only looks at a `Facts` and returns `Check`s.
"""

from __future__ import annotations

import re
from typing import Mapping

from netlab.doctor.model import Check, Facts, HostLink, LabRanges, Status
from netlab.naming import MARKER, RTPROT_NETLAB

VPN_KINDS = {"tun", "tap", "wireguard", "ppp", "ipip", "gre", "ipsec", "xfrm"}
VPN_NAME = re.compile(r"^(tun|tap|wg|utun|ppp|tailscale|zt|nordlynx|proton|mullvad|cscotun|gpd|vpn)", re.I)
DOCKER_NAME = re.compile(r"^(docker\d+|br-[0-9a-f]{12})$")
LOOPBACK_RESOLVER = re.compile(r"^\s*nameserver\s+(127\.\S+|::1)\s*$", re.M)


def _nameservers(text: str) -> list[str]:
    return re.findall(r"^\s*nameserver\s+(\S+)", text, re.M)


def _link_kinds(facts: Facts) -> dict[str, HostLink]:
    return {link.name: link for link in facts.links}


def _netlab_links(facts: Facts) -> set[str]:
    return {link.name for link in facts.links if link.alias.startswith(MARKER + ":")}


def is_vpn(link: HostLink) -> bool:
    return link.kind in VPN_KINDS or bool(VPN_NAME.match(link.name))


def is_docker(name: str) -> bool:
    return bool(DOCKER_NAME.match(name))


def _what(dev: str | None, links: Mapping[str, HostLink]) -> str:
    if dev is None:
        return "a host route"
    link = links.get(dev, HostLink(dev, ""))
    if is_vpn(link):
        return f"VPN interface {dev}"
    if is_docker(dev):
        return f"Docker network {dev}"
    return f"host interface {dev}"


def range_clashes(lab: LabRanges, facts: Facts) -> list[str]:
    """Every host route, host address or other lab that overlaps one of `lab`'s ranges."""
    links = _link_kinds(facts)
    ours = _netlab_links(facts)
    problems = []
    for field_name, net in lab.ranges.items():
        for route in facts.routes:
            if route.proto == RTPROT_NETLAB or route.dev in ours:
                continue  # a lab's own guard routes and host veths (compared lab by lab below)
            if net.overlaps(route.dst):
                problems.append(f"{field_name} {net} overlaps {route.dst} of {_what(route.dev, links)}")
        for dev, address in facts.addresses:
            if dev in ours or dev == "lo":
                continue
            if address.ip in net and not any(address.network == r.dst for r in facts.routes if r.dev == dev):
                problems.append(f"{field_name} {net} contains {address.ip}, an address of {_what(dev, links)}")
        for other in facts.labs:
            if other.name == lab.name:
                continue
            for other_field, other_net in other.ranges.items():
                if net.overlaps(other_net):
                    problems.append(f"{field_name} {net} overlaps {other_field} {other_net} of lab {other.name}")
    return problems


def check_ranges(facts: Facts) -> list[Check]:
    checks = []
    fix = (
        "pick ranges nothing else uses in a Cluster config (podCIDR, serviceCIDR, underlayCIDR) and "
        "create the lab with: netlab cluster create --config FILE; or disconnect the VPN / remove the Docker network"
    )
    for lab in facts.labs:
        problems = range_clashes(lab, facts)
        if problems:
            # Built before the clash appeared: traffic to those addresses now has two owners.
            checks.append(Check(f"ranges: {lab.name}", Status.warn, "; ".join(problems), fix.replace("create the lab", "re-create the lab")))
        else:
            checks.append(Check(f"ranges: {lab.name}", Status.ok, _describe_ranges(lab) + ": no clash"))
    for name in facts.unreadable_labs:
        checks.append(
            Check(
                f"ranges: {name}",
                Status.warn,
                "the lab's state cannot be read by this netlab (made by another version?): its ranges are unknown",
                f"use the netlab that made it, or remove it: netlab cluster delete --name {name}",
            )
        )
    if facts.planned is not None:
        problems = range_clashes(facts.planned, facts)
        name = f"ranges: {facts.planned.name} (not created yet)"
        if problems:
            checks.append(Check(name, Status.fail, "netlab apply would refuse to create it: " + "; ".join(problems), fix))
        else:
            checks.append(Check(name, Status.ok, _describe_ranges(facts.planned) + ": free"))
    return checks


def _describe_ranges(lab: LabRanges) -> str:
    return " ".join(str(v) for v in lab.ranges.values())


def check_neighbours(facts: Facts) -> list[Check]:
    """VPNs and Docker: present is fine, as long as 'ranges' finds no clash."""
    vpns = [link.name for link in facts.links if is_vpn(link)]
    docker = [link.name for link in facts.links if is_docker(link.name)]
    checks = []
    if vpns:
        checks.append(Check("VPN interfaces", Status.ok, f"{', '.join(vpns)}: present; clashes with lab ranges are reported under 'ranges'"))
    else:
        checks.append(Check("VPN interfaces", Status.ok, "none"))
    if docker:
        checks.append(
            Check(
                "Docker networks",
                Status.ok,
                f"{', '.join(docker)}: present; Docker's FORWARD DROP policy does not affect netlab "
                "(node traffic crosses the fabric namespace, never the host's bridge netfilter)",
            )
        )
    else:
        checks.append(Check("Docker networks", Status.ok, "none"))
    return checks


def check_resolver(facts: Facts) -> Check:
    host_stub = LOOPBACK_RESOLVER.findall(facts.host_resolv)
    host_desc = (
        f"the host resolves through the local stub {', '.join(host_stub)}" if host_stub
        else f"the host's nameservers are {', '.join(_nameservers(facts.host_resolv)) or 'none'}"
    )
    dns = {lab.name: lab.cluster_dns for lab in facts.labs}
    for seen in facts.pod_resolv:
        servers = _nameservers(seen.text)
        leaked = [s for s in servers if s.startswith("127.") or s == "::1" or s in _nameservers(facts.host_resolv)]
        expected = dns.get(seen.cluster, "")
        if leaked or (expected and servers != [expected]):
            return Check(
                "pod resolver",
                Status.fail,
                f"pod {seen.pod} of lab {seen.cluster} has nameserver(s) {', '.join(servers) or 'none'}, "
                f"expected only the cluster DNS {expected or '?'}: the host's resolver leaks into pods",
                "re-create the pod (netlab delete pod …; netlab apply …); if it persists, report a bug",
            )
    if facts.pod_resolv:
        seen = facts.pod_resolv[0]
        return Check(
            "pod resolver",
            Status.ok,
            f"{host_desc}; pods have their own resolv.conf (pod {seen.pod} of lab {seen.cluster}: "
            f"nameserver {', '.join(_nameservers(seen.text))}), so the host's resolver does not leak in",
        )
    return Check(
        "pod resolver",
        Status.ok,
        f"{host_desc}; no running pod to look at. netlab bind-mounts each pod's own resolv.conf "
        "(nameserver = the cluster DNS) over /etc/resolv.conf, so a 127.0.0.53 stub — which inside a pod "
        "would be the pod's own loopback — never reaches it. See it: netlab exec POD -- cat /etc/resolv.conf",
    )


def check_leftovers(facts: Facts) -> Check:
    labs = {lab.name for lab in facts.labs} | set(facts.unreadable_labs)
    lab_ranges = [net for lab in facts.labs for net in lab.ranges.values()]
    orphans: dict[str, list[str]] = {}
    for owned in facts.netns:
        if owned.cluster not in labs:
            orphans.setdefault(owned.cluster, []).append(f"netns {owned.name}")
    for link in facts.links:
        if link.alias.startswith(MARKER + ":"):
            cluster = link.alias.split(":", 2)[1]
            if cluster not in labs:
                orphans.setdefault(cluster, []).append(f"link {link.name}")
    for pin in facts.uts_pins:
        cluster = pin.split(".", 1)[0]
        if cluster not in labs:
            orphans.setdefault(cluster, []).append(f"UTS pin {pin}")
    # With a lab of unknown ranges, no netlab route can be called an orphan.
    routes = [] if facts.unreadable_labs else [r for r in facts.routes if r.proto == RTPROT_NETLAB and r.dst not in lab_ranges]
    if not orphans and not routes:
        return Check("leftovers", Status.ok, "none: every netlab namespace, link and route belongs to an existing lab")
    found = [f"lab {c} (no state directory): {_count(items)}" for c, items in sorted(orphans.items())]
    if routes:
        found.append(f"routes proto {RTPROT_NETLAB} of no lab: {', '.join(str(r.dst) for r in routes)}")
    fixes = [f"netlab cluster delete --name {c}" for c in sorted(orphans)]
    if routes:
        fixes.append(f"for each route: ip route del unreachable DST proto {RTPROT_NETLAB}")
    fixes.append("or remove every lab on this machine at once: netlab reset")
    return Check(
        "leftovers",
        Status.warn,
        "from a crashed lab (or one whose state lives under another NETLAB_STATE_DIR): " + "; ".join(found),
        "; ".join(fixes),
    )


def _count(items: list[str]) -> str:
    kinds: dict[str, int] = {}
    for item in items:
        kind = item.rsplit(" ", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    return ", ".join(f"{n} {kind}{'s' if n > 1 and kind != 'netns' else ''}" for kind, n in kinds.items())
