"""The Kubernetes kinds netlab models: Pod, Service, Namespace (core/v1).

Field names are Kubernetes' own camelCase (`pod.spec.containers[0].ports[0].containerPort`),
so a reader can check them against the API reference. Checks follow
pkg/apis/core/validation: single-field rules sit on the field's type, cross-field rules in one
validator per object that reports every problem with its field path.

Fields Kubernetes has but netlab does not model (resources, probes, volumes, ...) are accepted
and kept (`extra="allow"`), so `to_dict()` gives back what the user wrote; `ignored_fields()`
lists them so the loader can warn. Scalars are strict: `containerPort: "80"` is an error, as
it is for the apiserver, not a silent conversion.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from netlab.api import names
from netlab.api.field import (
    FieldProblem,
    Loc,
    ProblemList,
    duplicate_value,
    field_error,
    field_errors,
    forbidden,
    format_path,
    invalid_value,
    required_value,
    unsupported_value,
)

# --- field types carrying their own syntax checks ---------------------------------------------


def _syntax(check: Callable[[str], list[str]]) -> AfterValidator:
    def validate(value: str) -> str:
        errors = check(value)
        if errors:
            raise field_error(invalid_value(value, "; ".join(errors)))
        return value

    return AfterValidator(validate)


def _port_range(value: int) -> int:
    if not 1 <= value <= 65535:
        raise field_error(invalid_value(value, "must be between 1 and 65535, inclusive"))
    return value


def _labels(value: dict[str, str]) -> dict[str, str]:
    problems: list[tuple[Loc, str]] = []
    for key, val in value.items():
        problems.extend(((), invalid_value(key, e)) for e in names.qualified_name_errors(key))
        problems.extend(((key,), invalid_value(val, e)) for e in names.label_value_errors(val))
    if problems:
        raise field_errors(problems)
    return value


def _annotation_keys(value: dict[str, str]) -> dict[str, str]:
    problems = [
        ((), invalid_value(key, e)) for key in value for e in names.qualified_name_errors(key)
    ]
    if problems:
        raise field_errors(problems)
    return value


def _no_sctp(value: Any) -> Any:
    if value == "SCTP":
        raise field_error(
            unsupported_value(value, ["TCP", "UDP"], "SCTP is not supported by netlab")
        )
    return value


def _ipv4_errors(value: str) -> list[str]:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return ["must be a valid IPv4 address (e.g. 10.96.0.10)"]
        return ["IPv6 is not supported by netlab; use an IPv4 address"]
    return []


def _ipv4_cidr_errors(value: str) -> list[str]:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be an IPv4 CIDR such as 203.0.113.0/24"]
    if network.version != 4:
        return ["IPv6 is not supported by netlab; use an IPv4 CIDR"]
    if str(network) != value:
        return [f"must be a network address with its prefix length; did you mean {network}?"]
    return []


DNS1123Label = Annotated[StrictStr, _syntax(names.dns1123_label_errors)]
DNS1123Subdomain = Annotated[StrictStr, _syntax(names.dns1123_subdomain_errors)]
IanaSvcName = Annotated[StrictStr, _syntax(names.iana_svc_name_errors)]
EnvVarName = Annotated[StrictStr, _syntax(names.env_var_name_errors)]
IPv4String = Annotated[StrictStr, _syntax(_ipv4_errors)]
IPv4CIDR = Annotated[StrictStr, _syntax(_ipv4_cidr_errors)]
PortNumber = Annotated[StrictInt, AfterValidator(_port_range)]
Labels = Annotated[dict[StrictStr, StrictStr], AfterValidator(_labels)]
Annotations = Annotated[dict[StrictStr, StrictStr], AfterValidator(_annotation_keys)]
# SCTP is a real Kubernetes protocol, so it gets its own message rather than "unsupported".
Protocol = Annotated[Literal["TCP", "UDP"], BeforeValidator(_no_sctp)]

NOT_MODELLED = "not modelled by netlab, ignored"


class ApiModel(BaseModel):
    """Base of every API type: immutable, keeps unknown fields, dumps back to Kubernetes shape."""

    model_config = ConfigDict(frozen=True, extra="allow")

    # Declared fields netlab reads but deliberately ignores, with the warning to give.
    _warn_when_set: ClassVar[Mapping[str, str]] = {}
    # Unmodelled fields that are routine in Kubernetes output and not worth a warning.
    _silent_extras: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The Kubernetes-shaped dict: no nulls, and like Go's `omitempty` no empty maps/lists."""
        return _omit_empty(self.model_dump(mode="json", by_alias=True, exclude_none=True))


