"""MetalLB in a dual-stack lab: a LoadBalancer Service gets one address per family it has, from
each family's range of the pool, and an IPv6 takeover is told with an unsolicited neighbour
advertisement (IPv6's gratuitous ARP)."""

from __future__ import annotations

from ipaddress import IPv6Address

import pytest

from netlab.api.addressing import from_config
from netlab.api.cluster import default_cluster
from netlab.api.models import Service
from netlab.apiserver.state import Lab
from netlab.apiserver.store import Store
from netlab.kernel import ndp
from netlab.metallb import controller as metallb


@pytest.fixture
def lab(tmp_path):
    config = default_cluster("unit", ip_family="dual")
    store = Store(str(tmp_path / "state.db"))
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def store_lb(lab: Lab, name: str, families: list[str], **spec) -> None:
    body = {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    svc = Service.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": body})
    with lab.store.transaction():
        lab.store.put("Service", "default", name, svc.to_dict())
        lab.store.set_status("Service", "default", name, {"ipFamilies": families})


def ips(lab: Lab) -> dict[str, list[str]]:
    return {o.name: metallb.ingress_ips(o.status) for o in lab.store.list("Service")}


def test_each_family_of_the_service_gets_an_address_from_its_own_pool(lab):
    store_lb(lab, "dual", ["IPv4", "IPv6"])
    store_lb(lab, "v6", ["IPv6"])
    store_lb(lab, "v4", ["IPv4"])
    metallb.allocate(lab)
    assert ips(lab) == {
        "dual": ["172.31.255.200", "fd00:172:31:255::200"],
        "v6": ["fd00:172:31:255::201"],
        "v4": ["172.31.255.201"],
    }
    metallb.allocate(lab)  # level-triggered: nothing moves
    assert ips(lab)["dual"] == ["172.31.255.200", "fd00:172:31:255::200"]


def test_the_unsolicited_advertisement_overrides_with_the_nodes_mac():
    message = ndp.advertisement("02:00:00:00:00:0b", IPv6Address("fd00:172:31:255::200"))
    assert message[0] == 136 and message[4] & 0x20  # Neighbor Advertisement, Override
    assert message[8:24] == IPv6Address("fd00:172:31:255::200").packed
    assert message[24:] == bytes([2, 1, 2, 0, 0, 0, 0, 0x0B])  # target link-layer address option
