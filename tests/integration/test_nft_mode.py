"""kube-proxy's nftables mode, side by side with iptables: what only this mode does.

The stories every mode shares (Services, DNS, NetworkPolicy, node failure, Service types) run
in both modes from their own modules; here: two labs with the same Service, one per mode, and
the table `ip kube-proxy` itself — its content, NodePorts only on the node's primary address,
an update that rewrites only what changed, and a full resync after someone else altered it.
Every golden case is also loaded by the real `nft -f` in a throwaway namespace.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from cases.proxy_nft import GOLDEN_CASES
from cases.proxy_v6 import NFT_CASES as NFT_V6_CASES
import yaml

from conftest import cluster_document, create_lab, delete_lab, host_link_names, netns_names, new_cluster_name, nl, wait_until
from netlab import naming
from netlab.proxy.nftables import full_script, render_nft

pytestmark = pytest.mark.root

WEB = """
apiVersion: v1
kind: Pod
metadata: {name: web-a, labels: {app: web}}
spec:
  nodeName: node-a
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: web-b, labels: {app: web}}
spec:
  nodeName: node-b
  containers: [{name: web, image: nginx, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  nodeName: node-a
  containers: [{name: client, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: 30080}]
---
apiVersion: v1
kind: Service
metadata: {name: other}
spec:
  selector: {app: other}
  ports: [{port: 80, targetPort: 8080}]
"""

OTHER = """
apiVersion: v1
kind: Pod
metadata: {{name: {name}, labels: {{app: other}}}}
spec:
  nodeName: node-b
  containers: [{{name: web, image: nginx, ports: [{{containerPort: 8080}}]}}]
"""


@pytest.fixture(scope="module")
def labs(tmp_path_factory):
    """The same Services in two labs, one per kube-proxy mode."""
    made = {}
    try:
        for mode in ("iptables", "nftables"):
            made[mode] = create_lab(tmp_path_factory.mktemp(mode), kube_proxy_mode=mode)
            made[mode].apply(WEB)
            made[mode].wait_running("web-a", "web-b", "client")
        yield made
    finally:
        for lab in made.values():
            delete_lab(lab)


@pytest.fixture(scope="module")
def nft_lab(labs):
    return labs["nftables"]


def table(lab, node: str = "node-a", *args: str) -> str:
    return lab.in_netns(lab.node_netns(node), "nft", *args, "list", "table", "ip", "kube-proxy").stdout


def node_ip(lab, node: str) -> str:
    return str(lab.ranges.underlay.network_address + 11 + "ab".index(node[-1]))


def gateway(lab, node: str) -> str:
    return str(lab.ranges.pod.network_address + 256 * (1 + "ab".index(node[-1])) + 1)


def curl(lab, url: str) -> subprocess.CompletedProcess:
    return lab.exec("client", "curl", "-s", "-m", "2", url, check=False)


def pod(lab, url: str) -> str:
    """The pod that answered (the built-in web server says `pod=NAME …`), or "" for no answer."""
    found = re.match(r"pod=(\S+)", curl(lab, url).stdout)
    return found.group(1) if found else ""


def test_the_same_service_answers_in_both_labs_from_two_different_rule_sets(labs):
    for mode, lab in labs.items():
        assert pod(lab, f"http://{lab.cluster_ip('web')}/") in {"web-a", "web-b"}, mode
    ipt, nft = labs["iptables"], labs["nftables"]
    assert "KUBE-SERVICES" in ipt.proxy_rules("node-a")
    assert ipt.in_netns(ipt.node_netns("node-a"), "nft", "list", "table", "ip", "kube-proxy", check=False).returncode != 0
    # nftables mode: no kube-proxy rule in iptables, the NetworkPolicy agent's filter table only.
    assert "KUBE-" not in nft.in_netns(nft.node_netns("node-a"), "iptables-save").stdout
    assert "nftables mode" in nft.nl("describe", "node", "node-a").stdout


def test_the_table_holds_upstreams_sets_maps_and_chains(nft_lab):
    listed = table(nft_lab)
    for name in ("cluster-ips", "nodeport-ips"):
        assert f"\tset {name} {{" in listed
    for name in ("service-ips", "service-nodeports", "no-endpoint-services", "no-endpoint-nodeports", "firewall-ips"):
        assert f"\tmap {name} {{" in listed
    for chain in ("filter-prerouting", "filter-forward", "nat-prerouting", "nat-output", "nat-postrouting", "services",
                  "masquerading", "mark-for-masquerade", "reject-chain", "cluster-ips-check"):  # fmt: skip
        assert f"\tchain {chain} {{" in listed
    ip = nft_lab.cluster_ip("web")
    assert re.search(rf"{ip} \. tcp \. 80 : goto service-\w{{8}}-default/web/tcp/", listed)
    assert re.search(r"numgen random mod 2 vmap \{ 0 : goto endpoint-\w{8}-default/web/tcp/__", listed)
    assert re.search(r"meta l4proto tcp dnat to [\d.]+:8080", listed)
    # "other" has no endpoints: rejected through the no-endpoint map, refused at once.
    other = nft_lab.cluster_ip("other")
    assert f'{other} . tcp . 80 comment "default/other" : goto reject-chain' in listed
    assert curl(nft_lab, f"http://{other}/").returncode == 7  # connection refused


def test_nodeports_answer_only_on_the_nodes_primary_address_unlike_iptables_mode(labs):
    for mode, lab in labs.items():
        assert pod(lab, f"http://{node_ip(lab, 'node-b')}:30080/") in {"web-a", "web-b"}, mode
    # The node's cni0 address is local too: iptables mode (addrtype LOCAL) answers there, nftables
    # mode (nodeport-ips = the primary address) does not, and the SYN meets a closed port.
    ipt, nft = labs["iptables"], labs["nftables"]
    assert pod(ipt, f"http://{gateway(ipt, 'node-a')}:30080/") in {"web-a", "web-b"}
    assert curl(nft, f"http://{gateway(nft, 'node-a')}:30080/").returncode == 7
    assert f"elements = {{ {node_ip(nft, 'node-a')} }}" in table(nft)


def test_an_endpoint_change_rewrites_only_that_services_chains(nft_lab):
    def web_chain_handles() -> list[str]:
        listed = table(nft_lab, "node-a", "-a")
        chain = re.search(r"chain service-\w{8}-default/web/tcp/ \{.*?\n\t\}", listed, re.S).group(0)
        return re.findall(r"# handle (\d+)", chain)

    before = web_chain_handles()
    nft_lab.apply(OTHER.format(name="other-1"))
    nft_lab.wait_running("other-1")
    wait_until(lambda: pod(nft_lab, f"http://{nft_lab.cluster_ip('other')}/") == "other-1", 10, what="other answers")
    # web's chain was not touched (its rules keep their handles); other's went in as a partial sync.
    assert web_chain_handles() == before
    events = nft_lab.nl("events").stdout
    assert re.search(r"RulesSynced .*node/node-a .*nft -f \(partial, table ip kube-proxy\)", events), events
    nft_lab.nl("delete", "pod", "other-1")


@pytest.mark.parametrize("tamper", ["flush chain ip kube-proxy services", "delete table ip kube-proxy"])
def test_a_table_altered_from_outside_is_loaded_whole_again(nft_lab, tamper):
    def whole_loads() -> int:
        return len(re.findall(r"node/node-a .*nft -f \(whole table", nft_lab.nl("events").stdout))

    loads = whole_loads()
    nft_lab.in_netns(nft_lab.node_netns("node-a"), "nft", tamper)
    url = f"http://{nft_lab.cluster_ip('web')}/"
    assert pod(nft_lab, url) == ""  # the Service is broken on node-a
    nft_lab.apply(OTHER.format(name="nudge"))  # any change wakes kube-proxy
    nft_lab.wait_running("nudge")
    assert wait_until(lambda: pod(nft_lab, url) in {"web-a", "web-b"}, 10, what="the Service is back")
    assert whole_loads() > loads
    nft_lab.nl("delete", "pod", "nudge")


@pytest.mark.parametrize(("family", "case"), [(4, c) for c in sorted(GOLDEN_CASES)] + [(6, c) for c in sorted(NFT_V6_CASES)])
def test_real_nft_accepts_every_golden_table(family, case):
    ports, config = (GOLDEN_CASES if family == 4 else NFT_V6_CASES)[case]
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", f"nft -f - && nft list table {'ip6' if family == 6 else 'ip'} kube-proxy"],
        input=full_script(render_nft(ports, config)), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "chain services {" in done.stdout


def test_trace_walks_the_nft_table_and_probe_confirms_the_endpoint(nft_lab):
    import json

    result = json.loads(nft_lab.nl("trace", "client", "web:80", "--probe", "-o", "json").stdout)
    assert result["verdict"] == "delivered", result["reason"]
    netfilter = [s for s in result["steps"] if s["kind"] == "netfilter"]
    dnat = next(s for s in netfilter if s["data"]["verdict"] == "DNAT")
    assert dnat["object"].startswith("nft ip kube-proxy nat-prerouting → services → service-")
    assert any("vmap @service-ips" in d for d in dnat["details"])
    assert result["endpoint"] in {f"{nft_lab.pod_ip(p)}:8080" for p in ("web-a", "web-b")}
    assert any(s["kind"] == "probe" and "conntrack: endpoint" in s["decision"] for s in result["steps"])


@pytest.mark.parametrize("mode, message", [
    ("ipvs", "the ipvs mode is deprecated upstream (Kubernetes 1.35) and this kernel may lack ip_vs; use nftables"),
    ("nftable", 'Unsupported value: "nftable": supported values: "iptables", "nftables"'),
])  # fmt: skip
def test_a_bad_kube_proxy_mode_is_refused_and_nothing_is_created(tmp_path, free_ranges, mode, message):
    name = new_cluster_name()
    result = nl("cluster", "create", "--name", name, "--kube-proxy-mode", mode, check=False)
    assert result.returncode == 3 and message in result.stderr and "spec.kubeProxyMode" in result.stderr
    config = tmp_path / "cluster.yaml"
    config.write_text(yaml.safe_dump(cluster_document(name, free_ranges, kube_proxy_mode=mode)))
    result = nl("cluster", "create", "--config", str(config), check=False)
    assert result.returncode == 3 and message in result.stderr and str(config) in result.stderr
    # Nothing of it exists (its ranges are not checked: another lab may take them meanwhile).
    assert not [n for n in netns_names() if n.startswith(name + ".")]
    assert not os.path.exists(naming.cluster_dir(name)) and f"{name}0" not in host_link_names()
