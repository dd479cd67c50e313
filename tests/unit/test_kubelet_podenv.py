"""A container's environment and a pod's resolv.conf, as the kubelet makes them (pure)."""

from __future__ import annotations

import pytest

from netlab.api.models import Pod
from netlab.kubelet import podenv
from netlab.kubelet.podfiles import pod_resolv_conf

# --- $(VAR) expansion: third_party/forked/golang/expansion's own test table ----------------------

VARS = {"VAR_A": "A", "VAR_B": "B", "VAR_C": "C", "VAR_REF": "$(VAR_A)", "VAR_EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("$(VAR_A)", "A"),
        ("___$(VAR_B)___", "___B___"),
        ("$(VAR_A)-$(VAR_A)", "A-A"),
        ("$(VAR_A)-1", "A-1"),
        ("$(VAR_A)_$(VAR_B)_$(VAR_C)", "A_B_C"),
        ("$$(VAR_B)_$(VAR_A)", "$(VAR_B)_A"),
        ("$$(VAR_A)", "$(VAR_A)"),
        ("$$$$$$(BIG_MONEY)", "$$$(BIG_MONEY)"),
        ("$(VAR_DNE)", "$(VAR_DNE)"),
        ("$(VAR_A", "$(VAR_A"),
        ("$VAR_A", "$VAR_A"),
        ("$(VAR_REF)", "$(VAR_A)"),  # no recursion
        ("$(VAR_EMPTY)", ""),
        ("f000-$$VAR_A", "f000-$VAR_A"),
        ("$", "$"),
        ("foo$", "foo$"),
        ("$()", "$()"),
    ],
)
def test_expand_matches_upstream(text, want):
    assert podenv.expand(text, podenv.mapping_for(VARS)) == want


# --- Service variables ---------------------------------------------------------------------------


def svc(name, ip, *ports, namespace="default"):
    return podenv.ServiceEnv(namespace, name, ip, tuple(podenv.ServicePortEnv(*p) for p in ports))


def test_service_variables_are_upstreams_docker_link_set():
    web = svc("web-front", "10.96.0.20", ("http", 80, "TCP"), ("dns", 53, "UDP"))

    assert podenv.service_variables(web) == [
        ("WEB_FRONT_SERVICE_HOST", "10.96.0.20"),
        ("WEB_FRONT_SERVICE_PORT", "80"),
        ("WEB_FRONT_SERVICE_PORT_HTTP", "80"),
        ("WEB_FRONT_SERVICE_PORT_DNS", "53"),
        ("WEB_FRONT_PORT", "tcp://10.96.0.20:80"),
        ("WEB_FRONT_PORT_80_TCP", "tcp://10.96.0.20:80"),
        ("WEB_FRONT_PORT_80_TCP_PROTO", "tcp"),
        ("WEB_FRONT_PORT_80_TCP_PORT", "80"),
        ("WEB_FRONT_PORT_80_TCP_ADDR", "10.96.0.20"),
        ("WEB_FRONT_PORT_53_UDP", "udp://10.96.0.20:53"),
        ("WEB_FRONT_PORT_53_UDP_PROTO", "udp"),
        ("WEB_FRONT_PORT_53_UDP_PORT", "53"),
        ("WEB_FRONT_PORT_53_UDP_ADDR", "10.96.0.20"),
    ]


def test_headless_and_external_name_services_give_no_variables():
    assert podenv.service_variables(svc("h", "None", (None, 80, "TCP"))) == []
    assert podenv.service_variables(svc("x", None, (None, 80, "TCP"))) == []


def test_only_the_pods_namespace_and_default_kubernetes():
    services = [
        svc("kubernetes", "10.96.0.1", ("https", 443, "TCP")),
        svc("web", "10.96.0.5", (None, 80, "TCP")),
        svc("db", "10.96.0.6", (None, 5432, "TCP"), namespace="other"),
    ]

    env = podenv.service_env(services, "other", enable_service_links=True)
    assert env["DB_SERVICE_HOST"] == "10.96.0.6"
    assert env["KUBERNETES_SERVICE_HOST"] == "10.96.0.1"
    assert "WEB_SERVICE_HOST" not in env

    without_links = podenv.service_env(services, "other", enable_service_links=False)
    assert "DB_SERVICE_HOST" not in without_links
    assert without_links["KUBERNETES_PORT"] == "tcp://10.96.0.1:443"


