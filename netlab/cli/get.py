"""`netlab get` and `netlab describe`."""

from __future__ import annotations

import time
from typing import Optional

import typer

from netlab import naming
from netlab.api.labels import parse_label_selector
from netlab.cli import policy as policy_cmd
from netlab.cli.common import ClusterOption, NamespaceOption, Output, OutputOption, note, out, print_document, print_table
from netlab.lab.lifecycle import require_root
from netlab.errors import NotFound
from netlab.kernel import ns
from netlab.kernel.netlink import Netlink
from netlab.apiserver.state import open_lab
from netlab.metallb import controller as metallb
from netlab.proxy import port_rules
from netlab.proxy.types import DEFAULT_STICKY_SECONDS
from netlab.lab.reconcile import pod_model, proxy_config, proxy_ports
from netlab.kubelet.status import age, as_list, pod_state
from netlab.views import describe_node as nodeview, get as views


def register(app: typer.Typer) -> None:
    @app.command("get")
    def get(
        resource: str = typer.Argument(..., help="pods, services (svc), endpoints (ep), nodes, namespaces (ns), deployments (deploy), replicasets (rs), statefulsets (sts), networkpolicies (netpol)"),
        name: Optional[str] = typer.Argument(None, help="Only this object."),
        namespace: str = NamespaceOption,
        all_namespaces: bool = typer.Option(False, "-A", "--all-namespaces", help="Objects of every namespace."),
        selector: Optional[str] = typer.Option(None, "-l", "--selector", help="Label selector, e.g. app=web,tier!=db"),
        output: Output = OutputOption,
        watch: bool = typer.Option(False, "-w", "--watch", help="After listing, print each change as it happens (Ctrl-C to stop)."),
        cluster: str = ClusterOption,
    ) -> None:
        """List objects like kubectl get: aligned columns, or -o wide|json|yaml|name."""
        require_root()
        view = views.RESOURCES.get(resource.lower())
        if view is None:
            raise typer.BadParameter(f"unknown resource {resource!r}; use one of pods, services, endpoints, nodes, namespaces, deployments, replicasets, statefulsets, netpol")
        lab = open_lab(cluster)
        scope = None if all_namespaces or resource.lower() in views.CLUSTER_SCOPED else namespace
        sel = parse_label_selector(selector) if selector else None
        if watch:
            _watch(lab, view, scope, sel, output == Output.wide, name)
            return
        headers, rows, docs = view(lab, scope, sel, output == Output.wide)
        if name is not None:
            pairs = [(r, d) for r, d in zip(rows, docs) if d["metadata"]["name"] == name]
            if not pairs:
                raise NotFound(f'{resource} "{name}" not found' + (f' in namespace "{scope}"' if scope else ""))
            rows, docs = [pairs[0][0]], [pairs[0][1]]
        if output in (Output.json, Output.yaml):
            print_document(docs[0] if name is not None else as_list(docs), output)
        elif output == Output.name:
            for d in docs:
                out.print(f"{d['kind'].lower()}/{d['metadata']['name']}", markup=False)
        elif not rows:
            note(f"No resources found{' in ' + scope + ' namespace' if scope else ''}.")
        else:
            print_table(headers, rows)

    @app.command("describe")
    def describe(
        resource: str = typer.Argument(..., help="pod, svc, netpol or node"),
        name: str = typer.Argument(...),
        namespace: str = NamespaceOption,
        cluster: str = ClusterOption,
    ) -> None:
        """Show one pod, Service, NetworkPolicy or node in detail: IPs, veth pairs, routes, containers, chains, selected pods, events."""
        require_root()
        lab = open_lab(cluster)
        kind = {"pod": "Pod", "pods": "Pod", "po": "Pod", "svc": "Service", "service": "Service", "services": "Service"}.get(resource.lower())
        kind = kind or ("NetworkPolicy" if resource.lower() in policy_cmd.NETPOL_NAMES else None)
        if resource.lower() in nodeview.ALIASES:
            kind, namespace, lines = "Node", "", nodeview.lines(nodeview.gather(lab, name))
        elif kind is None:
            raise typer.BadParameter("describe supports pod, svc, netpol and node")
        else:
            obj = lab.store.get(kind, namespace, name)
            if obj is None:
                raise NotFound(f'{kind.lower()}s "{name}" not found in namespace "{namespace}"')
            describers = {"Pod": _describe_pod, "Service": _describe_service, "NetworkPolicy": policy_cmd.describe_netpol}
            lines = describers[kind](lab, obj)
        events = [e for _, e in lab.store.events() if (e.kind, e.namespace, e.name) == (kind, namespace, name)]
        lines.append("Events:" + ("" if events else "  <none>"))
        now = time.time()
        for e in events[-15:]:
            lines.append(f"  {e.type:<8} {e.reason:<22} {age(e.ts, now):>5} ago  {e.message}")
        for line in lines:
            out.print(line, markup=False)


