"""kube-proxy's partial sync: only changed chains are re-sent, and the result equals a full load."""

from netlab.proxy import Endpoint, ServicePortInfo, render_rules
from netlab.proxy.partial import parse, plan_sync

from cases.proxy_partial import CONFIG, service_ports


def test_first_sync_and_unknown_state_send_everything():
    payload = render_rules(service_ports(3), CONFIG)
    plan, chains = plan_sync(payload, None)
    assert plan.full and plan.payload == payload
    assert "KUBE-SERVICES" in chains["nat"]


def test_nothing_changed_sends_nothing():
    payload = render_rules(service_ports(3), CONFIG)
    _, chains = plan_sync(payload, None)
    plan, _ = plan_sync(payload, chains)
    assert plan.payload is None


def test_one_endpoint_change_sends_only_its_chains():
    before = render_rules(service_ports(50), CONFIG)
    _, chains = plan_sync(before, None)
    ports = service_ports(50)
    ports[7] = ServicePortInfo("default", "svc7", "", "TCP", "10.96.1.8", 80, (Endpoint("10.244.1.200", 8080, "node-a"),))
    plan, _ = plan_sync(render_rules(ports, CONFIG), chains)
    assert not plan.full
    declared = [line for line in plan.payload.splitlines() if line.startswith(":")]
    # The Service's own KUBE-SVC chain, the old endpoints' KUBE-SEP chains (deleted) and the new one.
    assert 1 <= len(declared) <= 5, declared
    assert any(line.startswith("-X KUBE-SEP-") for line in plan.payload.splitlines())
    assert "-A KUBE-SVC-" in plan.payload and "svc3" not in plan.payload


def test_parse_keeps_chain_order_and_rules():
    tables = parse(render_rules(service_ports(1), CONFIG))
    assert set(tables) == {"filter", "nat"}
    assert tables["nat"]["KUBE-SERVICES"][0].startswith("-A KUBE-SERVICES ")
