"""The cluster DNS answers (Kubernetes DNS-Based Service Discovery 1.0.1, CoreDNS defaults)."""

from __future__ import annotations

import dns.flags
import dns.message
import dns.opcode
import dns.rcode
import dns.rdatatype
import pytest

from netlab.dns.records import (
    EndpointRecord,
    PodRecord,
    PortRecord,
    Records,
    ServiceRecord,
    read_records,
    write_records,
)
from netlab.dns.resolver import Zone, answer

TCP, UDP = "TCP", "UDP"


def service(name, cluster_ip, *, ns="default", type="ClusterIP", ports=(), endpoints=(),
            external_name=None, publish_not_ready=False) -> ServiceRecord:
    return ServiceRecord(ns, name, type, cluster_ip, external_name, tuple(ports),
                         tuple(endpoints), publish_not_ready)


RECORDS = Records(
    domain="cluster.local",
    generation=7,
    namespaces=("default", "kube-system", "empty"),
    services=(
        service("web", "10.96.0.20",
                ports=[PortRecord("http", 80, TCP), PortRecord("", 81, TCP)],
                endpoints=[EndpointRecord("10.244.1.2", True, pod="web-1"),
                           EndpointRecord("10.244.1.9", False, pod="web-2")]),
        service("np", "10.96.0.30", type="NodePort", ports=[PortRecord("http", 80, TCP)]),
        service("lb", "10.96.0.31", type="LoadBalancer", ports=[PortRecord("http", 80, TCP)]),
        # A StatefulSet-style headless Service: db-0 has an explicit endpoint hostname, db-1's
        # comes from its pod (hostname + subdomain == Service name), the third has none.
        service("db", None, ports=[PortRecord("pg", 5432, TCP)],
                endpoints=[EndpointRecord("10.244.1.3", True, hostname="db-0", pod="db-0"),
                           EndpointRecord("10.244.2.3", True, pod="db-1"),
                           EndpointRecord("10.244.2.4", False, pod="db-2"),
                           EndpointRecord("10.244.2.5", True)]),
        service("lonely", None, ports=[PortRecord("http", 80, TCP)],
                endpoints=[EndpointRecord("10.244.2.6", False)]),
        service("eager", None, ports=[PortRecord("http", 80, TCP)], publish_not_ready=True,
                endpoints=[EndpointRecord("10.244.2.7", False)]),
        service("ext", None, type="ExternalName", external_name="example.com"),
        service("alias", None, type="ExternalName", external_name="web.default.svc.cluster.local"),
        service("loop", None, type="ExternalName", external_name="loop.default.svc.cluster.local"),
        service("kube-dns", "10.96.0.10", ns="kube-system",
                ports=[PortRecord("dns", 53, UDP), PortRecord("dns-tcp", 53, TCP)],
                endpoints=[EndpointRecord("10.244.1.4", True, pod="coredns")]),
    ),
    pods=(
        PodRecord("default", "client", "10.244.1.5", "client"),
        PodRecord("default", "db-1", "10.244.2.3", "db-1", subdomain="db"),
        PodRecord("other", "x", "10.244.2.8", "x"),
    ),
)

SOA_TEXT = "ns.dns.cluster.local. hostmaster.cluster.local. 7 7200 1800 86400 5"


@pytest.fixture(scope="module")
def zone() -> Zone:
    return Zone.from_records(RECORDS)


def ask(zone: Zone, name: str, rdtype: str = "A", **kwargs) -> dns.message.Message:
    return zone.answer(dns.message.make_query(name, rdtype, **kwargs))