# --- the whole env -------------------------------------------------------------------------------

FIELDS = podenv.PodFields(
    name="web-1", namespace="shop", uid="u-1", node_name="node-a", service_account="default",
    pod_ip="10.244.1.7", host_ip="172.31.255.11", labels={"app": "web"}, annotations={"team": "net"},
)


def test_env_order_field_refs_and_expansion_against_earlier_entries():
    entries = [
        podenv.EnvEntry("MY_IP", field_path="status.podIP"),
        podenv.EnvEntry("URL", "http://$(MY_IP):$(WEB_SERVICE_PORT)/$(LATER)"),
        podenv.EnvEntry("LATER", "x"),
        podenv.EnvEntry("APP", field_path="metadata.labels['app']"),
        podenv.EnvEntry("MISSING", field_path="metadata.annotations['nope']"),
        podenv.EnvEntry("WEB_SERVICE_HOST", "mine"),
    ]
    services = {"WEB_SERVICE_HOST": "10.96.0.5", "WEB_SERVICE_PORT": "80"}

    env = podenv.container_env(entries, FIELDS, services)

    assert env == [
        ("MY_IP", "10.244.1.7"),
        ("URL", "http://10.244.1.7:80/$(LATER)"),
        ("LATER", "x"),
        ("APP", "web"),
        ("MISSING", ""),
        ("WEB_SERVICE_HOST", "mine"),  # the container's own value wins
        ("WEB_SERVICE_PORT", "80"),
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [("metadata.name", "web-1"), ("metadata.namespace", "shop"), ("metadata.uid", "u-1"),
     ("spec.nodeName", "node-a"), ("spec.serviceAccountName", "default"), ("status.hostIP", "172.31.255.11"),
     ("status.podIPs", "10.244.1.7"), ("metadata.annotations['team']", "net")],
)
def test_field_refs(path, value):
    assert FIELDS.value(path) == value


def test_command_and_args_expand_from_the_final_env():
    env = {"PORT": "8080"}
    assert podenv.expand_argv(["serve", "--port=$(PORT)", "$$(PORT)", "$(NOPE)"], env) == ["serve", "--port=8080", "$(PORT)", "$(NOPE)"]
    assert podenv.expand_argv(None, env) is None


# --- resolv.conf ---------------------------------------------------------------------------------


def pod(spec_extra: dict) -> Pod:
    return Pod.model_validate(
        {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec_extra}}
    )


def test_cluster_first_is_the_default():
    assert pod_resolv_conf(pod({}), "shop", "cluster.local", "10.96.0.10") == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
    )


def test_cluster_first_merges_dns_config_like_the_kubelet():
    spec = {"dnsConfig": {
        "nameservers": ["10.96.0.10", "10.96.0.53"],
        "searches": ["corp.example.", "shop.svc.cluster.local"],
        "options": [{"name": "ndots", "value": "2"}, {"name": "edns0"}],
    }}
    assert pod_resolv_conf(pod(spec), "shop", "cluster.local", "10.96.0.10") == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
        "nameserver 10.96.0.10\nnameserver 10.96.0.53\n"
        "options ndots:2 edns0\n"
    )


def test_none_takes_only_dns_config():
    spec = {"dnsPolicy": "None", "dnsConfig": {"nameservers": ["10.96.0.10"], "searches": ["a.b"], "options": [{"name": "ndots", "value": "1"}]}}
    assert pod_resolv_conf(pod(spec), "shop", "cluster.local", "10.96.0.10") == (
        "search a.b\nnameserver 10.96.0.10\noptions ndots:1\n"
    )


def test_default_is_the_nodes_resolver_which_a_lab_node_has_none_of():
    assert pod_resolv_conf(pod({"dnsPolicy": "Default"}), "shop", "cluster.local", "10.96.0.10") == ""


def test_cluster_first_with_host_network_falls_back_to_default_unless_with_host_net():
    assert pod_resolv_conf(pod({"hostNetwork": True}), "shop", "cluster.local", "10.96.0.10") == ""
    with_host_net = pod({"hostNetwork": True, "dnsPolicy": "ClusterFirstWithHostNet"})
    assert "nameserver 10.96.0.10" in pod_resolv_conf(with_host_net, "shop", "cluster.local", "10.96.0.10")
