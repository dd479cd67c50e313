"""Container `hostPort`s, forwarded as the CNI portmap plugin does on a real node (pure).

containernetworking/plugins `plugins/meta/portmap/portmap.go`: every packet addressed to the
node itself (PREROUTING and OUTPUT, `--dst-type LOCAL`) goes through `CNI-HOSTPORT-DNAT`,
which sends each pod's protocols to the pod's own chain `CNI-DN-<hash>`; there, per port, the
pod's own packets (hairpin) and the node's loopback ones are marked for masquerade
(`CNI-HOSTPORT-SETMARK`, mark 0x2000) and everything is DNATed to podIP:containerPort (only
to `hostIP` when the port names one). `CNI-HOSTPORT-MASQ`, from POSTROUTING, masquerades what
was marked. These chains ride in the node's one iptables-restore (`render.render_rules`; in
kube-proxy's nftables mode beside the policy chains, as portmap keeps iptables there too) —
per family, as portmap runs once per pod IP: the IPv6 chains in ip6tables with the pod's IPv6
address, and without the loopback rule (IPv6 never routes ::1 off the host, so portmap leaves
it out). A `hostIP` of one family forwards only in that family.

Which pod gets a port when several ask is the scheduler's business (`controllers.scheduler`,
upstream's NodePorts filter): two pods never hold the same hostIP/protocol/hostPort on a node.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from netlab.proxy.syntax import comment, rule

HOSTPORT_DNAT = "CNI-HOSTPORT-DNAT"
HOSTPORT_SETMARK = "CNI-HOSTPORT-SETMARK"
HOSTPORT_MASQ = "CNI-HOSTPORT-MASQ"
NETWORK_NAME = "cbr0"  # the CNI network's name, part of each chain's hash (flannel's "cbr0")
MARK = "0x2000/0x2000"  # portmap's default masqAll mark bit 13
MAX_CHAIN_LENGTH = 28  # iptables' limit on chain names, as utils.MustFormatChainNameWithPrefix


@dataclass(frozen=True)
class HostPort:
    host_port: int
    container_port: int
    protocol: str  # TCP | UDP | SCTP
    host_ip: str = ""  # "" or 0.0.0.0: every address of the node


@dataclass(frozen=True)
class PodHostPorts:
    pod: str  # namespace/name
    uid: str  # plays the container ID in the chain's hash
    ip: str
    ports: tuple[HostPort, ...]


@dataclass(frozen=True)
class NatRules:
    """nat-table chains another node agent loads in the same payload (the portmap plugin's)."""

    chains: tuple[str, ...] = ()
    jumps: tuple[str, ...] = ()  # -A PREROUTING / OUTPUT / POSTROUTING lines
    rules: tuple[str, ...] = ()


def pod_chain(uid: str) -> str:
    """`CNI-DN-` + hash of network name and container ID, cut to iptables' 28 characters."""
    prefix = "CNI-DN-"
    digest = hashlib.sha512((NETWORK_NAME + uid).encode()).hexdigest()
    return prefix + digest[: MAX_CHAIN_LENGTH - len(prefix)]


def _in_family(port: HostPort, family: int) -> bool:
    if port.host_ip in ("", "0.0.0.0", "::"):
        return True
    return (6 if ":" in port.host_ip else 4) == family


def render_hostports(pods: list[PodHostPorts], family: int = 4) -> NatRules:
    """The portmap chains for the pods of one node in one family (`pods` carry their address
    of that family); none at all when no pod has a hostPort there."""
    pods = [PodHostPorts(p.pod, p.uid, p.ip, tuple(q for q in p.ports if _in_family(q, family))) for p in pods]
    pods = sorted((p for p in pods if p.ports and p.ip), key=lambda p: p.pod)
    if not pods:
        return NatRules()
    local = ("-m", "addrtype", "--dst-type", "LOCAL")
    jumps = (
        rule("PREROUTING", *local, "-j", HOSTPORT_DNAT),
        rule("OUTPUT", *local, "-j", HOSTPORT_DNAT),
        rule("POSTROUTING", *comment("CNI portfwd requiring masquerade"), "-j", HOSTPORT_MASQ),
    )
    chains = [HOSTPORT_DNAT, HOSTPORT_SETMARK, HOSTPORT_MASQ]
    rules = [
        rule(HOSTPORT_SETMARK, *comment("CNI portfwd masquerade mark"), "-j", "MARK", "--set-xmark", MARK),
        rule(HOSTPORT_MASQ, *comment("CNI portfwd requiring masquerade"), "-m", "mark", "--mark", MARK, "-j", "MASQUERADE"),
    ]
    for pod in pods:
        chain = pod_chain(pod.uid)
        chains.append(chain)
        for protocol in sorted({p.protocol for p in pod.ports}):
            numbers = ",".join(str(p.host_port) for p in pod.ports if p.protocol == protocol)
            proto = protocol.lower()
            rules.append(rule(HOSTPORT_DNAT, "-p", proto, *comment(f"dnat name: {NETWORK_NAME} id: {pod.uid}"),
                              "-m", "multiport", "--dports", numbers, "-j", chain))  # fmt: skip
        one = "/32" if family == 4 else "/128"
        target = f"{pod.ip}:{{}}" if family == 4 else f"[{pod.ip}]:{{}}"
        for p in pod.ports:
            proto = p.protocol.lower()
            match = ("-p", proto, "-m", proto, "--dport", str(p.host_port))
            to = ("-d", f"{p.host_ip}{one}") if p.host_ip not in ("", "0.0.0.0", "::") else ()
            rules.append(rule(chain, "-s", f"{pod.ip}{one}", *to, *match, "-j", HOSTPORT_SETMARK))  # hairpin
            if family == 4:
                rules.append(rule(chain, "-s", "127.0.0.1/32", *to, *match, "-j", HOSTPORT_SETMARK))
            rules.append(rule(chain, *to, *match, "-j", "DNAT", "--to-destination", target.format(p.container_port)))
    return NatRules(tuple(chains), jumps, tuple(rules))


def host_ports_of(manifest: dict) -> tuple[HostPort, ...]:
    """A pod's hostPorts from its manifest, as the kubelet hands them to the CNI plugin."""
    found = []
    for container in (manifest.get("spec") or {}).get("containers") or []:
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                found.append(HostPort(port["hostPort"], port["containerPort"], port.get("protocol", "TCP"), port.get("hostIP", "")))
    return tuple(found)
