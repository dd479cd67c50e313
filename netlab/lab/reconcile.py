"""One reconcile: desired (store) → plan (pure) → apply (idempotent) → observed status (store).

Level-triggered, like Kubernetes' controllers: every run looks at everything, so a second run
changes nothing and a run after a crash finishes what the crashed one started. The steps, in
order, each small: wire the cluster, schedule, make/remove pod sandboxes and start containers,
allocate load-balancer IPs, compute endpoints, sync kube-proxy rules per node (and flush stale
UDP conntrack flows), announce load-balancer and external IPs, publish DNS data.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address

from netlab.metallb import controller as metallb
from netlab import naming
from netlab.api.models import Pod, Service
from netlab.api.networkpolicy import NetworkPolicy
from netlab.apiserver import allocators as ipam
from netlab.controllers.endpoints import Backend, PodView, PortEndpoints, endpoints_for, selects
from netlab.controllers.scheduler import NodeInfo, node_labels, schedule
from netlab.dns.records import (
    EndpointRecord,
    PodRecord,
    PortRecord,
    Records,
    ServiceRecord,
    write_records,
)
from netlab.errors import NetlabError
from netlab.kernel import conntrack, iptables, ns, procs
from netlab.kernel.netlink import Netlink
from netlab.controllers import manager as controllers
from netlab.apiserver.state import Lab
from netlab.kubelet import containers, podfiles, probes, sandbox
from netlab.lab import underlay as network
from netlab.policy.model import PolicyInputs, PolicyPod, policy_from_api
from netlab.policy.render import render_policy
from netlab.proxy import Endpoint, ProxyConfig, ServicePort, render_rules
from netlab.proxy.conntrack import stale_flow_filters, udp_state
from netlab.proxy.partial import plan_sync
from netlab.proxy.types import DEFAULT_STICKY_SECONDS
from netlab.apiserver.store import StoredObject

# kubelet's container restart back-off: 10 s doubling up to 5 minutes.
BACKOFF_BASE = 10.0
BACKOFF_MAX = 300.0


@dataclass
class Outcome:
    """What a reconcile did and what it could not do (partial failures, for exit code 1)."""

    problems: list[str] = field(default_factory=list)
    created_pods: int = 0
    deleted_pods: int = 0
    synced_nodes: int = 0


def pod_model(obj: StoredObject) -> Pod:
    return Pod.model_validate(obj.manifest)


def service_model(obj: StoredObject) -> Service:
    return Service.model_validate(obj.manifest)


def pod_hostname(pod: Pod) -> str:
    return pod.spec.hostname or pod.metadata.name


def pod_ready(status: dict) -> bool:
    records = status.get("containers") or []
    return bool(records) and all(containers.ready(r, status.get("dir", "")) for r in records)


def pod_view(obj: StoredObject, pod: Pod) -> PodView:
    status = obj.status
    return PodView(
        namespace=obj.namespace,
        name=obj.name,
        labels=dict(pod.metadata.labels or {}),
        ip=status.get("podIP"),
        node=status.get("nodeName"),
        ready=pod_ready(status),  # a pod without an IP has no containers yet: not ready
        hostname=pod_hostname(pod),
        subdomain=pod.spec.subdomain,
        ports=tuple(
            (p.name, p.containerPort, p.protocol) for c in pod.spec.containers for p in c.ports
        ),
    )


def service_ports(svc: Service) -> list[tuple[str, str, int, int | str]]:
    return [
        (p.name or "", p.protocol, p.port, p.targetPort if p.targetPort is not None else p.port)
        for p in svc.spec.ports
    ]


# Workload controllers take one step per round (a rollout moves within maxSurge and
# maxUnavailable); rounds repeat while they make progress, so one `apply` usually finishes.
MAX_ROUNDS = 30


def reconcile(lab: Lab) -> Outcome:
    out = Outcome()
    down = frozenset(controllers.failed_nodes(lab))
    network.ensure_cluster_network(lab.topo, down)
    for _ in range(MAX_ROUNDS):
        changed = controllers.run(lab, readiness(lab))
        _schedule(lab)
        # Publish before tearing down: traffic leaves a deleted pod before its processes stop.
        _publish(lab, down, out)
        pods_before = (out.created_pods, out.deleted_pods)
        _sandboxes(lab, down, out)
        kubelet_changed = _containers(lab, out)
        if not changed:
            break
    # Publish again only if the kubelet's part changed what endpoints, rules or DNS depend on.
    if kubelet_changed or (out.created_pods, out.deleted_pods) != pods_before:
        _publish(lab, down, out)
    return out


def readiness(lab: Lab) -> dict[tuple[str, str], bool]:
    return {(o.namespace, o.name): pod_ready(o.status) for o in lab.store.list("Pod")}


def _publish(lab: Lab, down: frozenset[str], out: Outcome) -> None:
    metallb.allocate(lab)
    views = [pod_view(o, pod_model(o)) for o in lab.store.list("Pod")]
    endpoints = service_endpoints(lab, views)
    _proxy(lab, endpoints, policy_inputs(lab, views), down, out)
    # MetalLB's speaker: one healthy node answers ARP for each LoadBalancer/external IP.
    announced = [(se.obj, se.service, _ready_by_node(se)) for se in endpoints]
    healthy = [n for n in metallb.healthy_nodes(lab) if n not in down]
    metallb.announce(lab, announced, healthy, out.problems)
    _dns(lab, endpoints, views)


# -- scheduler ---------------------------------------------------------------------------------


def _schedule(lab: Lab) -> None:
    objs = lab.store.list("Pod")
    counts: dict[str, int] = {}
    for o in objs:
        node = o.status.get("nodeName")
        if node:
            counts[node] = counts.get(node, 0) + 1
    cordoned = controllers.unschedulable_nodes(lab)
    nodes = [NodeInfo(n.name, node_labels(n.name, n.labels), n.name not in cordoned) for n in lab.topo.nodes]
    for o in objs:
        if o.status.get("nodeName"):
            continue
        pod = pod_model(o)
        decision = schedule(pod.spec.nodeName, pod.spec.nodeSelector or {}, nodes, counts)
        if decision.node is None:
            if o.status.get("reason") != "Unschedulable":
                lab.store.add_event("Pod", o.namespace, o.name, "FailedScheduling", decision.reason, "Warning")
            lab.store.set_status("Pod", o.namespace, o.name, {"reason": "Unschedulable", "message": decision.reason})
            continue
        counts[decision.node] = counts.get(decision.node, 0) + 1
        lab.store.set_status("Pod", o.namespace, o.name, {"nodeName": decision.node})
        lab.store.add_event(
            "Pod", o.namespace, o.name, "Scheduled", f"Successfully assigned {o.namespace}/{o.name} to {decision.node}"
        )


# -- sandboxes ---------------------------------------------------------------------------------


def _pod_netns_names(lab: Lab) -> set[str]:
    """The pod namespaces of this cluster that exist in the kernel (three dotted parts)."""
    prefix = lab.name + "."
    return {n for n in ns.list_netns() if n.startswith(prefix) and n.count(".") == 2}


def _sandboxes(lab: Lab, down: frozenset[str], out: Outcome) -> None:
    objs = lab.store.list("Pod")
    wanted: dict[str, StoredObject] = {}
    for o in objs:
        if o.status.get("nodeName") and o.status["nodeName"] not in down:
            wanted[naming.pod_netns(lab.name, o.namespace, o.name)] = o
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
                out.problems.append(f"netns {name} looks like one of this lab's pods but has no netlab mark; left alone")
                continue
            doomed.append(name)
    sandbox.destroy_many(doomed)
    out.deleted_pods += len(doomed)
    # Also the UTS pins of pods whose network namespace vanished (interrupted teardown).
    for name in ns.list_utsns():
        if name.startswith(lab.name + ".") and name not in wanted and name not in existing:
            ns.delete_ns_file(ns.utsns_path(name))

    used = {IPv4Address(o.status["podIP"]) for o in objs if o.status.get("podIP")}
    node_links: dict[str, Netlink] = {}
    try:
        for name, o in sorted(wanted.items()):
            box = o.status.get("sandbox") or {}
            if box.get("uid") == o.uid and sandbox.exists(name):
                continue
            node = lab.topo.node(o.status["nodeName"])
            if node.name not in node_links:
                node_links[node.name] = Netlink(ns.netns_path(naming.node_netns(lab.name, node.name)))
            try:
                _create_sandbox(lab, o, node, node_links[node.name], used)
                out.created_pods += 1
            except NetlabError as exc:
                out.problems.append(f"pod/{o.name} -n {o.namespace}: {exc.message}")
                lab.store.add_event("Pod", o.namespace, o.name, "FailedCreatePodSandBox", exc.message, "Warning")
    finally:
        for link in node_links.values():
            link.close()


def _create_sandbox(lab: Lab, o: StoredObject, node, node_link: Netlink, used: set[IPv4Address]) -> None:
    pod = pod_model(o)
    old_ip = o.status.get("podIP")
    if old_ip:
        used.discard(IPv4Address(old_ip))
    cursor_key = f"ipam:last:{node.name}"
    last = lab.store.get_meta(cursor_key)
    ip = ipam.allocate_pod_ip(node.subnet, used, IPv4Address(last) if last else None)
    # Record the address before touching the kernel: a crash in between leaks nothing, the
    # next reconcile sees a sandbox without our uid and rebuilds it.
    lab.store.set_meta(cursor_key, str(ip))
    used.add(ip)
    hostname = pod_hostname(pod)
    box = sandbox.create(lab.name, o.namespace, o.name, o.uid, hostname, node, node_link, ip)
    directory = lab.pod_dir(o.namespace, o.name, o.uid)
    os.makedirs(directory, exist_ok=True)
    _write(os.path.join(directory, "resolv.conf"), podfiles.resolv_conf(o.namespace, lab.topo.domain, str(lab.topo.dns_ip)))
    _write(
        os.path.join(directory, "hosts"),
        podfiles.hosts_file(str(ip), hostname, pod.spec.subdomain, o.namespace, lab.topo.domain),
    )
    _write(os.path.join(directory, "hostname"), hostname + "\n")
    lab.store.set_status(
        "Pod",
        o.namespace,
        o.name,
        {
            "nodeName": node.name,
            "podIP": str(ip),
            "hostIP": str(node.underlay_ip),
            "startTime": time.time(),
            "dir": directory,
            "sandbox": {"uid": o.uid, "netns": box.netns, "veth": box.veth},
            "containers": [],
        },
    )
    lab.store.add_event("Pod", o.namespace, o.name, "SandboxCreated", f"netns {box.netns}, eth0 {ip} via {box.veth} on {node.name}/cni0")


def _write(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


# -- containers (kubelet) ----------------------------------------------------------------------


def pod_context(lab: Lab, o: StoredObject, pod: Pod) -> containers.PodContext:
    netns = o.status["sandbox"]["netns"]
    return containers.PodContext(
        namespace=o.namespace,
        name=o.name,
        ip=o.status["podIP"],
        node=o.status["nodeName"],
        hostname=pod_hostname(pod),
        netns_path=ns.netns_path(netns),
        utsns_path=ns.utsns_path(netns),
        directory=o.status["dir"],
        dns_records=lab.dns_records,
    )


def _containers(lab: Lab, out: Outcome) -> bool:
    """Start, observe, probe and restart containers; True when any pod's status changed."""
    now = time.time()
    any_changed = False
    for o in lab.store.list("Pod"):
        box = o.status.get("sandbox") or {}
        if box.get("uid") != o.uid or not sandbox.exists(box["netns"]):
            continue  # no sandbox yet, or it went with a failed node
        pod = pod_model(o)
        ctx = pod_context(lab, o, pod)
        records = {r["name"]: r for r in o.status.get("containers") or []}
        changed = False
        for container in pod.spec.containers:
            record = records.get(container.name)
            if record is None:
                records[container.name] = containers.start(ctx, container)
                changed = True
                continue
            if "error" in record:
                continue
            state = containers.observe(record, ctx.directory)
            if "running" in state:
                changed |= _probe(lab, o, ctx, container, record, now)
                continue
            if "terminated" not in state:
                continue
            if "finishedAt" not in record:
                # Nothing of an exited container may keep running (say, the child of a killed
                # wrapper still holding the port the restarted container needs).
                procs.kill_leftovers(record["pid"], ctx.netns_path)
                record["finishedAt"] = now
                changed = True
            if not containers.should_restart(pod.spec.restartPolicy, state):
                continue
            # kubelet's back-off: the first restart at once, then 10 s doubling up to 5 minutes.
            restarts = record.get("restartCount", 0)
            delay = min(BACKOFF_BASE * 2 ** max(restarts - 1, 0), BACKOFF_MAX) if restarts else 0
            if now - record["finishedAt"] < delay:
                continue
            records[container.name] = containers.start(ctx, container, restarts + 1)
            lab.store.add_event("Pod", o.namespace, o.name, "Restarted", f"container {container.name} restarted (exit code {state['terminated']['exitCode']})")
            changed = True
        if changed:
            status = dict(o.status)
            status["containers"] = [records[c.name] for c in pod.spec.containers if c.name in records]
            lab.store.set_status("Pod", o.namespace, o.name, status)
            any_changed = True
    return any_changed


