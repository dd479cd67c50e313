"""DNS answers from a Records snapshot: the Kubernetes DNS-Based Service Discovery spec, 1.0.1.

Pure: no sockets, no files. `Zone.from_records(records)` indexes every name the cluster has
once per snapshot: plain dicts keyed by the lower-cased absolute name (the spec's comparisons
are case-insensitive), holding rdata text; `zone.answer(query)` is a few dict lookups, and
dnspython builds the RRsets of that one answer. (Building dnspython RRsets for every name up
front costs ~1 ms per Service: 10 s for 10k Services; the text index costs ~20 µs.)

Behaviour follows CoreDNS's `kubernetes` plugin with its defaults (`ttl 5`, `pods verified`,
zones `<domain>` and `in-addr.arpa`):

- `<svc>.<ns>.svc.<domain>` A: the cluster IP; for a headless Service, every ready endpoint
  (spec 2.4.1: NXDOMAIN when there is none); ExternalName: a CNAME (spec 2.5).
- `<hostname>.<svc>.<ns>.svc.<domain>` A: that endpoint; the hostname is the endpoint's
  `hostname` or else its dashed IP (CoreDNS `endpointHostname`).
- `_<port>._<proto>.<svc>.<ns>.svc.<domain>` SRV for named ports (spec 2.3.2 / 2.4.2), and
  `<svc>.<ns>.svc.<domain>` SRV listing every port, as CoreDNS answers a query without port
  and protocol; the targets' A records go in the additional section.
- `<a-b-c-d>.<ns>.pod.<domain>` A when a pod of that namespace has that IP (spec 2.6).
- PTR for a cluster IP (spec 2.3.3) or an endpoint IP (spec 2.4.3; like CoreDNS, for every
  ready endpoint, named by its hostname or dashed IP).
- `dns-version.<domain>` TXT "1.0.1" (spec 2.2); the apex has SOA and NS `ns.dns.<domain>`.
- Names of the domain that do not exist: NXDOMAIN; existing names without the asked type:
  NODATA; both with the SOA in the authority section (RFC 2308).
- Anything outside `<domain>`, and reverse names of addresses the lab does not know: REFUSED.
"""

from __future__ import annotations

from dataclasses import dataclass

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.reversename
import dns.rrset

from netlab.dns.records import EndpointRecord, PodRecord, Records, ServiceRecord

SCHEMA_VERSION = "1.0.1"
TTL = 5  # CoreDNS kubernetes plugin default `ttl 5`
OUR_EDNS_PAYLOAD = 1232  # DNS flag day 2020: avoids IP fragmentation
MAX_CNAME_CHAIN = 8
DNS_SERVICE = ("kube-system", "kube-dns")  # the Service in front of the cluster DNS pod
REVERSE_ZONE = "in-addr.arpa."
# SOA timers as CoreDNS writes them (refresh, retry, expire, minimum = the ttl).
SOA_TIMERS = f"7200 1800 86400 {TTL}"

A, AAAA, CNAME, NS, PTR, SOA, SRV, TXT, ANY = (
    dns.rdatatype.A,
    dns.rdatatype.AAAA,
    dns.rdatatype.CNAME,
    dns.rdatatype.NS,
    dns.rdatatype.PTR,
    dns.rdatatype.SOA,
    dns.rdatatype.SRV,
    dns.rdatatype.TXT,
    dns.rdatatype.ANY,
)

# owner (lower-case, absolute) -> rdata type -> rdata texts
Node = dict[int, tuple[str, ...]]


