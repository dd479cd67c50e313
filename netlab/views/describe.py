"""`netlab describe`: one pod, Service, NetworkPolicy or node in detail, with its events.

A pod's routes are read from its live namespace, a Service's chains rendered as kube-proxy
renders them per node, a node's facts gathered by `describe_node.py`.
"""

from __future__ import annotations

import time

from netlab import naming
from netlab.api.kinds import BY_KIND
from netlab.api.networkpolicy import NetworkPolicy
from netlab.apiserver.state import Lab, pod_model
from netlab.apiserver.store import StoredObject
from netlab.controllers.endpoints import service_endpoints
from netlab.errors import NotFound
from netlab.kernel import ns
from netlab.kernel.netlink import Netlink
from netlab.kubelet.status import pod_state
from netlab.metallb.controller import ingress_ips
from netlab.metallb.speaker import ANNOUNCEMENTS_KEY
from netlab.policy.describe import describe_lines
from netlab.policy.inputs import policy_inputs
from netlab.policy.model import policy_from_api
from netlab.proxy import port_rules
from netlab.proxy.sync import proxy_config, proxy_ports
from netlab.proxy.types import DEFAULT_STICKY_SECONDS
from netlab.views import describe_node, rbac
from netlab.views.ingress import describe_gateway, describe_httproute, describe_ingress, describe_ingressclass
from netlab.views.secrets import describe_configmap, describe_referencegrant, describe_secret
from netlab.views.objects import age, timestamp

DESCRIBED = ("Pod", "Service", "NetworkPolicy", "Node", "Ingress", "IngressClass", "Gateway", "HTTPRoute", "Secret",
             "ReferenceGrant", "ConfigMap", *rbac.DESCRIBERS)


def describe(lab: Lab, kind: str, name: str, namespace: str) -> list[str]:
    """The lines of `kubectl describe KIND NAME` for one of the DESCRIBED kinds, events last."""
    if kind == "Node":
        namespace, lines = "", describe_node.lines(describe_node.gather(lab, name))
    else:
        namespace = namespace if BY_KIND[kind].namespaced else ""
        obj = lab.store.get(kind, namespace, name)
        if obj is None:
            raise NotFound(f'{BY_KIND[kind].qualified_plural} "{name}" not found' + (f' in namespace "{namespace}"' if namespace else ""))
        describers = {"Pod": _describe_pod, "Service": _describe_service, "NetworkPolicy": _describe_netpol,
                      "Ingress": describe_ingress, "IngressClass": describe_ingressclass,
                      "Gateway": describe_gateway, "HTTPRoute": describe_httproute,
                      "Secret": describe_secret, "ReferenceGrant": describe_referencegrant,
                      "ConfigMap": describe_configmap, **rbac.DESCRIBERS}
        lines = describers[kind](lab, obj)
        if kind in rbac.WITHOUT_EVENTS:  # kubectl's role and binding describers print none
            return lines
    events = [e for _, e in lab.store.events() if (e.kind, e.namespace, e.name) == (kind, namespace, name)]
    lines.append("Events:" + ("" if events else "  <none>"))
    now = time.time()
    for e in events[-15:]:
        lines.append(f"  {e.type:<8} {e.reason:<22} {age(e.ts, now):>5} ago  {e.message}")
    return lines


def _describe_netpol(lab: Lab, obj: StoredObject) -> list[str]:
    np = NetworkPolicy.model_validate(obj.manifest)
    labels = ",".join(f"{k}={v}" for k, v in np.metadata.labels.items()) or "<none>"
    annotations = ",".join(f"{k}={v}" for k, v in np.metadata.annotations.items()) or "<none>"
    return [
        f"{'Name:':<14}{obj.name}",
        f"{'Namespace:':<14}{obj.namespace}",
        f"{'Created on:':<14}{timestamp(obj.created)} ({age(obj.created, time.time())} ago)",
        f"{'Labels:':<14}{labels}",
        f"{'Annotations:':<14}{annotations}",
        *describe_lines(policy_from_api(np), policy_inputs(lab)),
    ]


def _field(label: str, value: object, width: int = 18) -> str:
    return f"{label + ':':<{width}}{value}"


def _svc_field(label: str, value: object) -> str:
    return _field(label, value, 26)  # kubectl's column for "External Traffic Policy:"