def _probe(lab: Lab, o: StoredObject, ctx, container, record: dict, now: float) -> bool:
    """Run the container's due probes; a failed liveness probe kills it (restartPolicy decides)."""
    changed = False
    node_netns = ns.netns_path(naming.node_netns(lab.name, ctx.node))
    for kind, probe in (("readiness", container.readinessProbe), ("liveness", container.livenessProbe)):
        if probe is None or kind not in record or not probes.due(record[kind], probe, record["startedAt"], now):
            continue
        ok, message = probes.run(probe, container, ctx.ip, node_netns, containers.launch_spec(ctx, container))
        before = record[kind]["ok"]
        record[kind] = probes.update(record[kind], probe, ok, message, now)
        changed = True
        if not ok:
            lab.store.add_event("Pod", o.namespace, o.name, "Unhealthy", f"{kind.capitalize()} probe failed: {message}", "Warning")
        if kind == "liveness" and before and not record[kind]["ok"]:
            lab.store.add_event("Pod", o.namespace, o.name, "Killing", f"Container {container.name} failed liveness probe, will be restarted")
            procs.terminate([record["pid"]], grace=1.0)
    return changed


# -- endpoints, kube-proxy, DNS ----------------------------------------------------------------


@dataclass(frozen=True)
class ServiceEndpoints:
    obj: StoredObject
    service: Service
    cluster_ip: str | None
    ports: tuple[PortEndpoints, ...]