@dataclass(frozen=True)
class Zone:
    """Every name netlab answers for, built once per snapshot."""

    domain: str  # "cluster.local.", lower-case
    soa: dns.rrset.RRset
    reverse_soa: dns.rrset.RRset
    nodes: dict[str, Node]  # names under `domain`, empty non-terminals included
    reverse: dict[str, tuple[str, ...]]  # "d.c.b.a.in-addr.arpa." -> PTR targets

    @classmethod
    def from_records(cls, records: Records) -> Zone:
        return _ZoneBuilder(records).build()

    def answer(self, query: dns.message.Message) -> dns.message.Message:
        """The response to a query message (not a response: dnspython refuses to answer one)."""
        response = dns.message.make_response(query, our_payload=OUR_EDNS_PAYLOAD)
        # CoreDNS sets RA on every answer; without it nslookup prints ";; Got recursion not
        # available from 10.96.0.10" at each lookup (the Kubernetes docs' DNS task shows none).
        response.flags |= dns.flags.RA
        if query.opcode() != dns.opcode.QUERY:
            response.set_rcode(dns.rcode.NOTIMP)
            return response
        if query.edns > 0:
            response.set_rcode(dns.rcode.BADVERS)  # RFC 6891: we speak EDNS version 0
            return response
        if len(query.question) != 1:
            response.set_rcode(dns.rcode.FORMERR)
            return response
        question = query.question[0]
        name = question.name.to_text().lower()
        if not _answerable(question.rdclass, question.rdtype):
            response.set_rcode(dns.rcode.REFUSED)
        elif self._in_domain(name):
            self._answer_cluster(response, name, question.rdtype)
        elif name in self.reverse:
            self._answer_reverse(response, name, question.rdtype)
        else:
            # netlab never forwards a query off the machine (there is no `forward .
            # /etc/resolv.conf` as in CoreDNS's default Corefile): a name it does not own is
            # refused, so a lab never sends traffic to the host's resolvers. That includes
            # reverse names of addresses the lab does not know.
            response.set_rcode(dns.rcode.REFUSED)
        return response

    def _in_domain(self, name: str) -> bool:
        return name == self.domain or name.endswith("." + self.domain)

    def _answer_cluster(self, response: dns.message.Message, name: str, rdtype: int) -> None:
        response.flags |= dns.flags.AA
        for _ in range(MAX_CNAME_CHAIN):
            node = self.nodes.get(name)
            if node is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
                response.authority.append(self.soa)
                return
            found = list(node) if rdtype == ANY else [rdtype] if rdtype in node else []
            if found:
                rrsets = [self._rrset(name, t) for t in found]
                response.answer.extend(rrsets)
                response.additional.extend(self._glue(rrsets))
                return
            if CNAME not in node:
                response.authority.append(self.soa)  # NODATA
                return
            response.answer.append(self._rrset(name, CNAME))
            name = node[CNAME][0]
            if not self._in_domain(name):
                # ExternalName: the client's resolver chases the target itself; netlab does
                # not resolve names outside the cluster domain.
                return
        # An ExternalName chain that loops inside the cluster domain.
        response.set_rcode(dns.rcode.SERVFAIL)

    def _glue(self, rrsets: list[dns.rrset.RRset]) -> list[dns.rrset.RRset]:
        """The A and AAAA records of SRV and NS targets, as CoreDNS adds them (spec 2.3.2, 2.4.2)."""
        targets = {
            rdata.target.to_text().lower(): None
            for rrset in rrsets if rrset.rdtype in (SRV, NS)
            for rdata in rrset
        }
        return [self._rrset(t, kind) for t in targets for kind in (A, AAAA) if kind in self.nodes.get(t, {})]

    def _answer_reverse(self, response: dns.message.Message, name: str, rdtype: int) -> None:
        response.flags |= dns.flags.AA
        if rdtype in (PTR, ANY):
            response.answer.append(_rrset(name, PTR, self.reverse[name]))
        else:
            response.authority.append(self.reverse_soa)

    def _rrset(self, name: str, rdtype: int) -> dns.rrset.RRset:
        return _rrset(name, rdtype, self.nodes[name][rdtype])


def answer(query: dns.message.Message, records: Records) -> dns.message.Message:
    """One-off convenience; a server builds the Zone once per snapshot instead."""
    return Zone.from_records(records).answer(query)


def dashed(ip: str) -> str:
    """10.244.1.2 -> 10-244-1-2, the label Kubernetes DNS uses for an address."""
    return ip.replace(".", "-").replace(":", "-")


def reverse_name(ip: str) -> str:
    if ":" in ip:
        return dns.reversename.from_address(ip).to_text()
    return ".".join(reversed(ip.split("."))) + "." + REVERSE_ZONE


def address_type(ip: str) -> int:
    """A for an IPv4 address, AAAA for an IPv6 one."""
    return AAAA if ":" in ip else A


def _answerable(rdclass: int, rdtype: int) -> bool:
    """CHAOS queries, zone transfers (AXFR/IXFR) and OPT/TSIG as a question are not offered."""
    if rdclass != dns.rdataclass.IN:
        return False
    return rdtype == ANY or not dns.rdatatype.is_metatype(rdtype)


def _rrset(name: str, rdtype: int, texts: tuple[str, ...]) -> dns.rrset.RRset:
    return dns.rrset.from_text_list(name, TTL, dns.rdataclass.IN, rdtype, texts)