def _describe_pod(lab, obj) -> list[str]:
    pod = pod_model(obj)
    st = pod_state(obj, pod)
    status = obj.status
    box = status.get("sandbox") or {}
    lines = [
        _field("Name", obj.name),
        _field("Namespace", obj.namespace),
        _field("Node", f"{status.get('nodeName', '<none>')}/{status.get('hostIP', '')}" if status.get("nodeName") else "<none>"),
        _field("Labels", ",".join(f"{k}={v}" for k, v in (pod.metadata.labels or {}).items()) or "<none>"),
        _field("Status", st.display),
        _field("IP", status.get("podIP", "<none>")),
    ]
    if status.get("podIPs"):
        lines += ["IPs:"] + [f"  IP:  {ip}" for ip in status["podIPs"]]
    if status.get("message"):
        lines.append(_field("Message", status["message"]))
    if box:
        lines += [
            "Network:",
            f"  netns:          {box['netns']}   (ip netns exec {box['netns']} …)",
            f"  veth pair:      {box['veth']} (node {status['nodeName']}, bridge {naming.NODE_BRIDGE}, hairpin on) <-> {naming.POD_IFACE} (pod)",
        ]
        try:
            with Netlink(ns.netns_path(box["netns"])) as nl:
                routes = nl.routes()
            lines.append("  routes:")
            for r in routes:
                via = f" via {r.gateway}" if r.gateway else ""
                lines.append(f"    {r.dst}{via} dev {r.dev}")
        except Exception as exc:  # the sandbox may be gone (failed node); say so, don't crash
            lines.append(f"  routes:         unavailable ({exc})")
        lines.append(f"  resolv.conf:    {status['dir']}/resolv.conf")
    lines.append("Containers:")
    for c, cs in zip(pod.spec.containers, st.container_statuses or [{}] * len(pod.spec.containers)):
        record = next((r for r in status.get("containers") or [] if r["name"] == c.name), {})
        lines.append(f"  {c.name}:")
        lines.append(f"    Image:          {c.image}")
        if record.get("command"):
            lines.append(f"    Runs:           {' '.join(record['command'])}")
        ports = ", ".join(f"{p.containerPort}/{p.protocol}" + (f" ({p.name})" if p.name else "") for p in c.ports)
        lines.append(f"    Ports:          {ports or '<none>'}")
        state = cs.get("state") or {}
        for key, value in state.items():
            detail = ", ".join(f"{k}={v}" for k, v in value.items() if k != "startedAt")
            lines.append(f"    State:          {key.capitalize()}" + (f" ({detail})" if detail else ""))
        if record.get("pid") and "running" in state:
            lines.append(f"    PID:            {record['pid']}")
        lines.append(f"    Restart Count:  {cs.get('restartCount', 0)}")
        lines.append(f"    Log:            netlab logs {obj.name} -c {c.name} -n {obj.namespace}")
        if c.volumeMounts:
            lines.append("    Mounts:")
            lines += [f"      {m.mountPath} from {m.name} ({'ro' if m.readOnly else 'rw'}{', path ' + repr(m.subPath) if m.subPath else ''})"
                      for m in c.volumeMounts]  # fmt: skip
    if pod.spec.volumes:
        lines.append("Volumes:")
        for v in pod.spec.volumes:
            source = getattr(v, v.kind) if v.kind in ("configMap", "secret") else None
            name = source.name if v.kind == "configMap" else source.secretName if v.kind == "secret" else ""
            lines.append(f"  {v.name}:")
            lines.append(f"    Type:       {v.kind}" + (f" ({name})" if name else ""))
    return lines