def cluster_ip_of(obj: StoredObject, svc: Service) -> str | None:
    if svc.spec.clusterIP == "None" or svc.spec.type == "ExternalName":
        return None
    return obj.status.get("clusterIP") or svc.spec.clusterIP


def service_endpoints(lab: Lab, views: list[PodView]) -> list[ServiceEndpoints]:
    result = []
    for o in lab.store.list("Service"):
        svc = service_model(o)
        ports = endpoints_for(o.namespace, o.name, svc.spec.selector, service_ports(svc), views)
        result.append(ServiceEndpoints(o, svc, cluster_ip_of(o, svc), ports))
    return result


def _ready_by_node(se: ServiceEndpoints) -> dict[str, bool]:
    return {b.node: True for pe in se.ports for b in pe.backends if b.ready}


def proxy_ports(endpoints: list[ServiceEndpoints]) -> list[ServicePort]:
    ports = []
    for se in endpoints:
        if se.cluster_ip is None:
            continue
        spec = se.service.spec
        node_ports = se.obj.status.get("nodePorts") or {}
        affinity = spec.sessionAffinityConfig.clientIP if spec.sessionAffinityConfig else None
        for pe in se.ports:
            ports.append(
                ServicePort(
                    namespace=se.obj.namespace,
                    service=se.obj.name,
                    port_name=pe.name,
                    protocol=pe.protocol,
                    cluster_ip=se.cluster_ip,
                    port=pe.port,
                    endpoints=tuple(
                        Endpoint(ip=b.ip, port=b.port, node=b.node, ready=b.ready, pod=b.pod) for b in pe.backends
                    ),
                    node_port=node_ports.get(pe.name, 0) if spec.type in ("NodePort", "LoadBalancer") else 0,
                    external_ips=tuple(spec.externalIPs),
                    load_balancer_ips=tuple(metallb.ingress_ips(se.obj.status)) if spec.type == "LoadBalancer" else (),
                    load_balancer_source_ranges=tuple(spec.loadBalancerSourceRanges),
                    external_traffic_policy=spec.externalTrafficPolicy or "Cluster",
                    internal_traffic_policy=spec.internalTrafficPolicy or "Cluster",
                    session_affinity=spec.sessionAffinity or "None",
                    sticky_max_age_seconds=(affinity and affinity.timeoutSeconds) or DEFAULT_STICKY_SECONDS,
                )
            )
    return ports


