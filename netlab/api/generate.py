"""The objects kubectl's imperative commands generate (pure): `create deployment`, `expose`,
`run`. Each returns the manifest kubectl would send, so `apply`'s admission checks it."""

from __future__ import annotations

from typing import Any, Sequence

from netlab.errors import InvalidInput


def container_name(image: str) -> str:
    """kubectl create deployment's container name: the image's last path part, no tag."""
    base = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    return base.lower().replace("_", "-").replace(".", "-") or "container"


def deployment(name: str, images: Sequence[str], replicas: int, port: int | None, command: Sequence[str], namespace: str) -> dict[str, Any]:
    """`kubectl create deployment NAME --image=… [--replicas] [--port] [-- COMMAND]`."""
    if not images:
        raise InvalidInput("required flag(s) \"image\" not set")
    if command and len(images) > 1:
        raise InvalidInput("cannot specify multiple --image options and command")
    labels = {"app": name}
    containers = []
    for image in images:
        c: dict[str, Any] = {"name": container_name(image), "image": image}
        if command:
            c["command"] = list(command)
        if port is not None:
            c["ports"] = [{"containerPort": port}]
        containers.append(c)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": containers}},
        },
    }


def pod(
    name: str, image: str, namespace: str, restart: str, args: Sequence[str], command: bool,
    port: int | None, labels: dict[str, str] | None, env: Sequence[str],
) -> dict[str, Any]:
    """`kubectl run NAME --image=… [--restart] [--port] [--labels] [--env] [--command] -- ARGS`."""
    if restart not in ("Always", "OnFailure", "Never"):
        raise InvalidInput(f"invalid restart policy: {restart}")
    c: dict[str, Any] = {"name": name, "image": image}
    if args:
        c["command" if command else "args"] = list(args)
    if port is not None:
        c["ports"] = [{"containerPort": port}]
    if env:
        pairs = []
        for item in env:
            key, sep, value = item.partition("=")
            if not sep:
                raise InvalidInput(f"invalid env: {item} (use NAME=VALUE)")
            pairs.append({"name": key, "value": value})
        c["env"] = pairs
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"run": name}},
        "spec": {"containers": [c], "restartPolicy": restart},
    }


def parse_labels(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    labels = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if not sep:
            raise InvalidInput(f"invalid label spec: {part}")
        labels[key.strip()] = value.strip()
    return labels


def service_for(
    kind: str, source: dict[str, Any], name: str, namespace: str, port: int | None, target_port: str | None,
    protocol: str | None, service_type: str, selector: dict[str, str] | None,
) -> dict[str, Any]:
    """`kubectl expose KIND NAME`: a Service selecting what the object selects (a pod's own
    labels), on --port or on the ports the object declares."""
    if selector is None:
        selector = _selector_of(kind, source)
    ports = _ports(kind, source, port, target_port, protocol)
    spec: dict[str, Any] = {"selector": selector, "ports": ports}
    if service_type != "ClusterIP":
        spec["type"] = service_type
    labels = (source.get("metadata") or {}).get("labels") or {}
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def _selector_of(kind: str, source: dict[str, Any]) -> dict[str, str]:
    if kind == "Pod":
        labels = (source.get("metadata") or {}).get("labels") or {}
        if not labels:
            raise InvalidInput(f"the pod {source['metadata']['name']} has no labels and cannot be exposed")
        return dict(labels)
    if kind == "Service":
        selector = (source.get("spec") or {}).get("selector")
        if not selector:
            raise InvalidInput("couldn't retrieve selectors via --selector flag or introspection: the service has no selector")
        return dict(selector)
    selector = (source.get("spec") or {}).get("selector") or {}
    if selector.get("matchExpressions"):
        raise InvalidInput("couldn't convert expressions - \"matchExpressions\" to map-based selector format")
    return dict(selector.get("matchLabels") or {})


def _ports(kind: str, source: dict[str, Any], port: int | None, target_port: str | None, protocol: str | None) -> list[dict[str, Any]]:
    def target(value: int) -> int | str:
        if target_port is None:
            return value
        return int(target_port) if target_port.isdigit() else target_port

    if port is not None:
        entry: dict[str, Any] = {"port": port, "protocol": protocol or "TCP", "targetPort": target(port)}
        return [entry]
    if kind == "Service":
        declared = [(p["port"], p.get("protocol", "TCP")) for p in source["spec"].get("ports") or []]
    else:
        spec = source["spec"] if kind == "Pod" else source["spec"]["template"]["spec"]
        declared = [(p["containerPort"], p.get("protocol", "TCP")) for c in spec["containers"] for p in c.get("ports") or []]
    if not declared:
        raise InvalidInput("couldn't find port via --port flag or introspection")
    if len(declared) == 1:
        return [{"port": declared[0][0], "protocol": protocol or declared[0][1], "targetPort": target(declared[0][0])}]
    return [
        {"name": f"port-{i + 1}", "port": p, "protocol": proto, "targetPort": target(p)}
        for i, (p, proto) in enumerate(declared)
    ]
