"""The control plane's ingress step: the routes snapshot, the Ingress's address from the
controller Service, and a controller pod's failed `nginx -t` as a Warning event (once)."""

from __future__ import annotations

import json
import os

import pytest

from netlab.api.addressing import from_config
from netlab.api.cluster import default_cluster
from netlab.apiserver.state import Lab
from netlab.apiserver.store import Store
from netlab.controllers.endpoints import service_endpoints
from netlab.ingress.publish import publish
from netlab.ingress.routes import Routes

INGRESS = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "shop", "namespace": "default"},
           "spec": {"rules": [{"host": "shop.example", "http": {"paths": [
               {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}}
CLASS = {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
         "metadata": {"name": "nginx", "annotations": {"ingressclass.kubernetes.io/is-default-class": "true"}},
         "spec": {"controller": "k8s.io/ingress-nginx"}}
CONTROLLER_SVC = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "ingress-nginx-controller", "namespace": "ingress-nginx"},
                  "spec": {"type": "LoadBalancer", "selector": {"app": "ingress-nginx"}, "ports": [{"port": 80}]}}


@pytest.fixture
def lab(tmp_path):
    config = default_cluster("unit")
    store = Store(str(tmp_path / "state.db"))
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def test_publish_writes_the_snapshot_and_the_address(lab):
    lab.store.put("Ingress", "default", "shop", INGRESS)
    lab.store.put("IngressClass", "", "nginx", CLASS)
    lab.store.put("Service", "ingress-nginx", "ingress-nginx-controller", CONTROLLER_SVC)
    lab.store.set_status("Service", "ingress-nginx", "ingress-nginx-controller", {"loadBalancer": {"ingress": [{"ip": "172.31.255.200"}]}})
    publish(lab, service_endpoints(lab))
    with open(lab.ingress_routes) as f:
        routes = Routes.from_json(f.read())
    assert routes.ingresses == ("default/shop",)
    assert lab.store.get("Ingress", "default", "shop").status["loadBalancer"] == {"ingress": [{"ip": "172.31.255.200"}]}


def test_a_failed_reload_becomes_one_warning_event(lab, tmp_path):
    lab.store.put("Ingress", "default", "shop", INGRESS)
    lab.store.put("IngressClass", "", "nginx", CLASS)
    pod_dir = tmp_path / "pod"
    os.makedirs(pod_dir / "nginx")
    (pod_dir / "nginx" / "status.json").write_text(json.dumps({"ok": False, "error": 'unknown directive "x"', "ingresses": ["default/shop"]}))
    lab.store.put("Pod", "ingress-nginx", "c-1", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "c-1", "namespace": "ingress-nginx"},
                                                   "spec": {"containers": [{"name": "c", "image": "x"}]}})
    lab.store.set_status("Pod", "ingress-nginx", "c-1", {"dir": str(pod_dir)})
    publish(lab, service_endpoints(lab))
    publish(lab, service_endpoints(lab))
    events = [e for _, e in lab.store.events() if e.kind == "Ingress"]
    assert [(e.type, e.reason, e.message) for e in events] == [("Warning", "RELOAD", 'Error reloading NGINX: unknown directive "x"')]
