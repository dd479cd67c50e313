"""The kubelet's sandbox step (CNI ADD/DEL): a network namespace, veth and pod IP for every pod
bound to a live node, and none for anything else.

Pod files (resolv.conf, /etc/hosts, hostname) are written with the sandbox; the address is
recorded in the store before the kernel is touched, so a crash in between leaks nothing.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from ipaddress import ip_address

from netlab import naming
from netlab.apiserver.state import Lab, pod_model
from netlab.apiserver.store import StoredObject
from netlab.errors import NetlabError
from netlab.kernel import ns
from netlab.kernel.netlink import Netlink
from netlab.kubelet import hostnetwork, ipam, podfiles, sandbox, volumes
from netlab.kubelet.podfiles import pod_hostname


def _pod_netns_names(lab: Lab) -> set[str]:
    """The pod namespaces of this cluster that exist in the kernel (three dotted parts)."""
    prefix = lab.name + "."
    return {n for n in ns.list_netns() if n.startswith(prefix) and n.count(".") == 2}


def _wanted(lab: Lab, objs: list[StoredObject], down: frozenset[str]) -> dict[str, StoredObject]:
    """The pods that should have a sandbox (bound to a node that is up), by their netns name."""
    return {
        naming.pod_netns(lab.name, o.namespace, o.name): o
        for o in objs
        if o.status.get("nodeName") and o.status["nodeName"] not in down
    }


def only_new(lab: Lab, down: frozenset[str]) -> bool:
    """True when the sandbox pass has pods to set up and none to tear down: nobody's traffic
    must leave a pod before the kubelet acts, so the publish can wait until the new pods are
    there (`lab/reconcile.py`)."""
    existing = _pod_netns_names(lab)
    wanted = _wanted(lab, lab.store.list("Pod"), down)
    new = False
    for name, o in wanted.items():
        box = o.status.get("sandbox") or {}
        if box.get("uid") != o.uid:
            if name in existing:
                return False  # an earlier pod of the same name goes first
            new = True
        elif not box.get("hostNetwork") and name not in existing:
            new = True
    return new and existing <= wanted.keys()


def sync_sandboxes(
    lab: Lab, down: frozenset[str], problems: list[str], started: Callable[[StoredObject], None] | None = None
) -> tuple[int, int]:
    """Create and remove pod sandboxes; (created, deleted), with what failed added to problems.
    `started` is given each pod whose sandbox is made, as it is, with its new status."""
    created = 0
    objs = lab.store.list("Pod")
    wanted = _wanted(lab, objs, down)
    existing = _pod_netns_names(lab)

    # Remove what is not wanted any more, or what belongs to an earlier pod of the same name.
    doomed = []
    for name in sorted(existing):
        o = wanted.get(name)
        box = (o.status.get("sandbox") or {}) if o else {}
        if o is None or box.get("uid") != o.uid:
            if not ns.is_pinned(ns.netns_path(name)):
                doomed.append(name)  # an empty pin file left by a killed create: debris
                continue
            mark = sandbox.owner(name)
            if mark is not None and mark[0] != lab.name:
                continue
            if mark is None and o is None:
                problems.append(f"netns {name} looks like one of this lab's pods but has no netlab mark; left alone")
                continue
            doomed.append(name)
    sandbox.destroy_many(doomed)
    hostnetwork.reap(lab, {o.uid for o in wanted.values()})
    if doomed:
        volumes.reap(os.path.join(lab.directory, "pods"), {os.path.basename(lab.pod_dir(o.namespace, o.name, o.uid)) for o in objs})
    # Also the UTS pins of pods whose network namespace vanished (interrupted teardown); a
    # node's own (its host-network pods') has one dot.
    for name in ns.list_utsns():
        if name.startswith(lab.name + ".") and name.count(".") == 2 and name not in wanted and name not in existing:
            ns.delete_ns_file(ns.utsns_path(name))

    used = {ip_address(ip) for o in objs for ip in _pod_ips(o.status)}
    cursors: dict[str, str | None] = {}  # node -> the last address it gave, read once a pass
    node_links: dict[str, Netlink] = {}
    try:
        for name, o in sorted(wanted.items()):
            box = o.status.get("sandbox") or {}
            if box.get("uid") == o.uid and (box.get("hostNetwork") or sandbox.exists(name)):
                continue
            node = lab.topo.node(o.status["nodeName"])
            if hostnetwork.wanted(pod_model(o)):
                hostnetwork.create(lab, o, pod_model(o), node)
                created += 1
                if started is not None and (made := lab.store.get("Pod", o.namespace, o.name)) is not None:
                    started(made)
                continue
            if node.name not in node_links:
                node_links[node.name] = Netlink(ns.netns_path(naming.node_netns(lab.name, node.name)))
            try:
                made = _create_sandbox(lab, o, node, node_links[node.name], used, cursors)
                created += 1
            except NetlabError as exc:
                problems.append(f"pod/{o.name} -n {o.namespace}: {exc.message}")
                lab.store.add_event("Pod", o.namespace, o.name, "FailedCreatePodSandBox", exc.message, "Warning")
                continue
            if started is not None:
                started(made)
    finally:
        for link in node_links.values():
            link.close()
    return created, len(doomed)


def _pod_ips(status) -> list[str]:
    return list(status.get("podIPs") or ([status["podIP"]] if status.get("podIP") else []))


def _create_sandbox(lab: Lab, o: StoredObject, node, node_link: Netlink, used: set, cursors: dict[str, str | None]) -> StoredObject:
    """Make the pod's sandbox and record it; the pod as the store now holds it (the status is
    replaced whole, the revision unchanged: what reading it back would give)."""
    pod = pod_model(o)
    for old_ip in _pod_ips(o.status):
        used.discard(ip_address(old_ip))
    cursor_key = f"ipam:last:{node.name}"
    if node.name not in cursors:
        cursors[node.name] = lab.store.get_meta(cursor_key)
    last = cursors[node.name]
    ips = ipam.allocate_pod_ips(node.subnets, used, ip_address(last) if last else None)
    ip = ips[0]
    used.update(ips)
    cursors[node.name] = str(ip)
    hostname = pod_hostname(pod)
    mtu = lab.topo.pod_mtu if lab.topo.routing == "vxlan" else None
    box = sandbox.create(lab.name, o.namespace, o.name, o.uid, hostname, node, node_link, ips, mtu)
    directory = lab.pod_dir(o.namespace, o.name, o.uid)
    os.makedirs(directory, exist_ok=True)
    _write(os.path.join(directory, "resolv.conf"), podfiles.pod_resolv_conf(pod, o.namespace, lab.topo.domain, str(lab.topo.dns_ip)))
    _write(
        os.path.join(directory, "hosts"),
        podfiles.hosts_file([str(i) for i in ips], hostname, pod.spec.subdomain, o.namespace, lab.topo.domain),
    )
    _write(os.path.join(directory, "hostname"), hostname + "\n")
    # One commit for the pod's records. A crash before it leaves a sandbox whose pod has no
    # record of it: the next reconcile removes it (not this pod's uid) and makes it again.
    status = {
        "nodeName": node.name,
        "podIP": str(ip),
        "podIPs": [str(i) for i in ips],
        "hostIP": str(node.underlay_ip),
        "hostIPs": [str(i) for i in node.underlay_ips],
        "startTime": time.time(),
        "dir": directory,
        "sandbox": {"uid": o.uid, "netns": box.netns, "veth": box.veth},
        "containers": [],
    }
    with lab.store.transaction():
        lab.store.set_meta(cursor_key, str(ip))
        lab.store.set_status("Pod", o.namespace, o.name, status)
        lab.store.add_event("Pod", o.namespace, o.name, "SandboxCreated", f"netns {box.netns}, eth0 {', '.join(str(i) for i in ips)} via {box.veth} on {node.name}/cni0")
    return dataclasses.replace(o, status=status)


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
