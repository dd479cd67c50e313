"""Derived names of everything netlab creates (pure).

Every kernel object carries the cluster's name, and ownership is also written on the object
itself (link aliases, route protocol), so `netlab reset` finds exactly what netlab made.
Network namespaces are `<cluster>.<node>`, `<cluster>.fabric` and `<cluster>.<ns>.<pod>`:
names are DNS labels, which cannot contain dots, so these never collide.
"""

from __future__ import annotations

import os

CLUSTER_ENV = "NETLAB_CLUSTER"  # the lab a command acts on without --cluster
DEFAULT_CLUSTER = "netlab"
STATE_ROOT_ENV = "NETLAB_STATE_DIR"
DEFAULT_STATE_ROOT = "/var/lib/netlab"
CONTROLLER_DIR = "/run/netlab/controller"  # the control planes' pid files, locks and sockets
MARKER = "netlab"  # prefix of every ownership alias
RTPROT_NETLAB = 212  # the protocol number of netlab's host routes (`ip route show proto 212`)
RTPROT_BIRD = 12  # /etc/iproute2/rt_protos: the routes BIRD writes (`ip route show proto bird`)

FABRIC_BRIDGE = "br0"
FABRIC_HOST_PORT = "host"
NODE_UPLINK = "eth0"
NODE_BRIDGE = "cni0"
VXLAN_DEVICE = "flannel.1"  # flanneld names its VTEP flannel.<VNI>
VXLAN6_DEVICE = "flannel-v6.1"  # and its IPv6 VTEP flannel-v6.<VNI> (dual-stack flannel)
POD_IFACE = "eth0"


def default_cluster_name() -> str:
    return os.environ.get(CLUSTER_ENV, DEFAULT_CLUSTER)


def state_root() -> str:
    return os.environ.get(STATE_ROOT_ENV, DEFAULT_STATE_ROOT)


def cluster_dir(cluster: str) -> str:
    return os.path.join(state_root(), cluster)


def cli_socket_path(cluster: str) -> str:
    """Where the warm CLI process beside the lab's control plane listens (lab/warmcli.py; the CLI's side is cli/resident.py)."""
    return os.path.join(CONTROLLER_DIR, f"{cluster}.cli.sock")


def container_logs_index(cluster: str) -> str:
    """The lab's index of container log pipes (kernel/logcollector.py), which its shim drains."""
    return os.path.join(cluster_dir(cluster), "containerlogs")


def fabric_netns(cluster: str) -> str:
    return f"{cluster}.fabric"


def node_netns(cluster: str, node: str) -> str:
    return f"{cluster}.{node}"


def pod_netns(cluster: str, namespace: str, pod: str) -> str:
    return f"{cluster}.{namespace}.{pod}"


def host_link(cluster: str) -> str:
    """The host's one veth into the lab (cluster names are at most 12 characters)."""
    return f"{cluster}0"


def _short(prefix: str, key: str) -> str:
    """`prefix + key` if it fits IFNAMSIZ (15), else prefix + a hash of key."""
    if len(prefix + key) <= 15:
        return prefix + key
    return prefix + _sha256(key.encode()).hexdigest()[: 15 - len(prefix)]


def fabric_port(node: str) -> str:
    return _short("u-", node)


def pod_veth(cluster: str, namespace: str, pod: str, uid: str) -> str:
    """The host-side end of a pod's veth, like Calico's cali<hash>: fixed length, unique per pod."""
    return "veth" + _sha256(f"{cluster}/{namespace}/{pod}/{uid}".encode()).hexdigest()[:11]


def link_marker(cluster: str) -> str:
    return f"{MARKER}:{cluster}"


def netns_marker(cluster: str, role: str) -> str:
    """Written as the alias of `lo` inside each namespace netlab creates."""
    return f"{MARKER}:{cluster}:{role}"


def parse_netns_marker(alias: str | None) -> tuple[str, str] | None:
    """(cluster, role) from a marker, or None when the namespace is not netlab's."""
    if not alias or not alias.startswith(MARKER + ":"):
        return None
    parts = alias.split(":", 2)
    if len(parts) != 3:
        return None
    return parts[1], parts[2]


def node_mac(cluster: str, node: str) -> str:
    """A fixed, locally administered MAC for a node's eth0: a node that fails and recovers
    comes back with the same MAC, so its neighbours' ARP entries stay right (as a real
    machine's NIC would)."""
    digest = _sha256(f"{cluster}/{node}".encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def vxlan_device(family: int) -> str:
    """The VTEP that carries a family's pod traffic: flannel.1 (IPv4) or flannel-v6.1 (IPv6)."""
    return VXLAN6_DEVICE if family == 6 else VXLAN_DEVICE


def vtep_mac(cluster: str, node: str, family: int = 4) -> str:
    """The MAC of a node's flannel.1 (flannel-v6.1 for family 6): fixed, so the plan is pure and
    a recovered node's VTEP is where the others' neighbour and FDB entries already point
    (flanneld publishes the random one it got in the node's annotations, `VtepMAC` and its v6
    twin; a derived one needs no publishing)."""
    key = f"{cluster}/{node}/vtep" + ("6" if family == 6 else "")
    digest = _sha256(key.encode()).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))


def bird_dir(cluster: str) -> str:
    """Where a BGP lab keeps each node's BIRD config, control socket, pid record and log."""
    return os.path.join(cluster_dir(cluster), "bird")


def _sha256(data: bytes):
    import hashlib  # loads OpenSSL: not at import, for the commands that derive no hashed name

    return hashlib.sha256(data)