def _omit_empty(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _omit_empty(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v != {} and v != []}
    if isinstance(value, list):
        return [_omit_empty(v) for v in value]
    return value


def ignored_fields(model: ApiModel, loc: Loc = ()) -> Iterator[FieldProblem]:
    """Every field of `model` (recursively) that netlab accepts but does not act on."""
    for key in model.model_extra or {}:
        if key not in model._silent_extras:
            yield FieldProblem(format_path(loc + (key,)), NOT_MODELLED)
    for name, reason in model._warn_when_set.items():
        if getattr(model, name) is not None:
            yield FieldProblem(format_path(loc + (name,)), reason)
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, ApiModel):
            yield from ignored_fields(value, loc + (name,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, ApiModel):
                    yield from ignored_fields(item, loc + (name, i))


# --- metadata -----------------------------------------------------------------------------------


class ObjectMeta(ApiModel):
    _silent_extras = frozenset(
        {
            "uid",
            "creationTimestamp",
            "resourceVersion",
            "generation",
            "managedFields",
            "selfLink",
            "ownerReferences",
            "finalizers",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
        }
    )

    name: DNS1123Label
    namespace: DNS1123Label | None = None
    labels: Labels = {}
    annotations: Annotations = {}
    # Declared only to refuse it: netlab objects are addressed by the name the user wrote.
    generateName: StrictStr | None = None

    @field_validator("generateName")
    @classmethod
    def _no_generate_name(cls, value: str | None) -> str | None:
        if value is not None:
            detail = "generateName is not supported by netlab; set metadata.name"
            raise field_error(forbidden(detail))
        return value


# --- Pod ----------------------------------------------------------------------------------------


class ContainerPort(ApiModel):
    name: IanaSvcName | None = None
    containerPort: PortNumber
    protocol: Protocol = "TCP"
    hostPort: StrictInt | None = None  # accepted for compatibility; netlab maps no host ports


class EnvVar(ApiModel):
    _warn_when_set = {"valueFrom": 'not supported by netlab, ignored (the variable is set to "")'}

    name: EnvVarName
    value: StrictStr = ""
    valueFrom: dict[str, Any] | None = None


def _probe_port(value: Any) -> Any:
    """A probe's port: a number 1-65535 or the name of one of the container's ports."""
    if isinstance(value, int) and not isinstance(value, bool):
        return _port_range(value)
    if isinstance(value, str):
        errors = names.iana_svc_name_errors(value)
        if errors:
            raise field_error(invalid_value(value, "; ".join(errors)))
        return value
    raise field_error(invalid_value(value, "must be a port number or a port name"))


ProbePort = Annotated[Any, AfterValidator(_probe_port)]


class HTTPGetAction(ApiModel):
    path: StrictStr = "/"
    port: ProbePort
    host: StrictStr | None = None
    scheme: Literal["HTTP"] = "HTTP"


class TCPSocketAction(ApiModel):
    port: ProbePort
    host: StrictStr | None = None


class ExecAction(ApiModel):
    command: list[StrictStr]


class Probe(ApiModel):
    """A kubelet probe: one handler, checked every periodSeconds from the node."""

    httpGet: HTTPGetAction | None = None
    tcpSocket: TCPSocketAction | None = None
    exec: ExecAction | None = None
    initialDelaySeconds: StrictInt = 0
    periodSeconds: StrictInt = 10
    timeoutSeconds: StrictInt = 1
    successThreshold: StrictInt = 1
    failureThreshold: StrictInt = 3

    @model_validator(mode="after")
    def _one_handler(self) -> Probe:
        problems = ProblemList()
        handlers = [h for h in ("httpGet", "tcpSocket", "exec") if getattr(self, h) is not None]
        if len(handlers) != 1:
            problems.add((), required_value("must specify exactly one of httpGet, tcpSocket, exec"))
        for name in ("periodSeconds", "timeoutSeconds", "successThreshold", "failureThreshold"):
            if getattr(self, name) < 1:
                problems.add((name,), invalid_value(getattr(self, name), "must be greater than or equal to 1"))
        if self.initialDelaySeconds < 0:
            problems.add(("initialDelaySeconds",), invalid_value(self.initialDelaySeconds, "must be greater than or equal to 0"))
        problems.raise_if_any()
        return self


class Container(ApiModel):
    name: DNS1123Label
    image: StrictStr
    command: list[StrictStr] | None = None
    args: list[StrictStr] | None = None
    env: list[EnvVar] = []
    ports: list[ContainerPort] = []
    workingDir: StrictStr | None = None
    readinessProbe: Probe | None = None
    livenessProbe: Probe | None = None

    @field_validator("image")
    @classmethod
    def _image_given(cls, value: str) -> str:
        if not value.strip():
            raise field_error(required_value())
        return value


class PodSpec(ApiModel):
    containers: list[Container]
    nodeName: DNS1123Subdomain | None = None
    nodeSelector: Labels = {}
    hostname: DNS1123Label | None = None
    subdomain: DNS1123Label | None = None
    restartPolicy: Literal["Always", "OnFailure", "Never"] = "Always"
    terminationGracePeriodSeconds: StrictInt | None = None

    @field_validator("terminationGracePeriodSeconds")
    @classmethod
    def _non_negative(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise field_error(invalid_value(value, "must be greater than or equal to 0"))
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> PodSpec:
        problems = ProblemList()
        if not self.containers:
            problems.add(("containers",), required_value())
        container_names: set[str] = set()
        port_names: set[str] = set()
        for i, container in enumerate(self.containers):
            if container.name in container_names:
                problems.add(("containers", i, "name"), duplicate_value(container.name))
            container_names.add(container.name)
            for j, port in enumerate(container.ports):
                if port.name is None:
                    continue
                # Port names are unique across the whole pod: a Service's named targetPort
                # must resolve to exactly one port.
                if port.name in port_names:
                    problems.add(("containers", i, "ports", j, "name"), duplicate_value(port.name))
                port_names.add(port.name)
        problems.raise_if_any()
        return self


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


class ServiceSpec(ApiModel):
    type: ServiceType = "ClusterIP"
    selector: Labels | None = None
    ports: list[ServicePort] = []
    clusterIP: StrictStr | None = None
    clusterIPs: list[StrictStr] | None = None  # accepted; netlab is single-stack IPv4
    externalName: StrictStr | None = None
    sessionAffinity: Literal["None", "ClientIP"] | None = None
    sessionAffinityConfig: SessionAffinityConfig | None = None
    externalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    internalTrafficPolicy: Literal["Cluster", "Local"] | None = None
    loadBalancerIP: IPv4String | None = None
    loadBalancerSourceRanges: list[IPv4CIDR] = []
    externalIPs: list[IPv4String] = []
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
        errors = _ipv4_errors(value)
        if errors:
            detail = errors[0] + ", or 'None' for a headless Service"
            raise field_error(invalid_value(value, detail))
        return value

    @model_validator(mode="after")
    def _cross_field(self) -> ServiceSpec:
        problems = ProblemList()
        self._check_ports(problems)
        self._check_type(problems)
        problems.raise_if_any()
        return self

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
