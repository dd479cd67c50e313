"""kube-proxy's partial sync: only changed chains are re-sent, and the result equals a full load."""

from netlab.proxy import Endpoint, ProxyConfig, ServicePortInfo, render_rules
from netlab.proxy.partial import parse, plan_sync

CONFIG = ProxyConfig("10.244.0.0/16")


def _ports(n: int, backends: int = 2, extra: bool = False) -> list[ServicePortInfo]:
    ports = [
        ServicePortInfo("default", f"svc{i}", "", "TCP", f"10.96.1.{i + 1}", 80,
                    tuple(Endpoint(f"10.244.{b + 1}.{i + 2}", 8080, f"node-{'ab'[b % 2]}") for b in range(backends)))
        for i in range(n)
    ]  # fmt: skip
    if extra:
        ports.append(ServicePortInfo("default", "late", "", "UDP", "10.96.2.1", 53, (Endpoint("10.244.1.99", 53, "node-a"),)))
    return ports


def test_first_sync_and_unknown_state_send_everything():
    payload = render_rules(_ports(3), CONFIG)
    plan, chains = plan_sync(payload, None)
    assert plan.full and plan.payload == payload
    assert "KUBE-SERVICES" in chains["nat"]


def test_nothing_changed_sends_nothing():
    payload = render_rules(_ports(3), CONFIG)
    _, chains = plan_sync(payload, None)
    plan, _ = plan_sync(payload, chains)
    assert plan.payload is None


def test_one_endpoint_change_sends_only_its_chains():
    before = render_rules(_ports(50), CONFIG)
    _, chains = plan_sync(before, None)
    ports = _ports(50)
    ports[7] = ServicePortInfo("default", "svc7", "", "TCP", "10.96.1.8", 80, (Endpoint("10.244.1.200", 8080, "node-a"),))
    plan, _ = plan_sync(render_rules(ports, CONFIG), chains)
    assert not plan.full
    declared = [line for line in plan.payload.splitlines() if line.startswith(":")]
    # The Service's own KUBE-SVC chain, the old endpoints' KUBE-SEP chains (deleted) and the new one.
    assert 1 <= len(declared) <= 5, declared
    assert any(line.startswith("-X KUBE-SEP-") for line in plan.payload.splitlines())
    assert "-A KUBE-SVC-" in plan.payload and "svc3" not in plan.payload


def test_parse_keeps_chain_order_and_rules():
    tables = parse(render_rules(_ports(1), CONFIG))
    assert set(tables) == {"filter", "nat"}
    assert tables["nat"]["KUBE-SERVICES"][0].startswith("-A KUBE-SERVICES ")
