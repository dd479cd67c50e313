"""The pod sandbox — what the CNI bridge plugin and the kubelet set up before containers run.

A pod is a named network namespace with `lo` up and `eth0` (one end of a veth whose other end
is a port of the node's `cni0` bridge, hairpin on), an address from the node's /24 and a
default route via the bridge — in a dual-stack lab also an IPv6 address from the node's /64
and an IPv6 default route, with duplicate address detection off so the address works at once;
plus a UTS namespace whose hostname is the pod's. Creation is all-or-nothing: a failure
removes whatever was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_interface
from typing import TYPE_CHECKING

from netlab import naming
from netlab.api.addressing import NodeNet
from netlab.errors import KernelError
from netlab.kernel import ns, procs
from netlab.kernel.sysctl import write_in

if TYPE_CHECKING:
    from netlab.kernel.netlink import Netlink


# A new namespace holds only `lo` (ifindex 1, the kernel's LOOPBACK_IFINDEX) and numbers its
# links from there: eth0, the first link made in it, is 2 (a mismatch fails loudly: no such device).
LOOPBACK_IFINDEX = 1
POD_IFINDEX = 2

# Set in a pod of an IPv6 lab before eth0 exists, so eth0 (and its link-local address) is
# born without duplicate address detection: no 1-2 s "tentative" wait at every pod start.
POD_SYSCTLS_IPV6 = {"net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0"}


@dataclass(frozen=True)
class Sandbox:
    netns: str  # name, as `ip netns` lists it
    veth: str  # host-side end, in the node namespace
    ip: str  # the primary family's

    @property
    def netns_path(self) -> str:
        return ns.netns_path(self.netns)

    @property
    def utsns_path(self) -> str:
        return ns.utsns_path(self.netns)


def create(
    cluster: str,
    namespace: str,
    name: str,
    uid: str,
    hostname: str,
    node: NodeNet,
    node_link: Netlink,
    ips: Sequence[IPv4Address | IPv6Address],
    mtu: int | None = None,
) -> Sandbox:
    """`ips`: one per family of the node's subnets, primary first. `mtu`: the overlay's in
    vxlan mode (flannel's CNI gives the veth and cni0 the VTEP's)."""
    # pyroute2 is loaded by the verbs that talk netlink: `exec` and `get` only ask exists().
    from netlab.kernel import rtbatch

    box = Sandbox(
        netns=naming.pod_netns(cluster, namespace, name),
        veth=naming.pod_veth(cluster, namespace, name, uid),
        ip=str(ips[0]),
    )
    ns.create_netns(box.netns)
    try:
        if any(ip.version == 6 for ip in ips):
            write_in(box.netns_path, POD_SYSCTLS_IPV6)
        # The pod's side in batches on a plain socket (kernel/rtbatch.py: a quarter of the cost).
        with rtbatch.open_in(box.netns_path) as pod:
            # The ownership mark first, so even an interrupted create is found by `reset`.
            rtbatch.Batch().link_up(LOOPBACK_IFINDEX, alias=naming.netns_marker(cluster, f"pod:{namespace}/{name}:{uid}")).send(pod, box.netns)
            ns.create_utsns(box.netns, hostname)
            # The peer is born inside the pod's namespace: no link move, no rename (docs/architecture.md, "Kernel plumbing").
            node_link.add_bridge_port(box.veth, naming.POD_IFACE, box.netns_path, naming.NODE_BRIDGE, mtu)
            # eth0 is the second link of a namespace that had only lo: POD_IFINDEX, no lookup.
            batch = rtbatch.Batch()
            for ip, subnet in zip(ips, node.subnets, strict=True):
                batch.add_address(POD_IFINDEX, ip_interface(f"{ip}/{subnet.prefixlen}"))
            batch.link_up(POD_IFINDEX)
            for gateway in node.gateways:
                batch.default_route(gateway)
            batch.send(pod, box.netns)
    except BaseException:
        destroy(box.netns)
        raise
    return box


def destroy(netns: str, grace: float = 2.0) -> None:
    destroy_many([netns], grace)


def destroy_many(names: list[str], grace: float = 2.0) -> None:
    """Stop every process in these pods, then unpin their namespaces; veths die with them.

    All pods are signalled before any is waited for, so N pods cost one grace period, not N.
    Missing pieces are fine: teardown is total and may be repeated.
    """
    inodes = set()
    for name in names:
        if ns.is_pinned(ns.netns_path(name)):
            inodes.add(ns.ns_inode(ns.netns_path(name)))
    # A process forked while we were signalling would outlive its pod: look again until none
    # is left (bounded), before the namespaces are unpinned and can no longer be found.
    for _ in range(3):
        by_netns = procs.refs_by_netns()
        refs = [ref for inode in inodes for ref in by_netns.get(inode, [])]
        if not refs:
            break
        procs.terminate(refs, grace)
    for name in names:
        ns.delete_ns_file(ns.netns_path(name))
        ns.delete_ns_file(ns.utsns_path(name))


def exists(netns: str) -> bool:
    return ns.is_pinned(ns.netns_path(netns))


def owner(netns: str) -> tuple[str, str] | None:
    """(cluster, role) from the namespace's ownership mark; None if it is not netlab's."""
    from netlab.kernel.netlink import loopback_alias

    try:
        return naming.parse_netns_marker(loopback_alias(ns.netns_path(netns)))
    except (OSError, KernelError):  # missing, or an empty pin left by a killed create
        return None


def owned_netns(cluster: str | None = None) -> list[tuple[str, str, str]]:
    """(name, cluster, role) of every netns carrying netlab's marker (of one cluster, or all)."""
    found = []
    for name in ns.list_netns():
        if cluster is not None and not name.startswith(cluster + "."):
            continue
        mark = owner(name)
        if mark and (cluster is None or mark[0] == cluster):
            found.append((name, mark[0], mark[1]))
    return found