class _ZoneBuilder:
    """Collects rdata text per (owner, type), in insertion order and without duplicates."""

    def __init__(self, records: Records) -> None:
        self.records = records
        self.domain = records.domain.lower().rstrip(".") + "."
        self.data: dict[str, dict[int, dict[str, None]]] = {}
        self.ptr: dict[str, dict[str, None]] = {}
        self.pods_by_name = {(p.namespace, p.name): p for p in records.pods}
        self.cluster_ips = {ip for s in records.services if s.type != "ExternalName" for ip in s.addresses}

    def build(self) -> Zone:
        records = self.records
        serial = records.generation
        soa_text = f"ns.dns.{self.domain} hostmaster.{self.domain} {serial} {SOA_TIMERS}"
        self.add(self.domain, SOA, soa_text)
        self.add(self.domain, NS, f"ns.dns.{self.domain}")
        self.add(f"dns-version.{self.domain}", TXT, f'"{SCHEMA_VERSION}"')
        namespaces = set(records.namespaces)
        namespaces.update(s.namespace for s in records.services)
        namespaces.update(p.namespace for p in records.pods)
        for namespace in namespaces:
            # A namespace that exists answers NODATA, not NXDOMAIN (CoreDNS namespaceExposed).
            self.touch(f"{namespace}.svc.{self.domain}")
            self.touch(f"{namespace}.pod.{self.domain}")
        for service in records.services:
            self.add_service(service)
        for pod in records.pods:
            for ip in pod.addresses:
                self.add(f"{dashed(ip)}.{pod.namespace}.pod.{self.domain}", address_type(ip), ip)
        self.add_dns_server_address()
        self.fill_empty_non_terminals()
        nodes = {
            owner.lower(): {rdtype: _srv_weights(rdtype, tuple(texts))
                            for rdtype, texts in types.items()}
            for owner, types in self.data.items()
        }
        reverse = {owner: tuple(targets) for owner, targets in self.ptr.items()}
        return Zone(
            domain=self.domain,
            soa=_rrset(self.domain, SOA, (soa_text,)),
            reverse_soa=_rrset(REVERSE_ZONE, SOA, (soa_text,)),
            nodes=nodes,
            reverse=reverse,
        )

    def add_service(self, service: ServiceRecord) -> None:
        owner = f"{service.name}.{service.namespace}.svc.{self.domain}"
        if service.type == "ExternalName":
            if service.external_name:
                self.add(owner, CNAME, service.external_name.lower().rstrip(".") + ".")
            return
        # Spec 2.1 "ready": in `addresses`, or the Service tolerates unready endpoints
        # (spec.publishNotReadyAddresses, formerly the tolerate-unready-endpoints annotation).
        endpoints = [e for e in service.endpoints if e.ready or service.publish_not_ready]
        if service.cluster_ip is not None:
            for ip in service.addresses:
                self.add(owner, address_type(ip), ip)
                self.add_ptr(ip, owner, cluster_ip=True)
            self.add_srv(service, owner, target=owner)
        for endpoint in endpoints:
            host = f"{self.hostname(endpoint, service)}.{owner}"
            self.add(host, address_type(endpoint.ip), endpoint.ip)
            self.add_ptr(endpoint.ip, host, cluster_ip=False)
            if service.cluster_ip is None:
                self.add(owner, address_type(endpoint.ip), endpoint.ip)
                self.add_srv(service, owner, target=host)

    def add_srv(self, service: ServiceRecord, owner: str, target: str) -> None:
        for port in service.ports:
            # Priority and weight are not prescribed (spec 2.3.2); see _srv_weights.
            rdata = f"0 100 {port.port} {target}"
            self.add(owner, SRV, rdata)
            if port.name:  # unnamed ports have no `_<port>._<proto>` record (spec 2.3.2)
                self.add(f"_{port.name}._{port.protocol.lower()}.{owner}", SRV, rdata)

    def hostname(self, endpoint: EndpointRecord, service: ServiceRecord) -> str:
        if endpoint.hostname:
            return endpoint.hostname
        pod = self.pods_by_name.get((service.namespace, endpoint.pod or ""))
        if pod is not None and _sets_hostname(pod, service):
            # Kubernetes' endpoints controller (ShouldSetHostname) would have set it.
            return pod.hostname
        return dashed(endpoint.ip)

    def add_dns_server_address(self) -> None:
        """`ns.dns.<domain>` A: the cluster DNS Service's IP, as CoreDNS answers for its NS."""
        for service in self.records.services:
            if (service.namespace, service.name) == DNS_SERVICE and service.cluster_ip:
                for ip in service.addresses:
                    self.add(f"ns.dns.{self.domain}", address_type(ip), ip)

    def add_ptr(self, ip: str, target: str, *, cluster_ip: bool) -> None:
        owner = reverse_name(ip)
        if cluster_ip:
            self.ptr[owner] = {target: None}
        elif ip not in self.cluster_ips:
            # A cluster IP names its Service alone: CoreDNS's serviceRecordForIP looks at
            # Services before Endpoints.
            self.ptr.setdefault(owner, {})[target] = None

    def add(self, owner: str, rdtype: int, text: str) -> None:
        self.data.setdefault(owner, {}).setdefault(rdtype, {})[text] = None

    def touch(self, owner: str) -> None:
        self.data.setdefault(owner, {})

    def fill_empty_non_terminals(self) -> None:
        """Ancestors of every name exist (RFC 8020): `svc.<domain>` is NODATA, not NXDOMAIN."""
        suffix = "." + self.domain
        for owner in list(self.data):
            parent = owner
            while parent.endswith(suffix):
                parent = parent.split(".", 1)[1]
                self.touch(parent)


def _sets_hostname(pod: PodRecord, service: ServiceRecord) -> bool:
    return (
        bool(pod.hostname)
        and pod.subdomain == service.name
        and pod.namespace == service.namespace
    )


def _srv_weights(rdtype: int, texts: tuple[str, ...]) -> tuple[str, ...]:
    """CoreDNS shares weight 100 among the SRV records of one priority."""
    if rdtype != SRV or len(texts) < 2:
        return texts
    weight = max(1, 100 // len(texts))
    return tuple(t.replace("0 100 ", f"0 {weight} ", 1) for t in texts)
