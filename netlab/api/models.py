"""The core/v1 kinds netlab models: Pod, Service (with its spec and ports), Namespace.

The Pod's spec types (containers, ports, probes, security contexts) are in podspec.py.

Field names are Kubernetes' own camelCase (`pod.spec.containers[0].ports[0].containerPort`),
so a reader can check them against the API reference. Checks follow
pkg/apis/core/validation: single-field rules sit on the field's type (the field types in
meta.py, or a field validator here), cross-field rules in one validator per object that reports
every problem with its field path.

Fields Kubernetes has but netlab does not model (resources, affinity, ...) are accepted and
kept; meta.py's ApiModel and `ignored_fields()` say how.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictBool, StrictInt, StrictStr, field_validator, model_validator

from netlab.api import names
from netlab.api.families import family_name, family_of
from netlab.api.field import (
    ProblemList,
    duplicate_value,
    field_error,
    field_errors,
    forbidden,
    invalid_value,
    required_value,
)
from netlab.api.meta import (
    ApiModel,
    CIDRString,
    DNS1123Label,
    IPString,
    Labels,
    ObjectMeta,
    PortNumber,
    Protocol,
    _ip_errors,
    _port_range,
)
from netlab.api.podspec import PodSpec

# --- Pod ----------------------------------------------------------------------------------------


class Pod(ApiModel):
    apiVersion: Literal["v1"] = "v1"
    kind: Literal["Pod"] = "Pod"
    metadata: ObjectMeta
    spec: PodSpec

    def find_port(self, target: int | str, protocol: str = "TCP") -> int | None:
        """Resolve a Service targetPort against this pod, like podutil.FindPort upstream."""
        if isinstance(target, int):
            return target
        for container in self.spec.containers:
            for port in container.ports:
                if port.name == target and port.protocol == protocol:
                    return port.containerPort
        return None


# --- Service ------------------------------------------------------------------------------------


def _target_port(value: Any) -> int | str | None:
    """IntOrString: a number 1-65535 or a container port's IANA_SVC_NAME."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise field_error(invalid_value(value, "must be an integer or a port name"))
    if isinstance(value, int):
        return _port_range(value)
    errors = names.iana_svc_name_errors(value)
    if errors:
        raise field_error(invalid_value(value, "; ".join(errors)))
    return value


class ServicePort(ApiModel):
    name: DNS1123Label | None = None
    protocol: Protocol = "TCP"
    appProtocol: StrictStr | None = None  # accepted; netlab does not act on it
    port: PortNumber
    targetPort: int | str | None = None  # defaults to `port`, as the apiserver does
    nodePort: PortNumber | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_target_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("targetPort") is None:
            port = data.get("port")
            if isinstance(port, int) and not isinstance(port, bool):
                return {**data, "targetPort": port}
        return data

    @field_validator("targetPort", mode="plain")
    @classmethod
    def _check_target_port(cls, value: Any) -> int | str | None:
        return _target_port(value)


