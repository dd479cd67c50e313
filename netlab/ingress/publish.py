"""The ingress controller's control-plane side: publish the routes snapshot, set the Ingresses'
address, and turn a controller pod's failed reload into events.

In a cluster, ingress-nginx's controller watches the apiserver itself; in netlab the control
plane publishes what that watch would give it — the Ingresses of its class with their
Services' endpoints, already resolved (`routes.py`) — as one JSON file, as `dns/publish.py`
does for CoreDNS. Each controller pod (`controller.py`) follows the file.

The address: ingress-nginx's `--publish-service` copies the LoadBalancer IP of its own Service
(`ingress-nginx/ingress-nginx-controller`) into every Ingress it serves
(`status.loadBalancer.ingress`).
"""

from __future__ import annotations

import hashlib
import os

from netlab.api.ingress import Ingress, IngressClass
from netlab.apiserver.state import Lab
from netlab.controllers.endpoints import ServiceEndpoints
from netlab.ingress.controller import read_status
from netlab.ingress.routes import IngressInput, Routes, build_routes

CONTROLLER_NAMESPACE = "ingress-nginx"
CONTROLLER_SERVICE = "ingress-nginx-controller"


def certificates(lab: Lab) -> dict[tuple[str, str], str]:
    """Write each kubernetes.io/tls Secret's tls.crt and tls.key where the controller pods read
    them (the volume ingress-nginx and NGINX Gateway Fabric mount); (namespace, name) -> the
    files' path without extension. The name carries a digest of the content, so a changed
    Secret changes the routes snapshot and the pods reload."""
    from netlab.api.secret import TLS_TYPE, Secret

    directory = os.path.join(os.path.dirname(lab.ingress_routes), "certs")
    found: dict[tuple[str, str], str] = {}
    for o in lab.store.list("Secret"):
        if o.manifest.get("type") != TLS_TYPE:
            continue
        secret = Secret.model_validate(o.manifest)
        crt, key = secret.value("tls.crt") or b"", secret.value("tls.key") or b""
        digest = hashlib.sha256(crt + b"\0" + key).hexdigest()[:12]
        prefix = os.path.join(directory, f"{o.namespace}_{o.name}_{digest}")
        found[(o.namespace, o.name)] = prefix
        for suffix, data in ((".crt", crt), (".key", key)):
            if not os.path.exists(prefix + suffix):
                os.makedirs(directory, mode=0o700, exist_ok=True)
                fd = os.open(prefix + suffix + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(prefix + suffix + ".tmp", prefix + suffix)
    wanted = {os.path.basename(p) + s for p in found.values() for s in (".crt", ".key")}
    for name in os.listdir(directory) if os.path.isdir(directory) else []:
        if name not in wanted:
            os.unlink(os.path.join(directory, name))  # a deleted or changed Secret's old files
    return found


def routes(lab: Lab, services: list[ServiceEndpoints], certs: dict[tuple[str, str], str] | None = None) -> Routes:
    classes = [IngressClass.model_validate(o.manifest) for o in lab.store.list("IngressClass")]
    ingresses = [IngressInput(Ingress.model_validate(o.manifest), o.created) for o in lab.store.list("Ingress")]
    return build_routes(ingresses, classes, services, certificates(lab) if certs is None else certs)


def publish(lab: Lab, services: list[ServiceEndpoints]) -> None:
    stored = lab.store.list("Ingress")
    if not stored and not os.path.exists(lab.ingress_routes):
        return  # no Ingress ever: nothing to publish
    certs = certificates(lab)
    table = routes(lab, services, certs)
    _write_if_changed(lab.ingress_routes, table.to_json())
    _set_addresses(lab, services, set(table.ingresses))
    _report_missing_secrets(lab, stored, certs, set(table.ingresses))
    _report_reloads(lab)


def _report_missing_secrets(lab: Lab, stored: list, certs: dict, served: set[str]) -> None:
    """ingress-nginx logs `Error getting SSL certificate`; netlab says it on the Ingress too:
    a Warning event once, and `status.tlsError` until the Secret is there."""
    for o in stored:
        missing = sorted({t.get("secretName", "") for t in o.manifest["spec"].get("tls") or []} - {n for ns, n in certs if ns == o.namespace})
        error = (f'secret "{o.namespace}/{missing[0]}" of type kubernetes.io/tls not found: its hosts are served '
                 "over plain HTTP only") if missing and f"{o.namespace}/{o.name}" in served else ""
        if error == o.status.get("tlsError", ""):
            continue
        if error:
            lab.store.add_event("Ingress", o.namespace, o.name, "MissingSecret", error, "Warning")
        status = {k: v for k, v in o.status.items() if k != "tlsError"}
        if error:
            status["tlsError"] = error
        lab.store.set_status("Ingress", o.namespace, o.name, status)


def _write_if_changed(path: str, text: str) -> None:
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)  # a new inode: the controller pods see one whole snapshot or the last