def policy_inputs(lab: Lab, views: list[PodView]) -> PolicyInputs:
    """What the NetworkPolicy agent looks at: pods with an address, namespace labels, policies."""
    return PolicyInputs(
        pods=tuple(PolicyPod(v.namespace, v.name, v.labels, v.ip, v.node, v.ports) for v in views if v.ip and v.node),
        namespaces={o.name: (o.manifest.get("metadata") or {}).get("labels") or {} for o in lab.store.list("Namespace")},
        policies=tuple(policy_from_api(NetworkPolicy.model_validate(o.manifest)) for o in lab.store.list("NetworkPolicy")),
    )


def proxy_config(lab: Lab, node) -> ProxyConfig:
    return ProxyConfig(cluster_cidr=str(lab.topo.pod_cidr), node_name=node.name, node_ip=str(node.underlay_ip))


def _proxy(
    lab: Lab, endpoints: list[ServiceEndpoints], policy: PolicyInputs, down: frozenset[str], out: Outcome
) -> None:
    ports = proxy_ports(endpoints)
    for node in lab.topo.nodes:
        if node.name in down:
            continue
        path = ns.netns_path(naming.node_netns(lab.name, node.name))
        # kube-proxy's rules and the NetworkPolicy agent's chains go in one atomic restore.
        node_policy = render_policy(policy, node.name)
        payload = render_rules(ports, proxy_config(lab, node), node_policy)
        # Skip the restore when this exact payload is already loaded in this exact namespace.
        inode, sha = ns.ns_inode(path), hashlib.sha256(payload.encode()).hexdigest()
        key = f"rules:{node.name}"
        loaded = lab.store.get_meta(key) or {}
        if loaded.get("inode") == inode and loaded.get("sha") == sha:
            continue
        # kube-proxy's partial sync: only the chains that changed, when the namespace still
        # holds what we loaded last; anything else gets the whole tables.
        plan, chains = plan_sync(payload, loaded.get("chains") if loaded.get("inode") == inode else None)
        started = time.monotonic()
        try:
            if plan.payload is not None:
                iptables.restore(path, plan.payload, noflush=not plan.full)
        except NetlabError as exc:
            try:
                iptables.restore(path, payload)  # the partial payload was refused: start over
            except NetlabError:
                out.problems.append(f"node/{node.name}: {exc.message}: {exc.detail}")
                continue
        lab.store.set_meta(key, {"inode": inode, "sha": sha, "chains": chains})
        out.synced_nodes += 1
        lab.store.add_event(
            "Node", "", node.name, "RulesSynced",
            f"iptables-restore{'' if plan.full else ' --noflush'}: {plan.chains_sent} chains sent "
            f"({len(ports)} service ports, {max(len(node_policy.chains) - 1, 0)} pod policy chains)"
            f" in {(time.monotonic() - started) * 1000:.0f} ms",
        )
    _flush_stale_udp(lab, ports, down, out)


