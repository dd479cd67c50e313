"""Dual-stack rules without root: the Cluster config per family, the apiserver's defaulting and
checks of a Service's ipFamilies/ipFamilyPolicy, cluster IPs per family, pod IPs per family,
DNS answers in both families."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import dns.message
import dns.reversename
import pytest
from pydantic import ValidationError

from netlab.api.addressing import from_config
from netlab.api.cluster import cluster_from_document, default_cluster
from netlab.api.models import Service
from netlab.apiserver import admission, ipfamilies, registry
from netlab.apiserver.state import Lab
from netlab.apiserver.store import Store
from netlab.dns.records import EndpointRecord, PodRecord, PortRecord, Records, ServiceRecord
from netlab.dns.resolver import Zone
from netlab.errors import InvalidInput
from netlab.kubelet import ipam, podfiles


def config_problems(spec: dict) -> list[str]:
    document = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "lab"}, "spec": spec}
    with pytest.raises(InvalidInput) as info:
        cluster_from_document(document, "c.yaml")
    return info.value.problems


# --- the Cluster config ----------------------------------------------------------------------------


def test_a_dual_stack_lab_takes_kinds_ipv6_defaults_beside_the_ipv4_ones():
    config = default_cluster(ip_family="dual")
    assert config.families == (4, 6)
    assert config.podCIDR == (IPv4Network("10.244.0.0/16"), IPv6Network("fd00:10:244::/56"))
    assert config.serviceCIDR == (IPv4Network("10.96.0.0/12"), IPv6Network("fd00:10:96::/112"))
    assert config.node_pod_cidrs(0) == (IPv4Network("10.244.1.0/24"), IPv6Network("fd00:10:244:1::/64"))
    assert config.node_underlay_ips("node-b") == (IPv4Address("172.31.255.12"), IPv6Address("fd00:172:31:255::12"))
    assert config.cluster_dns_ips == (IPv4Address("10.96.0.10"), IPv6Address("fd00:10:96::a"))
    assert config.load_balancer_range_for(6) == (IPv6Address("fd00:172:31:255::200"), IPv6Address("fd00:172:31:255::250"))
    topo = from_config(config)
    assert topo.lab_ranges == (*config.podCIDR, *config.serviceCIDR, *config.underlayCIDR)
    assert topo.node("node-a").gateway_for(6) == IPv6Address("fd00:10:244:1::1")


def test_an_ipv6_only_lab_has_ipv6_everywhere():
    config = default_cluster(ip_family="ipv6")
    assert config.families == (6,)
    assert config.clusterDNS == IPv6Address("fd00:10:96::a")
    assert from_config(config).node("node-a").subnet == IPv6Network("fd00:10:244:1::/64")


def test_the_config_document_round_trips_with_both_families():
    config = default_cluster(ip_family="dual")
    again = cluster_from_document(config.to_document())
    assert again == config
    assert config.to_document()["spec"]["podCIDR"] == "10.244.0.0/16,fd00:10:244::/56"


def test_an_ipv6_range_in_an_ipv4_cluster_is_refused():
    assert config_problems({"podCIDR": "fd00:10:244::/56"}) == [
        'c.yaml: Cluster lab: spec.podCIDR: Invalid value: "fd00:10:244::/56": must hold one IPv4 CIDR for spec.ipFamily ipv4'
    ]


def test_a_dual_stack_lab_needs_both_families_in_every_range():
    problems = config_problems({"ipFamily": "dual", "serviceCIDR": "10.96.0.0/12"})
    assert problems == [
        'c.yaml: Cluster lab: spec.serviceCIDR: Invalid value: "10.96.0.0/12": must hold one IPv4 and IPv6 CIDR for spec.ipFamily dual'
    ]
    assert "one CIDR of each IP family" in config_problems({"ipFamily": "dual", "podCIDR": "10.0.0.0/16,10.1.0.0/16"})[0]


# --- Services: ipFamilies and ipFamilyPolicy ------------------------------------------------------


def spec(**fields):
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **fields}
    return Service.model_validate({"metadata": {"name": "web"}, "spec": body}).spec


@pytest.mark.parametrize(
    ("fields", "cluster", "families", "policy"),
    [
        ({}, (4,), ("IPv4",), "SingleStack"),
        ({}, (4, 6), ("IPv4",), "SingleStack"),
        ({}, (6, 4), ("IPv6",), "SingleStack"),
        ({"ipFamilyPolicy": "PreferDualStack"}, (4,), ("IPv4",), "PreferDualStack"),
        ({"ipFamilyPolicy": "PreferDualStack"}, (4, 6), ("IPv4", "IPv6"), "PreferDualStack"),
        ({"ipFamilies": ["IPv6", "IPv4"]}, (4, 6), ("IPv6", "IPv4"), "RequireDualStack"),
        ({"ipFamilies": ["IPv6"]}, (4, 6), ("IPv6",), "SingleStack"),
        ({"clusterIP": "fd00:10:96::99"}, (4, 6), ("IPv6",), "SingleStack"),
        # Headless without a selector: both families, even in a single-stack cluster.
        ({"clusterIP": "None", "selector": None}, (4,), ("IPv4", "IPv6"), "RequireDualStack"),
    ],
)
def test_families_are_defaulted_as_the_apiserver_does(fields, cluster, families, policy):
    resolved, problems = ipfamilies.resolve(spec(**fields), cluster)
    assert problems == []
    assert (resolved.families, resolved.policy) == (families, policy)


def test_require_dual_stack_and_missing_families_are_refused_in_a_single_stack_cluster():
    _, problems = ipfamilies.resolve(spec(ipFamilyPolicy="RequireDualStack"), (4,))
    assert problems == [("spec.ipFamilyPolicy", 'Invalid value: "RequireDualStack": this cluster is not configured for dual-stack services')]
    _, problems = ipfamilies.resolve(spec(ipFamilies=["IPv6"]), (4,))
    assert problems == [("spec.ipFamilies[0]", 'Invalid value: "IPv6": not configured on this cluster')]


def test_the_primary_family_may_not_change_and_unsaid_fields_are_kept():
    stored = {"ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack"}
    resolved, problems = ipfamilies.resolve(spec(), (4, 6), stored)
    assert problems == [] and resolved.families == ("IPv4", "IPv6")
    _, problems = ipfamilies.resolve(spec(ipFamilies=["IPv6", "IPv4"]), (4, 6), stored)
    assert problems == [("spec.ipFamilies[0]", 'Invalid value: "IPv6": may not change once set')]
    resolved, _ = ipfamilies.resolve(spec(ipFamilyPolicy="SingleStack"), (4, 6), stored)
    assert resolved.families == ("IPv4",)


def test_spec_checks_that_need_no_cluster():
    with pytest.raises(ValidationError, match="must be a single value when `ipFamilyPolicy` is 'SingleStack'"):
        spec(ipFamilyPolicy="SingleStack", ipFamilies=["IPv4", "IPv6"])
    with pytest.raises(ValidationError, match="expected an IPv6 value as indicated by `ipFamilies\\[0\\]`"):
        spec(ipFamilies=["IPv6"], clusterIPs=["10.96.0.50"], clusterIP="10.96.0.50")
    with pytest.raises(ValidationError, match="may specify no more than one IP for each IP family"):
        spec(clusterIP="10.96.0.50", clusterIPs=["10.96.0.50", "10.96.0.51"])


@pytest.fixture
def dual_lab(tmp_path):
    config = default_cluster("unit", ip_family="dual")
    store = Store(str(tmp_path / "state.db"))
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def service(name: str, **fields) -> Service:
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **fields}
    return Service.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": body})


def test_a_prefer_dual_stack_service_gets_a_cluster_ip_in_each_family(dual_lab):
    from netlab.lab.lifecycle import _store_system_objects

    _store_system_objects(dual_lab)
    registry.apply(dual_lab, [service("web", ipFamilyPolicy="PreferDualStack")])
    status = dual_lab.store.get("Service", "default", "web").status
    v4, v6 = (ip_address(ip) for ip in status["clusterIPs"])
    assert v4 in IPv4Network("10.96.0.0/12") and v6 in IPv6Network("fd00:10:96::/112")
    assert status["clusterIP"] == str(v4)
    assert (status["ipFamilies"], status["ipFamilyPolicy"]) == (["IPv4", "IPv6"], "PreferDualStack")
    # Re-applied as it was written: the same addresses; downgraded: the IPv6 one is released.
    registry.apply(dual_lab, [service("web", ipFamilyPolicy="PreferDualStack")])
    assert dual_lab.store.get("Service", "default", "web").status["clusterIPs"] == [str(v4), str(v6)]
    registry.apply(dual_lab, [service("web", ipFamilyPolicy="SingleStack")])
    assert dual_lab.store.get("Service", "default", "web").status["clusterIPs"] == [str(v4)]
    kube_dns = dual_lab.store.get("Service", "kube-system", "kube-dns").status
    assert kube_dns["clusterIPs"] == ["10.96.0.10", "fd00:10:96::a"]


def test_an_explicit_ipv6_cluster_ip_outside_the_range_is_refused(dual_lab):
    from netlab.lab.lifecycle import _store_system_objects

    _store_system_objects(dual_lab)
    problems = admission.validate(dual_lab, [service("web", clusterIP="fd00:99::1")], ["s.yaml"])
    assert problems == [
        's.yaml: Service default/web: spec.clusterIP: Invalid value: "fd00:99::1": provided IP is not in the valid range. '
        "The range of valid IPs is fd00:10:96::/112"
    ]


# --- pods ---------------------------------------------------------------------------------------------


def test_a_pod_gets_the_same_host_number_in_both_families():
    subnets = (IPv4Network("10.244.1.0/24"), IPv6Network("fd00:10:244:1::/64"))
    assert ipam.allocate_pod_ips(subnets, set(), IPv4Address("10.244.1.4")) == (
        IPv4Address("10.244.1.5"),
        IPv6Address("fd00:10:244:1::5"),
    )
    taken = {IPv6Address("fd00:10:244:1::5")}
    assert ipam.allocate_pod_ips(subnets, taken, IPv4Address("10.244.1.4"))[1] == IPv6Address("fd00:10:244:1::2")


def test_the_hosts_file_names_the_pod_in_both_families():
    text = podfiles.hosts_file(["10.244.1.5", "fd00:10:244:1::5"], "web", None, "default", "cluster.local")
    assert text.endswith("10.244.1.5\tweb\nfd00:10:244:1::5\tweb\n")


# --- DNS ----------------------------------------------------------------------------------------------


def ask(zone: Zone, name: str, rdtype: str) -> set[str]:
    response = zone.answer(dns.message.make_query(name, rdtype))
    return {r.to_text() for rrset in response.answer for r in rrset}


def test_dns_answers_aaaa_and_ip6_arpa_for_dual_stack_services_and_pods():
    records = Records(
        domain="cluster.local",
        namespaces=("default",),
        services=(
            ServiceRecord("default", "web", "ClusterIP", "10.96.0.20", None, (PortRecord("http", 80, "TCP"),), (),
                          cluster_ips=("10.96.0.20", "fd00:10:96::20")),
            ServiceRecord("default", "db", "ClusterIP", None, None, (PortRecord("pg", 5432, "TCP"),),
                          (EndpointRecord("10.244.1.3", True, pod="db-0"), EndpointRecord("fd00:10:244:1::3", True, pod="db-0"))),
        ),
        pods=(PodRecord("default", "db-0", "10.244.1.3", "db-0", ips=("10.244.1.3", "fd00:10:244:1::3")),),
    )
    zone = Zone.from_records(records)
    assert ask(zone, "web.default.svc.cluster.local.", "A") == {"10.96.0.20"}
    assert ask(zone, "web.default.svc.cluster.local.", "AAAA") == {"fd00:10:96::20"}
    assert ask(zone, "db.default.svc.cluster.local.", "AAAA") == {"fd00:10:244:1::3"}
    assert ask(zone, "fd00-10-244-1--3.default.pod.cluster.local.", "AAAA") == {"fd00:10:244:1::3"}
    reverse = dns.reversename.from_address("fd00:10:96::20").to_text()
    assert ask(zone, reverse, "PTR") == {"web.default.svc.cluster.local."}
    assert Records.from_json(records.to_json()) == records


def test_a_dual_stack_service_has_an_endpointslice_per_family(dual_lab):
    from netlab.controllers.endpoints import Backend, PortEndpoints, ServiceEndpoints
    from netlab.lab.lifecycle import _store_system_objects
    from netlab.views.endpointslices import slices_of

    _store_system_objects(dual_lab)
    registry.apply(dual_lab, [service("web", ipFamilyPolicy="PreferDualStack")])
    obj = dual_lab.store.get("Service", "default", "web")

    def ports(ip: str):
        return (PortEndpoints("", "TCP", 80, (Backend(ip, 80, "node-a", "default/p", True, None),)),)

    se = ServiceEndpoints(obj, Service.model_validate(obj.manifest), "10.96.0.20", ports("10.244.1.5"), 4,
                          {6: ("fd00:10:96::20", ports("fd00:10:244:1::5"))})
    docs = [doc for family in se.families for doc in slices_of(se.for_family(family))]
    assert [(d["addressType"], d["endpoints"][0]["addresses"]) for d in docs] == [
        ("IPv4", ["10.244.1.5"]),
        ("IPv6", ["fd00:10:244:1::5"]),
    ]
    assert docs[0]["metadata"]["name"] != docs[1]["metadata"]["name"]
