"""MetalLB in a dual-stack lab, without root: a LoadBalancer Service gets one address per family
of its ipFamilies (primary first) from the pool's range of that family, and each address is
elected on its own."""

from __future__ import annotations

import pytest

from netlab.api.addressing import from_config
from netlab.api.cluster import default_cluster
from netlab.api.models import Service
from netlab.apiserver.state import Lab
from netlab.apiserver.store import Store
from netlab.metallb import controller as metallb


@pytest.fixture
def lab(tmp_path):
    config = default_cluster("unit", ip_family="dual")
    store = Store(str(tmp_path / "state.db"))
    yield Lab(config, from_config(config), store, str(tmp_path))
    store.close()


def store_lb(lab: Lab, name: str, families: list[str], **spec) -> None:
    body = {"type": "LoadBalancer", "selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    service = Service.model_validate({"metadata": {"name": name, "namespace": "default"}, "spec": body})
    with lab.store.transaction():
        lab.store.put("Service", "default", name, service.to_dict())
        lab.store.set_status("Service", "default", name, {"ipFamilies": families})


def ingress(lab: Lab) -> dict[str, list[str]]:
    return {o.name: metallb.ingress_ips(o.status) for o in lab.store.list("Service")}


def test_a_dual_stack_service_gets_an_address_of_each_family_primary_first(lab):
    assert lab.config.load_balancer_range_for(6) is not None
    store_lb(lab, "both", ["IPv4", "IPv6"])
    store_lb(lab, "six-first", ["IPv6", "IPv4"])
    store_lb(lab, "six", ["IPv6"])
    store_lb(lab, "four", ["IPv4"])
    metallb.allocate(lab)
    assert ingress(lab) == {
        "both": ["172.31.255.200", "fd00:172:31:255::200"],
        "six-first": ["fd00:172:31:255::201", "172.31.255.201"],
        "six": ["fd00:172:31:255::202"],
        "four": ["172.31.255.202"],
    }
    before = ingress(lab)
    metallb.allocate(lab)  # level-triggered: nothing moves
    assert ingress(lab) == before


def test_a_requested_address_serves_its_own_family_and_the_other_is_allocated(lab):
    store_lb(lab, "asks", ["IPv4", "IPv6"], loadBalancerIP="fd00:172:31:255::240")
    metallb.allocate(lab)
    assert ingress(lab) == {"asks": ["172.31.255.200", "fd00:172:31:255::240"]}


def test_a_pool_without_an_ipv6_range_gives_a_dual_stack_service_its_ipv4_address_only(tmp_path):
    config = default_cluster("unit", ip_family="dual").model_copy(update={"loadBalancerPool": "172.31.255.200-172.31.255.201"})
    store = Store(str(tmp_path / "state.db"))
    lab = Lab(config, from_config(config), store, str(tmp_path))
    try:
        store_lb(lab, "both", ["IPv4", "IPv6"])
        metallb.allocate(lab)
        assert ingress(lab) == {"both": ["172.31.255.200"]}
    finally:
        store.close()
