"""`hostNetwork: true` pods: no sandbox of their own — the kubelet runs them in the node's
network namespace, with the node's address as pod IP (and hostIP), and the node's hostname.

There is no pod namespace whose deletion would stop their containers, so the kubelet keeps a
record of each such pod (store meta `hostnetwork:pods`, by uid: node, pod directory, container
names) and, once the pod is gone or replaced, stops exactly its containers: the holder of each
container's lock file (`kernel/procs.lock_holder`) and what is left of its process group in
the node's namespace. A failed node takes them with its namespace, as it does every process
of the node.

resolv.conf follows `dnsPolicy` for a host-network pod (`podfiles.pod_resolv_conf`:
`ClusterFirst` becomes `Default`, `ClusterFirstWithHostNet` keeps the cluster DNS), each
process still gets the pod's own file in its mount namespace, as the kubelet bind-mounts it.
"""

from __future__ import annotations

import os
import time

from netlab import naming
from netlab.api.models import Pod
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.kernel import ns, procs
from netlab.kubelet import podfiles

RECORDS = "hostnetwork:pods"
STOP_GRACE = 2.0


def wanted(pod: Pod) -> bool:
    return bool(pod.spec.hostNetwork)


def create(lab: Lab, o: StoredObject, pod: Pod, node) -> None:
    """The host-network pod's "sandbox": the node's namespaces, its files, its status."""
    netns = naming.node_netns(lab.name, node.name)
    if not os.path.exists(ns.utsns_path(netns)):
        ns.create_utsns(netns, node.name)  # the node's hostname, shared by its host-network pods
    ip = str(node.underlay_ip)
    directory = lab.pod_dir(o.namespace, o.name, o.uid)
    os.makedirs(directory, exist_ok=True)
    files = {
        "resolv.conf": podfiles.pod_resolv_conf(pod, o.namespace, lab.topo.domain, str(lab.topo.dns_ip)),
        "hosts": podfiles.hosts_file(ip, node.name, None, o.namespace, lab.topo.domain),
        "hostname": node.name + "\n",
    }
    for name, text in files.items():
        with open(os.path.join(directory, name + ".tmp"), "w") as f:
            f.write(text)
        os.replace(os.path.join(directory, name + ".tmp"), os.path.join(directory, name))
    records = lab.store.get_meta(RECORDS) or {}
    records[o.uid] = {"node": node.name, "dir": directory, "containers": [c.name for c in pod.spec.containers]}
    lab.store.set_meta(RECORDS, records)  # before any container runs: nothing is ever unowned
    lab.store.set_status(
        "Pod", o.namespace, o.name,
        {
            "nodeName": node.name, "podIP": ip, "hostIP": ip, "startTime": time.time(), "dir": directory,
            "podIPs": [str(i) for i in node.underlay_ips], "hostIPs": [str(i) for i in node.underlay_ips],
            "sandbox": {"uid": o.uid, "netns": netns, "veth": "", "hostNetwork": True}, "containers": [],
        },
    )  # fmt: skip
    lab.store.add_event("Pod", o.namespace, o.name, "SandboxCreated", f"hostNetwork: the network namespace of node {node.name}, pod IP {ip}")


def reap(lab: Lab, keep: set[str]) -> int:
    """Stop the containers of host-network pods that are gone (their uid not in `keep`)."""
    records = lab.store.get_meta(RECORDS) or {}
    gone = [uid for uid in records if uid not in keep]
    for uid in gone:
        record = records.pop(uid)
        netns = ns.netns_path(naming.node_netns(lab.name, record["node"]))
        for container in record["containers"]:
            ref = procs.lock_holder(os.path.join(record["dir"], f"{container}.lock"))
            if ref is None:
                continue
            procs.terminate([ref], STOP_GRACE)
            if ns.is_pinned(netns):
                procs.kill_leftovers(ref.pid, netns)
    if gone:
        lab.store.set_meta(RECORDS, records)
    return len(gone)
