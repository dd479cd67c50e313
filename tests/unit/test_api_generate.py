"""The manifests kubectl's imperative commands send: create deployment, expose, run (pure)."""

from __future__ import annotations

import pytest

from netlab.api import generate
from netlab.api.kinds import object_from_dict
from netlab.errors import InvalidInput


def test_create_deployment_is_kubectls_shape_and_admissible():
    d = generate.deployment("hello", ["registry.k8s.io/e2e-test-images/agnhost:2.39"], 2, 8080, ["/agnhost", "netexec"], "default")
    assert d["spec"]["selector"] == {"matchLabels": {"app": "hello"}}
    assert d["spec"]["template"]["spec"]["containers"] == [
        {"name": "agnhost", "image": "registry.k8s.io/e2e-test-images/agnhost:2.39", "command": ["/agnhost", "netexec"], "ports": [{"containerPort": 8080}]}
    ]
    object_from_dict(d)


def test_run_args_or_command():
    p = generate.pod("tmp", "busybox", "default", "Never", ["sleep", "1"], False, None, None, ["A=1"])
    assert p["metadata"]["labels"] == {"run": "tmp"}
    assert p["spec"] == {"containers": [{"name": "tmp", "image": "busybox", "args": ["sleep", "1"], "env": [{"name": "A", "value": "1"}]}], "restartPolicy": "Never"}
    assert generate.pod("tmp", "busybox", "default", "Always", ["sleep"], True, None, None, [])["spec"]["containers"][0]["command"] == ["sleep"]
    with pytest.raises(InvalidInput):
        generate.pod("tmp", "busybox", "default", "Sometimes", [], False, None, None, [])


DEPLOY = generate.deployment("web", ["nginx"], 1, 80, [], "default")


def test_expose_uses_the_selector_and_declared_port():
    svc = generate.service_for("Deployment", DEPLOY, "web", "default", None, None, None, "ClusterIP", None)
    assert svc["spec"] == {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}
    nodeport = generate.service_for("Deployment", DEPLOY, "web-np", "default", 8000, "http", "TCP", "NodePort", None)
    assert nodeport["spec"]["type"] == "NodePort"
    assert nodeport["spec"]["ports"] == [{"port": 8000, "protocol": "TCP", "targetPort": "http"}]
    object_from_dict(nodeport)


def test_expose_a_pod_selects_its_labels_and_refuses_without_ports():
    pod = generate.pod("a", "busybox", "default", "Always", [], False, None, {"app": "a"}, [])
    with pytest.raises(InvalidInput, match="couldn't find port"):
        generate.service_for("Pod", pod, "a", "default", None, None, None, "ClusterIP", None)
    assert generate.service_for("Pod", pod, "a", "default", 80, None, None, "ClusterIP", None)["spec"]["selector"] == {"app": "a"}


def test_container_names():
    assert generate.container_name("docker.io/library/nginx:1.27") == "nginx"
    assert generate.container_name("ghcr.io/x/my_tool@sha256:abc") == "my-tool"
