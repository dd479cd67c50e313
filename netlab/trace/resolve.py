"""From what the user typed as DST to an address and port, as the pod would resolve it (pure).

A name is looked up the way the pod's own resolver would: its `/etc/resolv.conf` search list and
`ndots`, each candidate asked of netlab's cluster DNS answers (`netlab.dns.resolver.Zone`) over
the records file the DNS server is serving right now. So the trace names the server (the
`nameserver` line: kube-dns's cluster IP) and the record that answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import ip_address

import dns.message
import dns.rcode
import dns.rdatatype

from netlab.dns.records import Records
from netlab.dns.resolver import Zone
from netlab.errors import InvalidInput
from netlab.trace.model import Step


@dataclass(frozen=True)
class ResolvConf:
    nameserver: str
    search: tuple[str, ...]
    ndots: int = 1

    @classmethod
    def parse(cls, text: str) -> "ResolvConf":
        nameserver, search, ndots = "", (), 1
        for line in text.splitlines():
            words = line.split()
            if not words:
                continue
            if words[0] == "nameserver" and not nameserver and len(words) > 1:
                nameserver = words[1]
            elif words[0] == "search":
                search = tuple(words[1:])
            elif words[0] == "options":
                for opt in words[1:]:
                    if opt.startswith("ndots:"):
                        ndots = int(opt.split(":", 1)[1])
        return cls(nameserver, search, ndots)

    def candidates(self, name: str) -> list[str]:
        """The names the resolver tries, in order (glibc: search first when dots < ndots)."""
        if name.endswith("."):
            return [name]
        searched = [f"{name}.{suffix}." for suffix in self.search]
        absolute = [name + "."]
        return searched + absolute if name.count(".") < self.ndots else absolute + searched


@dataclass(frozen=True)
class Answer:
    name: str  # the name that answered, absolute
    address: str
    record: str  # "web.default.svc.cluster.local. 5 IN A 10.96.0.20"
    tried: tuple[tuple[str, str], ...]  # (name, rcode) for every candidate asked before


def split_port(text: str) -> tuple[str, int | None]:
    """`name:port`, `10.96.0.20:80`, `[fd00:10:96::20]:80`, or any of them without the port
    (a bare IPv6 address has no port: its colons are the address's)."""
    bare = text.removeprefix("[").removesuffix("]")
    if is_ip(bare):
        return bare, None
    if text.startswith("[") and "]:" in text:
        host, sep, port = text[1:].partition("]:")
    else:
        host, sep, port = text.rpartition(":")
    if not sep:
        return text, None
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise InvalidInput(f"{text}: the port after ':' must be a number in 1..65535")
    return host, int(port)


def is_ip(text: str) -> bool:
    try:
        ip_address(text)
        return True
    except ValueError:
        return False


def lookup(name: str, conf: ResolvConf, zone: Zone, families: tuple[int, ...] = (4,)) -> Answer | None:
    """The first A (AAAA for family 6) answer over the search list, asking for the families in
    order (the lab's primary first); None when every candidate fails."""
    tried = []
    for candidate in conf.candidates(name):
        for family in families:
            rdtype = dns.rdatatype.AAAA if family == 6 else dns.rdatatype.A
            response = zone.answer(dns.message.make_query(candidate, rdtype))
            rcode = dns.rcode.to_text(response.rcode())
            a_sets = [rrset for rrset in response.answer if rrset.rdtype == rdtype]
            if response.rcode() == dns.rcode.NOERROR and a_sets:
                rrset = a_sets[-1]
                first = next(iter(rrset))
                record = f"{rrset.name} {rrset.ttl} IN {dns.rdatatype.to_text(rdtype)} {first.address}"
                return Answer(candidate, first.address, record, tuple(tried))
            tried.append((candidate, rcode if rcode != "NOERROR" else "NODATA"))
    return None


def dns_step(
    name: str, conf: ResolvConf, records: Records, where: str, server: str, families: tuple[int, ...] = (4,)
) -> tuple[Step, str]:
    """The DNS step and the address; InvalidInput when the name does not resolve."""
    answer = lookup(name, conf, Zone.from_records(records), families)
    if answer is None:
        kinds = "/".join("AAAA" if f == 6 else "A" for f in families)
        raise InvalidInput(f"{name}: no pod of that name, and the cluster DNS has no {kinds} record for it (tried {', '.join(conf.candidates(name))})")
    details = tuple(f"{n} → {rcode}" for n, rcode in answer.tried) + (f"{answer.name} → {answer.record}",)
    step = Step(
        "dns", where, f"nameserver {conf.nameserver} ({server})",
        f"{name} → {answer.address}", details,
        {"server": conf.nameserver, "service": server, "name": answer.name, "record": answer.record, "address": answer.address},
    )  # fmt: skip
    return step, answer.address


def service_port(records: Records, address: str, protocol: str) -> int | None:
    """The first port of the Service whose cluster IP is `address` (when DST has no :PORT)."""
    for service in records.services:
        if service.cluster_ip == address:
            ports = [p.port for p in service.ports if p.protocol.lower() == protocol] or [p.port for p in service.ports]
            return ports[0] if ports else None
    return None
