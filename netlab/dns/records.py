"""The DNS snapshot: what the reconcile loop tells the cluster DNS server.

The reconcile loop writes one JSON file whenever Services, Endpoints or Pods change
(`write_records`: temp file in the same directory + `os.replace`, so the server never reads a
half-written file); the DNS server (`netlab.dns.server`) reloads it. It plays the part of the
informer cache CoreDNS's kubernetes plugin keeps of the API server.

Shape (all frozen, all plain data):

- `Records(domain, services, pods, namespaces=(), generation=0)`: `domain` is the cluster
  domain (`cluster.local`); `namespaces` lists namespaces that exist even without Services or
  Pods (so `<ns>.svc.<domain>` is NODATA rather than NXDOMAIN); `generation` becomes the SOA
  serial.
- `ServiceRecord(namespace, name, type, cluster_ip, external_name, ports, endpoints,
  publish_not_ready, cluster_ips)`: `cluster_ip` is None for a headless Service (`clusterIP: None`),
  `cluster_ips` its addresses in every family of a dual-stack Service (primary first);
  `external_name` only for `type: ExternalName`; `endpoints` are the Service's Endpoints
  addresses of every family; `publish_not_ready` mirrors `spec.publishNotReadyAddresses`.
- `PortRecord(name, port, protocol)`: a Service port; `name` is "" when unnamed (no SRV).
- `EndpointRecord(ip, ready, hostname=None, pod=None)`: `hostname` is what Kubernetes' endpoints
  controller puts in `EndpointAddress.hostname` (the pod's `spec.hostname` when its
  `spec.subdomain` equals the Service name); `pod` is the `targetRef` pod name.
- `PodRecord(namespace, name, ip, hostname, subdomain, ips)`: every running pod with an IP, for
  `<a-b-c-d>.<ns>.pod.<domain>` (CoreDNS `pods verified`); `ips` are its addresses of every
  family (an IPv6 one is named with its colons as dashes, `fd00-10-244-1--5`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")


@dataclass(frozen=True)
class PortRecord:
    name: str  # "" when the port is unnamed
    port: int
    protocol: str  # TCP | UDP | SCTP


@dataclass(frozen=True)
class EndpointRecord:
    ip: str
    ready: bool
    hostname: str | None = None
    pod: str | None = None


@dataclass(frozen=True)
class ServiceRecord:
    namespace: str
    name: str
    type: str  # one of SERVICE_TYPES
    cluster_ip: str | None  # None for a headless Service
    external_name: str | None
    ports: tuple[PortRecord, ...]
    endpoints: tuple[EndpointRecord, ...]
    publish_not_ready: bool = False
    cluster_ips: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        """The cluster IPs of every family (the one cluster IP of an older snapshot)."""
        return self.cluster_ips or ((self.cluster_ip,) if self.cluster_ip else ())

    @property
    def headless(self) -> bool:
        return self.type != "ExternalName" and self.cluster_ip is None


@dataclass(frozen=True)
class PodRecord:
    namespace: str
    name: str
    ip: str
    hostname: str
    subdomain: str | None = None
    ips: tuple[str, ...] = ()

    @property
    def addresses(self) -> tuple[str, ...]:
        return self.ips or ((self.ip,) if self.ip else ())


@dataclass(frozen=True)
class Records:
    domain: str
    services: tuple[ServiceRecord, ...]
    pods: tuple[PodRecord, ...]
    namespaces: tuple[str, ...] = ()
    generation: int = 0

    def to_json(self) -> str:
        return _json_text(self)

    @classmethod
    def from_json(cls, text: str) -> Records:
        """Parse a snapshot; raises ValueError on anything malformed."""
        try:
            raw = json.loads(text)
            return cls(
                domain=str(raw["domain"]),
                services=tuple(_service(s) for s in raw["services"]),
                pods=tuple(PodRecord(**{**p, "ips": tuple(p.get("ips", ()))}) for p in raw["pods"]),
                namespaces=tuple(raw.get("namespaces", ())),
                generation=int(raw.get("generation", 0)),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed DNS records snapshot: {exc!r}") from exc


# Every reconcile builds the records again, and at 1,000 Services they almost always equal
# the last ones; equal frozen records (of str, int, bool and None) give the same text, so the
# text of the last few is kept instead of being encoded again.
@functools.lru_cache(maxsize=2)
def _json_text(records: Records) -> str:
    # Compact: with `indent`, json falls back to its pure-Python encoder (4× slower at 1,000
    # Services); `python -m json.tool` shows the file indented.
    return json.dumps(records, default=_fields, sort_keys=True, separators=(",", ":"))


def _fields(value: object) -> dict:
    """The encoder's view of a record: its fields as they are (`asdict` would deep-copy every
    value first, for the same text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return vars(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _service(raw: dict) -> ServiceRecord:
    fields = dict(raw)
    fields["ports"] = tuple(PortRecord(**p) for p in raw["ports"])
    fields["endpoints"] = tuple(EndpointRecord(**e) for e in raw["endpoints"])
    fields["cluster_ips"] = tuple(raw.get("cluster_ips", ()))
    service = ServiceRecord(**fields)
    if service.type not in SERVICE_TYPES:
        raise ValueError(
            f"service {service.namespace}/{service.name}: unknown type {service.type!r}"
        )
    return service


def write_records(path: Path | str, records: Records) -> None:
    """Write atomically: readers see the old snapshot or the new one, never a torn file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(records.to_json())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_records(path: Path | str) -> Records:
    """Raises OSError when unreadable, ValueError when malformed."""
    return Records.from_json(Path(path).read_text(encoding="utf-8"))
