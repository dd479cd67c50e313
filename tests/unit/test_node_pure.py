"""Pure pieces of the node side: derived names, pod files, the addressing plan, pod status."""

from ipaddress import IPv4Address, IPv4Network

from netlab import naming
from netlab.api.cluster import default_cluster
from netlab.kubelet import podfiles
from netlab.kubelet.status import _phase
from netlab.views.objects import age
from netlab.api.addressing import from_config


def test_kernel_names_carry_the_cluster_and_fit_ifnamsiz():
    assert naming.pod_netns("lab", "default", "pod-a") == "lab.default.pod-a"
    assert naming.node_netns("lab", "node-a") == "lab.node-a"
    assert naming.host_link("netlab") == "netlab0"
    veth = naming.pod_veth("lab", "default", "pod-a", "uid-1")
    assert veth.startswith("veth") and len(veth) == 15
    assert veth != naming.pod_veth("lab", "default", "pod-a", "uid-2")  # re-created pod, new veth
    assert naming.fabric_port("node-a") == "u-node-a"
    long = naming.fabric_port("a-very-long-node-name")
    assert len(long) == 15 and long.startswith("u-")


def test_markers_round_trip_and_foreign_aliases_are_not_ours():
    marker = naming.netns_marker("lab", "pod:default/a:123")
    assert naming.parse_netns_marker(marker) == ("lab", "pod:default/a:123")
    assert naming.parse_netns_marker("docker") is None
    assert naming.parse_netns_marker(None) is None


def test_resolv_conf_is_kubelets_cluster_first():
    text = podfiles.resolv_conf("shop", "cluster.local", "10.96.0.10")
    assert text == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\n"
        "options ndots:5\n"
    )


def test_hosts_file_names_the_pod_and_its_subdomain_fqdn():
    plain = podfiles.hosts_file("10.244.1.2", "pod-a", None, "default", "cluster.local")
    assert plain.splitlines()[1] == "127.0.0.1\tlocalhost"
    assert plain.splitlines()[-1] == "10.244.1.2\tpod-a"
    sub = podfiles.hosts_file("10.244.1.2", "web-0", "web", "default", "cluster.local")
    assert sub.splitlines()[-1] == "10.244.1.2\tweb-0.web.default.svc.cluster.local\tweb-0"


def test_topology_follows_flannel_numbering():
    topo = from_config(default_cluster("lab", 3))
    assert [n.name for n in topo.nodes] == ["node-a", "node-b", "node-c"]
    assert [str(n.subnet) for n in topo.nodes] == ["10.244.1.0/24", "10.244.2.0/24", "10.244.3.0/24"]
    assert [str(n.underlay_ip) for n in topo.nodes] == ["172.31.255.11", "172.31.255.12", "172.31.255.13"]
    assert topo.nodes[0].gateway == IPv4Address("10.244.1.1")
    assert str(topo.host_interface) == "172.31.255.1/24"
    assert topo.dns_ip == IPv4Address("10.96.0.10")
    assert topo.node_for_ip(IPv4Address("10.244.2.7")).name == "node-b"
    assert IPv4Network("10.96.0.0/12") in topo.lab_ranges


def _status(**state):
    return {"state": state}


def test_pod_phase_and_status_column_like_kubectl():
    running = _status(running={})
    done = _status(terminated={"exitCode": 0})
    failed = _status(terminated={"exitCode": 1})
    waiting = _status(waiting={"reason": "RunContainerError"})
    assert _phase("Always", [running]) == ("Running", "Running")
    assert _phase("Never", [done]) == ("Succeeded", "Completed")
    assert _phase("Never", [failed]) == ("Failed", "Error")
    assert _phase("OnFailure", [done]) == ("Succeeded", "Completed")
    assert _phase("Always", [waiting]) == ("Pending", "RunContainerError")
    assert _phase("Always", [running, failed]) == ("Running", "NotReady")


def test_age_is_kubectls_short_form():
    assert age(0, 45) == "45s"
    assert age(0, 600) == "10m"
    assert age(0, 3 * 3600) == "3h"
    assert age(0, 5 * 86400) == "5d"
