"""Which UDP conntrack flows are stale after a sync (pure): kube-proxy's CleanStaleEntries.

TCP needs nothing: a connection to a gone endpoint fails and the client reconnects. UDP has no
connection, so a client that keeps its source port keeps matching the flow conntrack created
for its first packet — DNATed to an endpoint that may be gone — until the flow times out.
kube-proxy therefore deletes, after each sync:

- for every endpoint a UDP service port lost: the flows to the service's addresses (cluster
  IP, external IPs, load-balancer IPs) and to its NodePort that were DNATed to that endpoint
  (upstream ClearEntriesForNAT / ClearEntriesForPortNAT);
- for every UDP service port that had no endpoints and now has some: the flows to its
  addresses and NodePort, which were created while its packets were being rejected
  (ClearEntriesForIP / ClearEntriesForPort).

The state remembered between syncs is a JSON-able dict, kept in the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from netlab.proxy.types import ServicePortInfo

UdpState = dict[str, dict[str, Any]]


def udp_state(ports: Iterable[ServicePortInfo]) -> UdpState:
    """service port name -> its addresses, port, NodePort and ready endpoint IPs (UDP only)."""
    state: UdpState = {}
    for p in ports:
        if p.protocol != "UDP" or p.headless:
            continue
        state[p.name] = {
            "addresses": [p.cluster_ip, *p.external_ips, *p.load_balancer_ips],
            "port": p.port,
            "nodePort": p.node_port,
            "endpoints": sorted({e.ip for e in p.ready_endpoints}),
        }
    return state


def stale_flow_filters(before: Mapping[str, Mapping[str, Any]], after: Mapping[str, Mapping[str, Any]]) -> list[list[str]]:
    """`conntrack -D` filter arguments, one list per deletion, in a stable order."""
    filters: list[list[str]] = []
    for name in sorted(before):
        old = before[name]
        new = after.get(name) or {}
        for ip in sorted(set(old["endpoints"]) - set(new.get("endpoints") or ())):
            for address in old["addresses"]:
                filters.append(["-p", "udp", "--orig-dst", address, "--dst-nat", ip])
            if old["nodePort"]:
                filters.append(["-p", "udp", "--orig-port-dst", str(old["nodePort"]), "--dst-nat", ip])
    for name in sorted(after):
        new = after[name]
        old = before.get(name) or {}
        if new["endpoints"] and not old.get("endpoints"):
            for address in new["addresses"]:
                filters.append(["-p", "udp", "--orig-dst", address, "--orig-port-dst", str(new["port"])])
            if new["nodePort"]:
                filters.append(["-p", "udp", "--orig-port-dst", str(new["nodePort"])])
    return filters