def _describe_service(lab, obj) -> list[str]:
    se = next(s for s in service_endpoints(lab) if s.obj.key == obj.key)
    svc = se.service
    spec = svc.spec
    owners = lab.store.get_meta(ANNOUNCEMENTS_KEY) or {}

    def announced(ip: str) -> str:
        owner = owners.get(ip)
        how = "NDP" if ":" in ip else "ARP"
        return f"{ip} (announced by {owner}: {how} on its {naming.NODE_UPLINK})" if owner else f"{ip} (not announced)"

    lines = [
        _svc_field("Name", obj.name),
        _svc_field("Namespace", obj.namespace),
        _svc_field("Labels", ",".join(f"{k}={v}" for k, v in (svc.metadata.labels or {}).items()) or "<none>"),
        _svc_field("Selector", ",".join(f"{k}={v}" for k, v in (spec.selector or {}).items()) or "<none>"),
        _svc_field("Type", spec.type),
    ]
    if obj.status.get("ipFamilyPolicy"):
        lines.append(_svc_field("IP Family Policy", obj.status["ipFamilyPolicy"]))
        lines.append(_svc_field("IP Families", ",".join(obj.status.get("ipFamilies") or [])))
    lines.append(_svc_field("IP", se.cluster_ip or "None"))
    if len(obj.status.get("clusterIPs") or []) > 1:
        lines.append(_svc_field("IPs", ",".join(obj.status["clusterIPs"])))
    if spec.type == "ExternalName":
        lines.append(_svc_field("External Name", spec.externalName))
    if spec.type == "LoadBalancer":
        ingress = ingress_ips(obj.status)
        lines.append(_svc_field("LoadBalancer Ingress", ", ".join(announced(ip) for ip in ingress) or "<pending>"))
        if spec.loadBalancerSourceRanges:
            lines.append(_svc_field("LB Source Ranges", ", ".join(spec.loadBalancerSourceRanges)))
    if spec.externalIPs:
        lines.append(_svc_field("External IPs", ", ".join(announced(ip) for ip in spec.externalIPs)))
    # kube-proxy's view of each of the Service's families (one proxier per family).
    views = [(f, view) for f in se.families if (view := se.for_family(f)) is not None]
    ports = {f: {(p.port_name, p.protocol): p for p in proxy_ports([view], f)} for f, view in views}
    node_ports = obj.status.get("nodePorts") or {}
    for p, pe in zip(spec.ports, se.ports):
        lines.append(_svc_field("Port", f"{p.name or '<unset>'}  {p.port}/{p.protocol}"))
        lines.append(_svc_field("TargetPort", f"{p.targetPort if p.targetPort is not None else p.port}/{p.protocol}"))
        if spec.type in ("NodePort", "LoadBalancer") and (p.name or "") in node_ports:
            lines.append(_svc_field("NodePort", f"{p.name or '<unset>'}  {node_ports[p.name or '']}/{p.protocol}"))
        ready = [f"{b.ip}:{b.port}" + (f" ({b.node})" if b.node else "") for b in pe.backends if b.ready]
        lines.append(_svc_field("Endpoints", ",".join(ready) or "<none>"))
        for family, by_port in ports.items():
            sp = by_port.get((pe.name, pe.protocol))
            if sp is not None:
                lines += _chain_lines(lab, sp, f" IPv{family}" if len(ports) > 1 else "")
    lines.append(_svc_field("Session Affinity", spec.sessionAffinity or "None"))
    if spec.sessionAffinity == "ClientIP":
        client_ip = spec.sessionAffinityConfig.clientIP if spec.sessionAffinityConfig else None
        timeout = (client_ip and client_ip.timeoutSeconds) or DEFAULT_STICKY_SECONDS
        lines.append(_svc_field("Affinity Timeout", f"{timeout}s"))
    if spec.type in ("NodePort", "LoadBalancer") or spec.externalIPs:
        lines.append(_svc_field("External Traffic Policy", spec.externalTrafficPolicy or "Cluster"))
    if se.cluster_ip:
        lines.append(_svc_field("Internal Traffic Policy", spec.internalTrafficPolicy or "Cluster"))
    return lines


def _chain_lines(lab, port, family_label: str = "") -> list[str]:
    """The chains kube-proxy programs for one service port (in its family), per node when they
    differ (a Local traffic policy only uses the node's own endpoints)."""
    per_node = {}
    for node in lab.topo.nodes:
        if lab.topo.kube_proxy_mode == "nftables":
            per_node[node.name] = _nft_summary(port, proxy_config(lab, node, port.family))
            continue
        rules = port_rules(port, proxy_config(lab, node, port.family))
        if rules.nat_chains:
            text = "nat " + ", ".join(rules.nat_chains)
        else:
            text = "filter " + "; ".join(sorted({_filter_summary(r) for r in rules.filter_rules}))
        per_node[node.name] = text
    if len(set(per_node.values())) == 1:
        return [_svc_field(f"Chains{family_label}", next(iter(per_node.values())))]
    return [_svc_field(f"Chains{family_label} ({node})", text) for node, text in per_node.items()]


def _nft_summary(port, config) -> str:
    """nftables mode: the port's chains in table ip kube-proxy, or the no-endpoint verdict."""
    from netlab.proxy.nftables import port_objects

    objects = port_objects(port, config)
    if objects.chains:
        return "nft " + ", ".join(chain for chain, _ in objects.chains)
    verdicts = sorted({f"@{m} {e.value}" for m, e in objects.elements if m.startswith("no-endpoint")})
    return "nft " + "; ".join(verdicts)


def _filter_summary(rule: str) -> str:
    chain, target = rule.split()[1], rule.rsplit(" -j ", 1)[-1]
    return f"{chain} -j {target}"