def rdata(response: dns.message.Message, rdtype: str, section: str = "answer") -> set[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return {r.to_text() for rrset in getattr(response, section) if rrset.rdtype == wanted
            for r in rrset}


def is_negative(response: dns.message.Message) -> bool:
    """NXDOMAIN/NODATA the way CoreDNS sends it: no answer, the zone's SOA in authority."""
    return not response.answer and rdata(response, "SOA", "authority") == {SOA_TEXT}


# (question name, type, rcode, the answer's rdata of that type)
ANSWERS = [
    # Spec 2.3.1: a Service with a cluster IP, whatever its type.
    ("web.default.svc.cluster.local.", "A", "NOERROR", {"10.96.0.20"}),
    ("np.default.svc.cluster.local.", "A", "NOERROR", {"10.96.0.30"}),
    ("lb.default.svc.cluster.local.", "A", "NOERROR", {"10.96.0.31"}),
    ("kube-dns.kube-system.svc.cluster.local.", "A", "NOERROR", {"10.96.0.10"}),
    # Spec 2.4.1: a headless Service answers with its ready endpoints.
    ("db.default.svc.cluster.local.", "A", "NOERROR", {"10.244.1.3", "10.244.2.3", "10.244.2.5"}),
    ("lonely.default.svc.cluster.local.", "A", "NXDOMAIN", set()),
    ("eager.default.svc.cluster.local.", "A", "NOERROR", {"10.244.2.7"}),
    # ... and each endpoint by its hostname (explicit, from the pod, or the dashed IP).
    ("db-0.db.default.svc.cluster.local.", "A", "NOERROR", {"10.244.1.3"}),
    ("db-1.db.default.svc.cluster.local.", "A", "NOERROR", {"10.244.2.3"}),
    ("10-244-2-5.db.default.svc.cluster.local.", "A", "NOERROR", {"10.244.2.5"}),
    ("10-244-2-4.db.default.svc.cluster.local.", "A", "NXDOMAIN", set()),  # not ready
    ("10-244-1-2.web.default.svc.cluster.local.", "A", "NOERROR", {"10.244.1.2"}),  # CoreDNS
    # Spec 2.3.2 / 2.4.2: SRV for named ports.
    ("_http._tcp.web.default.svc.cluster.local.", "SRV", "NOERROR",
     {"0 100 80 web.default.svc.cluster.local."}),
    ("_dns._udp.kube-dns.kube-system.svc.cluster.local.", "SRV", "NOERROR",
     {"0 100 53 kube-dns.kube-system.svc.cluster.local."}),
    ("_pg._tcp.db.default.svc.cluster.local.", "SRV", "NOERROR",
     {"0 33 5432 db-0.db.default.svc.cluster.local.",
      "0 33 5432 db-1.db.default.svc.cluster.local.",
      "0 33 5432 10-244-2-5.db.default.svc.cluster.local."}),
    ("_http._udp.web.default.svc.cluster.local.", "SRV", "NXDOMAIN", set()),
    ("_nope._tcp.web.default.svc.cluster.local.", "SRV", "NXDOMAIN", set()),
    ("_tcp.web.default.svc.cluster.local.", "SRV", "NOERROR", set()),  # empty non-terminal
    # Without port and protocol, CoreDNS lists every port, named or not.
    ("web.default.svc.cluster.local.", "SRV", "NOERROR",
     {"0 50 80 web.default.svc.cluster.local.", "0 50 81 web.default.svc.cluster.local."}),
    # Spec 2.6: pods by dashed IP, verified against the pods of that namespace.
    ("10-244-1-5.default.pod.cluster.local.", "A", "NOERROR", {"10.244.1.5"}),
    ("10-244-2-8.other.pod.cluster.local.", "A", "NOERROR", {"10.244.2.8"}),
    ("10-244-1-5.other.pod.cluster.local.", "A", "NXDOMAIN", set()),
    ("10-244-9-9.default.pod.cluster.local.", "A", "NXDOMAIN", set()),
    # Spec 2.3.3 / 2.4.3: reverse lookups for what the lab knows.
    ("20.0.96.10.in-addr.arpa.", "PTR", "NOERROR", {"web.default.svc.cluster.local."}),
    ("3.1.244.10.in-addr.arpa.", "PTR", "NOERROR", {"db-0.db.default.svc.cluster.local."}),
    ("3.2.244.10.in-addr.arpa.", "PTR", "NOERROR", {"db-1.db.default.svc.cluster.local."}),
    ("2.1.244.10.in-addr.arpa.", "PTR", "NOERROR", {"10-244-1-2.web.default.svc.cluster.local."}),
    ("4.2.244.10.in-addr.arpa.", "PTR", "REFUSED", set()),  # a not-ready endpoint
    ("8.8.8.8.in-addr.arpa.", "PTR", "REFUSED", set()),
    # Spec 2.2.
    ("dns-version.cluster.local.", "TXT", "NOERROR", {'"1.0.1"'}),
    # The zone apex, like CoreDNS.
    ("cluster.local.", "SOA", "NOERROR", {SOA_TEXT}),
    ("cluster.local.", "NS", "NOERROR", {"ns.dns.cluster.local."}),
    ("ns.dns.cluster.local.", "A", "NOERROR", {"10.96.0.10"}),
    # Case-insensitive (spec 2.1), with or without the trailing dot.
    ("WEB.Default.SVC.Cluster.Local.", "A", "NOERROR", {"10.96.0.20"}),
    ("web.default.svc.cluster.local", "A", "NOERROR", {"10.96.0.20"}),
    # Names under the domain that do not exist.
    ("nope.default.svc.cluster.local.", "A", "NXDOMAIN", set()),
    ("web.nosuchns.svc.cluster.local.", "A", "NXDOMAIN", set()),
    ("nosuchns.svc.cluster.local.", "A", "NXDOMAIN", set()),
    ("whatever.cluster.local.", "A", "NXDOMAIN", set()),
    # Names that exist with nothing of the asked type: NODATA.
    ("web.default.svc.cluster.local.", "AAAA", "NOERROR", set()),
    ("web.default.svc.cluster.local.", "MX", "NOERROR", set()),
    ("svc.cluster.local.", "A", "NOERROR", set()),
    ("default.svc.cluster.local.", "A", "NOERROR", set()),
    ("empty.svc.cluster.local.", "A", "NOERROR", set()),
    ("default.pod.cluster.local.", "A", "NOERROR", set()),
    ("dns-version.cluster.local.", "A", "NOERROR", set()),
    # Everything else is refused: netlab never forwards.
    ("example.com.", "A", "REFUSED", set()),
    ("kubernetes.io.", "AAAA", "REFUSED", set()),
    ("1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
     "PTR", "REFUSED", set()),
]


@pytest.mark.parametrize(("name", "rdtype", "rcode", "expected"), ANSWERS)
def test_answers(zone, name, rdtype, rcode, expected):
    response = ask(zone, name, rdtype)
    assert dns.rcode.to_text(response.rcode()) == rcode
    assert rdata(response, rdtype) == expected
    if rcode == "REFUSED":
        assert not response.flags & dns.flags.AA
        assert not response.answer and not response.authority
        return
    assert response.flags & dns.flags.AA
    assert response.flags & dns.flags.RA  # as CoreDNS sets it: nslookup then prints no "recursion not available"
    if not expected:
        if name.endswith("in-addr.arpa."):
            assert not response.answer
        else:
            assert is_negative(response)
    for rrset in response.answer:
        assert rrset.ttl == 5


def test_answer_echoes_the_question_and_id(zone):
    query = dns.message.make_query("web.default.svc.cluster.local", "A")
    response = zone.answer(query)
    assert response.id == query.id
    assert response.question == query.question
    assert response.flags & dns.flags.QR


def test_srv_for_a_headless_service_carries_the_endpoints_a_records(zone):
    response = ask(zone, "_pg._tcp.db.default.svc.cluster.local", "SRV")
    additional = {(rrset.name.to_text(), r.to_text())
                  for rrset in response.additional for r in rrset}
    assert additional == {
        ("db-0.db.default.svc.cluster.local.", "10.244.1.3"),
        ("db-1.db.default.svc.cluster.local.", "10.244.2.3"),
        ("10-244-2-5.db.default.svc.cluster.local.", "10.244.2.5"),
    }


def test_srv_for_a_cluster_ip_service_carries_the_service_address(zone):
    response = ask(zone, "_http._tcp.web.default.svc.cluster.local", "SRV")
    assert rdata(response, "A", "additional") == {"10.96.0.20"}


def test_apex_ns_carries_the_dns_service_address(zone):
    response = ask(zone, "cluster.local", "NS")
    assert rdata(response, "A", "additional") == {"10.96.0.10"}


def test_external_name_is_a_cname_and_is_not_chased_outside_the_cluster(zone):
    response = ask(zone, "ext.default.svc.cluster.local", "A")
    assert response.rcode() == dns.rcode.NOERROR
    assert rdata(response, "CNAME") == {"example.com."}
    assert rdata(response, "A") == set()


def test_external_name_inside_the_cluster_domain_is_followed(zone):
    response = ask(zone, "alias.default.svc.cluster.local", "A")
    assert rdata(response, "CNAME") == {"web.default.svc.cluster.local."}
    assert rdata(response, "A") == {"10.96.0.20"}


def test_external_name_loop_is_a_server_failure(zone):
    response = ask(zone, "loop.default.svc.cluster.local", "A")
    assert response.rcode() == dns.rcode.SERVFAIL


def test_any_returns_every_record_of_the_name(zone):
    response = ask(zone, "web.default.svc.cluster.local", "ANY")
    assert rdata(response, "A") == {"10.96.0.20"}
    assert len(rdata(response, "SRV")) == 2


def test_nxdomain_and_nodata_carry_the_soa_with_the_snapshot_generation(zone):
    for response in (ask(zone, "nope.default.svc.cluster.local"),
                     ask(zone, "web.default.svc.cluster.local", "AAAA")):
        (soa,) = response.authority
        assert soa.name.to_text() == "cluster.local."
        assert soa.ttl == 5
        assert soa[0].serial == 7


def test_nodata_for_a_known_reverse_name(zone):
    response = ask(zone, "20.0.96.10.in-addr.arpa", "TXT")
    assert response.rcode() == dns.rcode.NOERROR
    assert not response.answer
    assert [rrset.rdtype for rrset in response.authority] == [dns.rdatatype.SOA]


def test_edns_query_gets_an_edns_answer(zone):
    with_edns = ask(zone, "web.default.svc.cluster.local", use_edns=0, payload=4096)
    assert with_edns.edns == 0
    assert ask(zone, "web.default.svc.cluster.local").edns == -1


def test_unknown_edns_version_is_badvers(zone):
    response = ask(zone, "web.default.svc.cluster.local", use_edns=1)
    assert response.rcode() == dns.rcode.BADVERS


def test_two_questions_are_a_format_error(zone):
    query = dns.message.make_query("web.default.svc.cluster.local", "A")
    second = dns.message.make_query("db.default.svc.cluster.local", "A")
    query.question.extend(second.question)
    assert zone.answer(query).rcode() == dns.rcode.FORMERR


def test_no_question_is_a_format_error(zone):
    query = dns.message.Message()
    assert zone.answer(query).rcode() == dns.rcode.FORMERR


def test_other_opcodes_are_not_implemented(zone):
    query = dns.message.make_query("web.default.svc.cluster.local", "A")
    query.set_opcode(dns.opcode.NOTIFY)
    assert zone.answer(query).rcode() == dns.rcode.NOTIMP


@pytest.mark.parametrize(("rdclass", "rdtype"), [("CH", "TXT"), ("IN", "AXFR"), ("IN", "IXFR")])
def test_chaos_and_zone_transfers_are_refused(zone, rdclass, rdtype):
    response = ask(zone, "cluster.local", rdtype, rdclass=rdclass)
    assert response.rcode() == dns.rcode.REFUSED


def test_answer_without_a_prebuilt_zone():
    response = answer(dns.message.make_query("web.default.svc.cluster.local", "A"), RECORDS)
    assert rdata(response, "A") == {"10.96.0.20"}


def test_another_cluster_domain():
    records = Records("lab.example", services=(service("web", "10.96.0.20"),), pods=())
    zone = Zone.from_records(records)
    assert rdata(ask(zone, "web.default.svc.lab.example"), "A") == {"10.96.0.20"}
    assert ask(zone, "web.default.svc.cluster.local").rcode() == dns.rcode.REFUSED


def test_records_survive_a_json_round_trip():
    assert Records.from_json(RECORDS.to_json()) == RECORDS


def test_records_are_written_atomically(tmp_path):
    path = tmp_path / "dns.json"
    write_records(path, RECORDS)
    assert read_records(path) == RECORDS
    assert [p.name for p in tmp_path.iterdir()] == ["dns.json"]  # no temp file left behind


@pytest.mark.parametrize("text", ["", "{", "[]", '{"domain": "x"}',
                                  '{"domain": "x", "services": [{"name": 1}], "pods": []}',
                                  RECORDS.to_json().replace('"ClusterIP"', '"Clusterip"')])
def test_malformed_snapshot_is_a_value_error(text):
    with pytest.raises(ValueError):
        Records.from_json(text)