class ClientIPConfig(ApiModel):
    timeoutSeconds: StrictInt | None = None

    @field_validator("timeoutSeconds")
    @classmethod
    def _timeout_range(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value <= 86400:
            raise field_error(invalid_value(value, "must be greater than 0 and less than 86400"))
        return value


class SessionAffinityConfig(ApiModel):
    clientIP: ClientIPConfig | None = None


ServiceType = Literal["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"]
HEADLESS = "None"  # the clusterIP value that makes a Service headless
IPFamily = Literal["IPv4", "IPv6"]
IPFamilyPolicy = Literal["SingleStack", "PreferDualStack", "RequireDualStack"]


class ServiceSpec(ApiModel):
    type: ServiceType = "ClusterIP"
    selector: Labels | None = None
    ports: list[ServicePort] = []
    clusterIP: StrictStr | None = None
    clusterIPs: list[StrictStr] | None = None
    # Dual-stack (KEP-563): which families, and how insistently; defaulted and checked against
    # the cluster's families by the apiserver (apiserver/admission.py, ipfamilies.py).
    ipFamilies: list[IPFamily] | None = None
    ipFamilyPolicy: IPFamilyPolicy | None = None
    externalName: StrictStr | None = None
    sessionAffinity: Literal["None", "ClientIP"] | None = None
    sessionAffinityConfig: SessionAffinityConfig | None = None
    externalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    internalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    loadBalancerIP: IPString | None = None
    loadBalancerSourceRanges: list[CIDRString] = []
    externalIPs: list[IPString] = []
    publishNotReadyAddresses: StrictBool = False

    @property
    def is_headless(self) -> bool:
        return self.clusterIP == HEADLESS

    @field_validator("clusterIP")
    @classmethod
    def _cluster_ip(cls, value: str | None) -> str | None:
        if value == "":  # the apiserver reads "" as "allocate one"
            return None
        if value is None or value == HEADLESS:
            return value
        errors = _ip_errors(value)
        if errors:
            detail = errors[0] + ", or 'None' for a headless Service"
            raise field_error(invalid_value(value, detail))
        return value

    @field_validator("clusterIPs")
    @classmethod
    def _cluster_ips(cls, value: list[str] | None) -> list[str] | None:
        if not value:
            return value
        problems = ProblemList()
        for i, ip in enumerate(value):
            if ip == HEADLESS and i == 0:
                continue
            for error in _ip_errors(ip):
                problems.add((i,), invalid_value(ip, error))
        problems.raise_if_any()
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> ServiceSpec:
        problems = ProblemList()
        self._check_ports(problems)
        self._check_type(problems)
        self._check_families(problems)
        problems.raise_if_any()
        return self

    def _check_families(self, problems: ProblemList) -> None:
        """ValidateService's dual-stack rules that need no cluster (validation.go)."""
        ips = self.clusterIPs or []
        if ips and self.clusterIP is not None and ips[0] != self.clusterIP:
            problems.add(("clusterIPs",), invalid_value(ips, "element [0] must match clusterIP"))
        if len(ips) > 2:
            problems.add(("clusterIPs",), invalid_value(ips, "may only hold up to 2 values"))
        elif len(ips) == 2 and HEADLESS not in ips and _family(ips[0]) == _family(ips[1]):
            problems.add(("clusterIPs",), invalid_value(ips, "may specify no more than one IP for each IP family"))
        families = self.ipFamilies or []
        if len(families) > 2:
            problems.add(("ipFamilies",), invalid_value(families, "may only hold up to 2 values"))
        elif len(families) == 2 and families[0] == families[1]:
            problems.add(("ipFamilies", 1), duplicate_value(families[1]))
        if self.ipFamilyPolicy == "SingleStack" and (len(families) > 1 or len(ips) > 1):
            field = "ipFamilies" if len(families) > 1 else "clusterIPs"
            problems.add((field,), invalid_value(families or ips, "must be a single value when `ipFamilyPolicy` is 'SingleStack'"))
        for i, ip in enumerate(ips):
            if ip != HEADLESS and i < len(families) and not _ip_errors(ip) and _family(ip) != families[i]:
                problems.add(
                    ("clusterIPs", i),
                    invalid_value(ip, f"expected an {families[i]} value as indicated by `ipFamilies[{i}]`"),
                )
        if self.type == "ExternalName" and (self.ipFamilies or self.ipFamilyPolicy or self.clusterIPs):
            field = "ipFamilies" if self.ipFamilies else "ipFamilyPolicy" if self.ipFamilyPolicy else "clusterIPs"
            problems.add((field,), forbidden("may not be set for ExternalName services"))

    def _check_ports(self, problems: ProblemList) -> None:
        if not self.ports and self.type != "ExternalName" and not self.is_headless:
            problems.add(("ports",), required_value())
        seen_names: set[str] = set()
        seen_ports: set[tuple[int, str]] = set()
        seen_node_ports: set[tuple[int, str]] = set()
        for i, port in enumerate(self.ports):
            # With several ports each needs a name: it is how Endpoints and SRV records tell
            # them apart.
            if len(self.ports) > 1 and port.name is None:
                problems.add(("ports", i, "name"), required_value())
            if port.name is not None:
                if port.name in seen_names:
                    problems.add(("ports", i, "name"), duplicate_value(port.name))
                seen_names.add(port.name)
            if (port.port, port.protocol) in seen_ports:
                problems.add(
                    ("ports", i), duplicate_value({"port": port.port, "protocol": port.protocol})
                )
            seen_ports.add((port.port, port.protocol))
            if port.nodePort is not None and (port.nodePort, port.protocol) in seen_node_ports:
                problems.add(("ports", i, "nodePort"), duplicate_value(port.nodePort))
            if port.nodePort is not None:
                seen_node_ports.add((port.nodePort, port.protocol))
            if port.nodePort is not None and self.type in ("ClusterIP", "ExternalName"):
                problems.add(
                    ("ports", i, "nodePort"),
                    forbidden(f"may not be used when `type` is '{self.type}'"),
                )

    def _check_type(self, problems: ProblemList) -> None:
        if self.type == "ExternalName":
            if not self.externalName:
                problems.add(("externalName",), required_value())
            else:
                for e in names.dns1123_subdomain_errors(self.externalName):
                    problems.add(("externalName",), invalid_value(self.externalName, e))
            if self.clusterIP is not None:
                problems.add(("clusterIP",), forbidden("may not be set for ExternalName services"))
        if self.is_headless and self.type in ("NodePort", "LoadBalancer"):
            problems.add(
                ("clusterIP",),
                invalid_value(HEADLESS, f"may not be set to 'None' for {self.type} services"),
            )
        # Upstream ExternallyAccessible: a NodePort, a load balancer or external IPs.
        reachable_from_outside = self.type in ("NodePort", "LoadBalancer") or (
            self.type == "ClusterIP" and bool(self.externalIPs)
        )
        if self.externalTrafficPolicy is not None and not reachable_from_outside:
            problems.add(
                ("externalTrafficPolicy",),
                forbidden("may only be set for externally-accessible services (NodePort, LoadBalancer or externalIPs)"),
            )
        if self.loadBalancerSourceRanges and self.type != "LoadBalancer":
            problems.add(
                ("loadBalancerSourceRanges",),
                forbidden("may only be used when `type` is 'LoadBalancer'"),
            )


def _family(ip: str) -> str:
    return family_name(family_of(ip))


class Service(ApiModel):
    apiVersion: Literal["v1"] = "v1"
    kind: Literal["Service"] = "Service"
    metadata: ObjectMeta
    spec: ServiceSpec

    @model_validator(mode="after")
    def _dns1035_name(self) -> Service:
        # A Service name becomes a DNS label (<svc>.<ns>.svc), so it must start with a letter.
        errors = names.dns1035_label_errors(self.metadata.name)
        if errors:
            loc = ("metadata", "name")
            raise field_errors([(loc, invalid_value(self.metadata.name, e)) for e in errors])
        return self


# --- Namespace ----------------------------------------------------------------------------------


class Namespace(ApiModel):
    apiVersion: Literal["v1"] = "v1"
    kind: Literal["Namespace"] = "Namespace"
    metadata: ObjectMeta
