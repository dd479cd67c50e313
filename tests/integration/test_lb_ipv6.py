"""MetalLB in IPv6: a dual-stack LoadBalancer Service gets an address of each family from the
pool; the elected node holds the IPv6 one as a /128 on its uplink and answers neighbour
solicitations for it, so the host learns that node's MAC and reaches the Service there; when
the node fails, the survivor takes the address and its unsolicited neighbour advertisement
switches the host's entry before the host sends anything."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from conftest import ip_json, nl, sh, wait_until

pytestmark = pytest.mark.root

MANIFEST = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx}]
---
apiVersion: v1
kind: Service
metadata: {name: web-lb6}
spec:
  type: LoadBalancer
  ipFamilyPolicy: PreferDualStack
  selector: {app: web}
  ports: [{port: 80}]
"""


def host_get(url: str) -> str:
    result = sh("curl", "-6", "-g", "-sS", "-m", "2", url, check=False)
    return result.stdout if result.returncode == 0 else ""


def holders(lab, ip: str) -> list[str]:
    """The nodes whose eth0 carries `ip` (as a /128, usable at once: no DAD, not tentative)."""
    found = []
    for node in ("node-a", "node-b"):
        if lab.node_netns(node) not in lab.netns():
            continue
        (eth0,) = lab.ip_json("-6", "addr", "show", "dev", "eth0", netns=lab.node_netns(node))
        mine = [a for a in eth0["addr_info"] if a["local"] == ip]
        assert all(a["prefixlen"] == 128 and not a.get("tentative") for a in mine), mine
        found += [node] * len(mine)
    return found


def node_mac(lab, node: str) -> str:
    return lab.ip_json("link", "show", "eth0", netns=lab.node_netns(node))[0]["address"]


def host_neighbour(lab, ip: str) -> str | None:
    """The MAC the host's neighbour table has for `ip` on its veth into the lab."""
    entries = ip_json("-6", "neigh", "show", ip, "dev", f"{lab.name}0")
    return entries[0].get("lladdr") if entries else None


def test_an_ipv6_lb_address_is_held_by_one_node_and_moves_with_a_neighbour_advertisement(dual_lab):
    lab = dual_lab
    lab.apply(MANIFEST, "lb6")
    lab.wait_running(*[p["metadata"]["name"] for p in lab.get_json("pods", "-l", "app=web")["items"]])
    ingress = [i["ip"] for i in lab.get_json("svc", "web-lb6")["status"]["loadBalancer"]["ingress"]]
    assert len(ingress) == 2 and ":" not in ingress[0], ingress  # IPv4 primary, then IPv6
    lb6 = ingress[1]
    assert IPv6Address(lb6) == lab.ranges.underlay6.network_address + 0x200  # the pool's first
    (owner,) = holders(lab, lb6)

    # The host asks (neighbour solicitation), the owner answers with its own MAC, and the
    # Service answers at the address (kube-proxy's rules in ip6tables).
    url = f"http://[{lb6}]/"  # only ever this lab's underlay
    assert "pod=web-" in wait_until(lambda: host_get(url), 10, what="the IPv6 LB address answering the host")
    assert host_neighbour(lab, lb6) == node_mac(lab, owner)

    nl("node", "fail", "--cluster", lab.name, owner)
    try:
        survivor = "node-b" if owner == "node-a" else "node-a"
        assert holders(lab, lb6) == [survivor]
        # No new traffic from the host: only the survivor's unsolicited advertisement can
        # have switched the entry.
        wait_until(lambda: host_neighbour(lab, lb6) == node_mac(lab, survivor), 5, what="the host's entry switched by the NA")
        assert f"node={survivor}" in wait_until(lambda: host_get(url), 10, what="the IPv6 LB address answering after the fail")
    finally:
        nl("node", "recover", "--cluster", lab.name, owner)