def _watch(lab, view, scope, sel, wide: bool, name: str | None) -> None:
    """kubectl get -w: the table once, then one line per row that changed, until Ctrl-C.

    The store is polled (every 0.2 s): a row also changes when a process dies, which no write
    announces. AGE is left out of the comparison, or every row would change every second.
    """
    seen: dict[tuple, list] = {}
    widths: list[int] | None = None
    try:
        while True:
            headers, rows, docs = view(lab, scope, sel, wide)
            age_col = headers.index("AGE") if "AGE" in headers else None
            current = {}
            for row, doc in zip(rows, docs):
                if name is not None and doc["metadata"]["name"] != name:
                    continue
                key = (doc["metadata"].get("namespace"), doc["metadata"]["name"])
                current[key] = [str(c) for c in row]
            if widths is None:
                widths = [max([len(h)] + [len(r[i]) for r in current.values()]) + 3 for i, h in enumerate(headers)]
                out.print("".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip(), markup=False)
            for key, row in current.items():
                compare = [c for i, c in enumerate(row) if i != age_col]
                if seen.get(key) != compare:
                    seen[key] = compare
                    out.print("".join(c.ljust(w) for c, w in zip(row, widths)).rstrip(), markup=False)
            for key in [k for k in seen if k not in current]:
                del seen[key]
                note(f"{key[1]} deleted")
            time.sleep(0.2)  # polling interval of the watch, not a synchronisation
    except KeyboardInterrupt:
        return


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
    return lines


def _describe_service(lab, obj) -> list[str]:
    se = next(s for s in views.service_endpoints(lab) if s.obj.key == obj.key)
    svc = se.service
    spec = svc.spec
    owners = lab.store.get_meta(metallb.ANNOUNCEMENTS_KEY) or {}

    def announced(ip: str) -> str:
        owner = owners.get(ip)
        return f"{ip} (announced by {owner}: ARP on its {naming.NODE_UPLINK})" if owner else f"{ip} (not announced)"

    lines = [
        _svc_field("Name", obj.name),
        _svc_field("Namespace", obj.namespace),
        _svc_field("Labels", ",".join(f"{k}={v}" for k, v in (svc.metadata.labels or {}).items()) or "<none>"),
        _svc_field("Selector", ",".join(f"{k}={v}" for k, v in (spec.selector or {}).items()) or "<none>"),
        _svc_field("Type", spec.type),
        _svc_field("IP", se.cluster_ip or "None"),
    ]
    if spec.type == "ExternalName":
        lines.append(_svc_field("External Name", spec.externalName))
    if spec.type == "LoadBalancer":
        ingress = metallb.ingress_ips(obj.status)
        lines.append(_svc_field("LoadBalancer Ingress", ", ".join(announced(ip) for ip in ingress) or "<pending>"))
        if spec.loadBalancerSourceRanges:
            lines.append(_svc_field("LB Source Ranges", ", ".join(spec.loadBalancerSourceRanges)))
    if spec.externalIPs:
        lines.append(_svc_field("External IPs", ", ".join(announced(ip) for ip in spec.externalIPs)))
    ports = {(p.port_name, p.protocol): p for p in proxy_ports([se])}
    node_ports = obj.status.get("nodePorts") or {}
    for p, pe in zip(spec.ports, se.ports):
        lines.append(_svc_field("Port", f"{p.name or '<unset>'}  {p.port}/{p.protocol}"))
        lines.append(_svc_field("TargetPort", f"{p.targetPort if p.targetPort is not None else p.port}/{p.protocol}"))
        if spec.type in ("NodePort", "LoadBalancer") and (p.name or "") in node_ports:
            lines.append(_svc_field("NodePort", f"{p.name or '<unset>'}  {node_ports[p.name or '']}/{p.protocol}"))
        ready = [f"{b.ip}:{b.port}" + (f" ({b.node})" if b.node else "") for b in pe.backends if b.ready]
        lines.append(_svc_field("Endpoints", ",".join(ready) or "<none>"))
        sp = ports.get((pe.name, pe.protocol))
        if sp is not None:
            lines += _chain_lines(lab, sp)
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


def _chain_lines(lab, port) -> list[str]:
    """The chains kube-proxy programs for one service port, per node when they differ
    (a Local traffic policy only uses the node's own endpoints)."""
    per_node = {}
    for node in lab.topo.nodes:
        rules = port_rules(port, proxy_config(lab, node))
        if rules.nat_chains:
            text = "nat " + ", ".join(rules.nat_chains)
        else:
            text = "filter " + "; ".join(sorted({_filter_summary(r) for r in rules.filter_rules}))
        per_node[node.name] = text
    if len(set(per_node.values())) == 1:
        return [_svc_field("Chains", next(iter(per_node.values())))]
    return [_svc_field(f"Chains ({node})", text) for node, text in per_node.items()]


def _filter_summary(rule: str) -> str:
    chain, target = rule.split()[1], rule.rsplit(" -j ", 1)[-1]
    return f"{chain} -j {target}"