def controller_addresses(services: list[ServiceEndpoints]) -> list[str]:
    se = next((s for s in services if (s.obj.namespace, s.obj.name) == (CONTROLLER_NAMESPACE, CONTROLLER_SERVICE)), None)
    if se is None:
        return []
    return [i["ip"] for i in (se.obj.status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")]


def _set_addresses(lab: Lab, services: list[ServiceEndpoints], served: set[str]) -> None:
    ips = controller_addresses(services)
    for o in lab.store.list("Ingress"):
        want = ips if f"{o.namespace}/{o.name}" in served else []
        have = [i.get("ip") for i in (o.status.get("loadBalancer") or {}).get("ingress", [])]
        if have == want:
            continue
        status = dict(o.status)
        if want:
            status["loadBalancer"] = {"ingress": [{"ip": ip} for ip in want]}
            lab.store.add_event("Ingress", o.namespace, o.name, "Sync", "Scheduled for sync")
        else:
            status.pop("loadBalancer", None)
        lab.store.set_status("Ingress", o.namespace, o.name, status)


def _report_reloads(lab: Lab) -> None:
    """A controller pod whose last config failed `nginx -t`: a Warning on the Ingresses it was
    asked to serve, once per distinct error."""
    _report(lab, "Ingress", CONTROLLER_NAMESPACE)


def _report(lab: Lab, kind: str, controller_namespace: str) -> None:
    errors: dict[str, str] = {}
    for pod in lab.store.list("Pod", controller_namespace):
        if not pod.status.get("dir"):
            continue
        status = read_status(os.path.join(pod.status["dir"], "nginx"))
        if status and not status.get("ok"):
            for key in status.get("ingresses", []):
                errors.setdefault(key, status.get("error", ""))
    for o in lab.store.list(kind):
        error = errors.get(f"{o.namespace}/{o.name}", "")
        if error == o.status.get("reloadError", ""):
            continue
        if error:
            lab.store.add_event(kind, o.namespace, o.name, "RELOAD", f"Error reloading NGINX: {error}", "Warning")
        status = {k: v for k, v in o.status.items() if k != "reloadError"}
        if error:
            status["reloadError"] = error
        lab.store.set_status(kind, o.namespace, o.name, status)


# --- the Gateway API ----------------------------------------------------------------------------

GATEWAY_NAMESPACE = "nginx-gateway"
GATEWAY_SERVICE = "nginx-gateway"  # NGINX Gateway Fabric's data plane Service


def gateway_routes_path(lab: Lab) -> str:
    return os.path.join(os.path.dirname(lab.ingress_routes), "gateway.json")


def publish_gateway(lab: Lab, services: list[ServiceEndpoints]) -> None:
    from netlab.api.gateway import NGINX_GATEWAY_CONTROLLER, Gateway, GatewayClass, HTTPRoute
    from netlab.ingress.gateway import Stored, build_gateway_routes

    stored_gateways = lab.store.list("Gateway")
    stored_routes = lab.store.list("HTTPRoute")
    path = gateway_routes_path(lab)
    if not stored_gateways and not stored_routes and not os.path.exists(path):
        return
    from netlab.api.referencegrant import ReferenceGrant

    result = build_gateway_routes(
        [GatewayClass.model_validate(o.manifest) for o in lab.store.list("GatewayClass")],
        [Stored(Gateway.model_validate(o.manifest), o.created) for o in stored_gateways],
        [Stored(HTTPRoute.model_validate(o.manifest), o.created) for o in stored_routes],
        services,
        [ReferenceGrant.model_validate(o.manifest) for o in lab.store.list("ReferenceGrant")],
        certificates(lab),
    )
    _write_if_changed(path, result.routes.to_json())
    se = next((s for s in services if (s.obj.namespace, s.obj.name) == (GATEWAY_NAMESPACE, GATEWAY_SERVICE)), None)
    ips = [i["ip"] for i in (se.obj.status.get("loadBalancer") or {}).get("ingress", []) if i.get("ip")] if se else []
    served = set(result.gateways)
    for o in stored_gateways:
        if (o.namespace, o.name) in served:
            status = {
                "addresses": [{"type": "IPAddress", "value": ip} for ip in ips],
                "conditions": [
                    {"type": "Accepted", "status": "True", "reason": "Accepted"},
                    {"type": "Programmed", "status": "True" if ips else "False",
                     "reason": "Programmed" if ips else "AddressNotAssigned"},
                ],
                "listeners": result.listener_status.get((o.namespace, o.name), []),
            }
            _observed(status["conditions"], o.generation)
            for listener in status["listeners"]:
                _observed(listener["conditions"], o.generation)
        else:
            status = {"conditions": [{"type": "Accepted", "status": "Unknown", "reason": "Pending",
                                      "message": "Waiting for controller"}]}
        _set_status(lab, "Gateway", o, status)
    for o in lab.store.list("GatewayClass"):
        if o.manifest["spec"].get("controllerName") == NGINX_GATEWAY_CONTROLLER:
            _set_status(lab, "GatewayClass", o, {"conditions": [{"type": "Accepted", "status": "True", "reason": "Accepted",
                                                                 "observedGeneration": o.generation}]})
    for o in stored_routes:
        status = {"parents": result.route_status.get((o.namespace, o.name), [])}
        for parent in status["parents"]:
            _observed(parent["conditions"], o.generation)
        if o.status.get("reloadError"):
            status["reloadError"] = o.status["reloadError"]
        _set_status(lab, "HTTPRoute", o, status)
    _report(lab, "HTTPRoute", GATEWAY_NAMESPACE)


def _observed(conditions: list[dict], generation: int) -> None:
    """Each condition names the metadata.generation it was computed from (observedGeneration)."""
    for c in conditions:
        c["observedGeneration"] = generation


def _set_status(lab: Lab, kind: str, o, status: dict) -> None:
    if o.status != status:
        lab.store.set_status(kind, o.namespace, o.name, status)
