"""The `kind: Cluster` config: defaults, the address plan it implies, and its validation."""

from __future__ import annotations

import textwrap
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from netlab.api import ClusterConfig, cluster_from_document, default_cluster, load_cluster_config
from netlab.errors import InvalidInput, NotFound

DATA = Path(__file__).parent / "data" / "api"


def cluster_problems(spec: dict, name: str = "lab") -> list[str]:
    document = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": name}, "spec": spec}
    with pytest.raises(InvalidInput) as info:
        cluster_from_document(document, "c.yaml")
    return info.value.problems


def test_the_default_cluster_follows_kubeadm_and_flannel_conventions():
    cluster = default_cluster()
    assert cluster.name == "netlab"
    assert cluster.node_names == ("node-a", "node-b")
    assert cluster.node_subnets() == {
        "node-a": IPv4Network("10.244.1.0/24"),
        "node-b": IPv4Network("10.244.2.0/24"),
    }
    assert cluster.serviceCIDR == (IPv4Network("10.96.0.0/12"),)
    assert cluster.clusterDNS == IPv4Address("10.96.0.10")
    assert cluster.host_underlay_ip == IPv4Address("172.31.255.1")
    assert cluster.node_underlay_ip("node-a") == IPv4Address("172.31.255.11")
    assert cluster.node_underlay_ip("node-b") == IPv4Address("172.31.255.12")
    assert cluster.domain == "cluster.local"
    assert cluster.routing == "host-gw"
    assert cluster.node_port_range == range(30000, 32768)


def test_node_names_run_from_node_a_to_node_z_then_numbers():
    names = default_cluster(nodes=28).node_names
    assert names[:3] == ("node-a", "node-b", "node-c")
    assert names[25:] == ("node-z", "node-27", "node-28")


def test_a_config_file_overrides_the_defaults():
    cluster = load_cluster_config(str(DATA / "cluster.yaml"))
    assert cluster.name == "lab1"
    assert cluster.node_names == ("node-a", "node-b", "node-c")
    assert cluster.node_pod_cidr(2) == IPv4Network("10.100.3.0/24")
    assert cluster.clusterDNS == IPv4Address("10.101.0.10")  # follows the service range
    assert cluster.node_underlay_ip("node-c") == IPv4Address("172.30.1.13")
    assert cluster.node_labels("node-a") == {
        "kubernetes.io/hostname": "node-a",
        "kubernetes.io/os": "linux",
        "zone": "a",
    }


def test_the_document_form_round_trips():
    cluster = load_cluster_config(str(DATA / "cluster.yaml"))
    assert cluster_from_document(cluster.to_document()) == cluster


def test_an_unknown_node_is_not_found():
    with pytest.raises(NotFound, match='node "node-x"'):
        default_cluster().node_underlay_ip("node-x")


def test_overlapping_ranges():
    assert cluster_problems({"serviceCIDR": "10.244.0.0/16", "clusterDNS": "10.244.0.10"}) == [
        'c.yaml: Cluster lab: spec.serviceCIDR: Invalid value: "10.244.0.0/16": overlaps spec.podCIDR 10.244.0.0/16',
    ]


def test_too_many_nodes_for_the_pod_range():
    nodes = [{"name": f"n{i}"} for i in range(4)]
    assert cluster_problems({"nodes": nodes, "podCIDR": "10.244.0.0/22"}) == [
        'c.yaml: Cluster lab: spec.podCIDR: Invalid value: "10.244.0.0/22": has room for 3 node subnets of /24, '
        "but the cluster has 4 nodes",
    ]


def test_too_many_nodes_for_the_underlay():
    # A /28 has .1-.14 for hosts: the host at .1, nodes at .11-.14.
    nodes = [{"name": f"n{i}"} for i in range(5)]
    assert cluster_problems({"nodes": nodes, "underlayCIDR": "172.31.255.0/28"}) == [
        'c.yaml: Cluster lab: spec.underlayCIDR: Invalid value: "172.31.255.0/28": has room for 4 nodes '
        "(node addresses start at 172.31.255.11), but the cluster has 5 nodes",
    ]


def test_a_bad_cluster_name():
    assert cluster_problems({}, name="much-too-long-name") == [
        'c.yaml: Cluster much-too-long-name: metadata.name: Invalid value: "much-too-long-name": '
        "must be no more than 12 characters (it prefixes the names of kernel objects)"
    ]
    [problem] = cluster_problems({}, name="Lab")
    assert problem.startswith('c.yaml: Cluster Lab: metadata.name: Invalid value: "Lab": a lowercase RFC 1123 label')