UDP_STATE_KEY = "conntrack:udp"


def _flush_stale_udp(lab: Lab, ports: list[ServicePort], down: frozenset[str], out: Outcome) -> None:
    """After the rules changed, drop UDP flows still DNATed to gone endpoints (kube-proxy's
    CleanStaleEntries), in every node, where the flows live."""
    after = udp_state(ports)
    before = lab.store.get_meta(UDP_STATE_KEY) or {}
    if after == before:
        return
    filters = stale_flow_filters(before, after)
    if filters and not conntrack.available():
        # Not fatal: the rules are right, only old UDP flows linger until they time out.
        lab.store.add_event(
            "Node", "", "", "ConntrackMissing",
            "conntrack not found: stale UDP flows were not flushed (apt-get install conntrack)", "Warning",
        )  # fmt: skip
        filters = []
    for node in lab.topo.nodes:
        if node.name in down:
            continue  # a failed node's flows died with it
        path = ns.netns_path(naming.node_netns(lab.name, node.name))
        try:
            for args in filters:
                conntrack.delete(path, args)
        except NetlabError as exc:
            out.problems.append(f"node/{node.name}: {exc.message}: {exc.detail}")
            return
    lab.store.set_meta(UDP_STATE_KEY, after)


def dns_records(lab: Lab, endpoints: list[ServiceEndpoints], views: list[PodView]) -> Records:
    services = []
    for se in endpoints:
        backends = {}
        for pe in se.ports:
            for b in pe.backends:
                backends.setdefault(b.ip, b)
        if not se.ports and se.service.spec.selector:
            # A headless Service without ports still has endpoints (its pods' addresses).
            for v in views:
                if v.namespace == se.obj.namespace and v.ip and v.node and selects(se.service.spec.selector, v.labels):
                    backends.setdefault(
                        v.ip,
                        Backend(
                            ip=v.ip, port=0, node=v.node, pod=f"{v.namespace}/{v.name}", ready=v.ready,
                            hostname=v.hostname if v.subdomain == se.obj.name else None,
                        ),
                    )
        services.append(
            ServiceRecord(
                namespace=se.obj.namespace,
                name=se.obj.name,
                type=se.service.spec.type,
                cluster_ip=se.cluster_ip,
                external_name=se.service.spec.externalName,
                ports=tuple(PortRecord(pe.name, pe.port, pe.protocol) for pe in se.ports),
                endpoints=tuple(
                    EndpointRecord(ip=b.ip, ready=b.ready, hostname=b.hostname, pod=b.pod)
                    for b in sorted(backends.values(), key=lambda b: IPv4Address(b.ip))
                ),
                publish_not_ready=bool(se.service.spec.publishNotReadyAddresses),
            )
        )
    pods = tuple(
        PodRecord(namespace=v.namespace, name=v.name, ip=v.ip, hostname=v.hostname, subdomain=v.subdomain)
        for v in views
        if v.ip
    )
    namespaces = tuple(o.name for o in lab.store.list("Namespace"))
    return Records(domain=lab.topo.domain, services=tuple(services), pods=pods, namespaces=namespaces)


def _dns(lab: Lab, endpoints: list[ServiceEndpoints], views: list[PodView]) -> None:
    records = dns_records(lab, endpoints, views)
    text = records.to_json()
    try:
        with open(lab.dns_records) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    write_records(lab.dns_records, records)