def test_bad_nodes_are_all_reported():
    found = cluster_problems({"nodes": [{"name": "fabric"}, {"name": "Node_1"}]})
    assert found[0] == (
        'c.yaml: Cluster lab: spec.nodes[0].name: Invalid value: "fabric": is reserved for the underlay switch\'s namespace'
    )
    assert found[1].startswith('c.yaml: Cluster lab: spec.nodes[1].name: Invalid value: "Node_1"')
    assert cluster_problems({"nodes": [{"name": "a"}, {"name": "a"}]}) == [
        'c.yaml: Cluster lab: spec.nodes[1].name: Duplicate value: "a"'
    ]
    assert cluster_problems({"nodes": []}) == [
        "c.yaml: Cluster lab: spec.nodes: Required value: a cluster needs at least one node"
    ]


def test_cluster_dns_must_be_inside_the_service_range():
    assert cluster_problems({"clusterDNS": "10.0.0.10"}) == [
        'c.yaml: Cluster lab: spec.clusterDNS: Invalid value: "10.0.0.10": must be a host address inside '
        "spec.serviceCIDR 10.96.0.0/12"
    ]


def test_cidr_syntax_and_host_bits():
    assert cluster_problems({"podCIDR": "10.244.0.0/33", "serviceCIDR": "10.96.0.1/12"}) == [
        'c.yaml: Cluster lab: spec.podCIDR: Invalid value: "10.244.0.0/33": must be a CIDR such as 10.244.0.0/16 or fd00:10:244::/56',
        'c.yaml: Cluster lab: spec.serviceCIDR: Invalid value: "10.96.0.1/12": has host bits set; did you mean 10.96.0.0/12?',
    ]


def test_routing_is_one_of_the_three_models():
    assert cluster_problems({"routing": "ipip"}) == [
        'c.yaml: Cluster lab: spec.routing: Unsupported value: "ipip": supported values: "host-gw", "vxlan", "bgp"'
    ]
    for mode in ("host-gw", "vxlan", "bgp"):
        assert default_cluster(routing=mode).routing == mode


def test_a_misspelt_setting_is_an_error():
    assert cluster_problems({"podCidr": "10.1.0.0/16"}) == [
        "c.yaml: Cluster lab: spec.podCidr: Unsupported field: not a setting netlab knows (check the spelling)"
    ]


def test_default_cluster_validates_too():
    with pytest.raises(InvalidInput, match="has room for 255 node subnets"):
        default_cluster(nodes=256)


def test_config_file_errors_name_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(textwrap.dedent("""\
        apiVersion: netlab.dev/v1alpha1
        kind: Cluster
        metadata: {name: lab}
        spec: {podCIDR: 10.96.0.0/16}
    """))
    with pytest.raises(InvalidInput) as info:
        load_cluster_config(str(path))
    assert info.value.problems == [
        f'{path}: Cluster lab: spec.serviceCIDR: Invalid value: "10.96.0.0/12": overlaps spec.podCIDR 10.96.0.0/16'
    ]


def test_a_config_file_must_hold_one_cluster(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n")
    with pytest.raises(InvalidInput) as info:
        load_cluster_config(str(path))
    assert info.value.problems == [
        f'{path}: Cluster p: apiVersion: Unsupported value: "v1": supported values: "netlab.dev/v1alpha1"',
        f'{path}: Cluster p: kind: Unsupported value: "Pod": supported values: "Cluster"',
    ]
    with pytest.raises(InvalidInput, match="no such file|cannot read"):
        load_cluster_config(str(tmp_path / "missing.yaml"))


def test_the_model_is_frozen():
    with pytest.raises(Exception):
        default_cluster().name = "other"  # type: ignore[misc]
    assert isinstance(default_cluster(), ClusterConfig)


def test_kube_proxy_mode_defaults_to_iptables_and_takes_nftables():
    assert default_cluster().kubeProxyMode == "iptables"
    assert default_cluster(kube_proxy_mode="nftables").kubeProxyMode == "nftables"
    document = {"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "spec": {"kubeProxyMode": "nftables"}}
    assert cluster_from_document(document).kubeProxyMode == "nftables"


def test_ipvs_is_refused_naming_nftables():
    assert cluster_problems({"kubeProxyMode": "ipvs"}) == [
        'c.yaml: Cluster lab: spec.kubeProxyMode: Unsupported value: "ipvs": the ipvs mode is deprecated '
        "upstream (Kubernetes 1.35) and this kernel may lack ip_vs; use nftables, its successor for large "
        'clusters; supported values: "iptables", "nftables"'
    ]
    assert cluster_problems({"kubeProxyMode": "userspace"}) == [
        'c.yaml: Cluster lab: spec.kubeProxyMode: Unsupported value: "userspace": supported values: '
        '"iptables", "nftables"'
    ]
