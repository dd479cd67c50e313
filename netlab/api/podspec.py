"""The Pod's spec types: PodSpec and its containers, ports, probes and security contexts.

The Pod kind itself is in models.py; env and DNS settings are in envdns.py, volumes and
volumeMounts in volumes.py. Checks follow pkg/apis/core/validation as models.py says: a
single-field rule on the field's type or a field validator, cross-field rules in one validator
per object that reports every problem with its field path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from netlab.api import names
from netlab.api.envdns import DNSPolicy, EnvVar, PodDNSConfig
from netlab.api.field import (
    ProblemList,
    duplicate_value,
    field_error,
    forbidden,
    invalid_value,
    required_value,
)
from netlab.api.meta import (
    ApiModel,
    DNS1123Label,
    DNS1123Subdomain,
    IanaSvcName,
    IPString,
    Labels,
    PortNumber,
    Protocol,
    _port_range,
)
from netlab.api.volumes import EnvFromSource, Volume, VolumeMount, mount_problems


class ContainerPort(ApiModel):
    name: IanaSvcName | None = None
    containerPort: PortNumber
    protocol: Protocol = "TCP"
    # Forwarded from the node as the CNI portmap plugin does (proxy/hostports.py); the
    # scheduler keeps two pods from holding the same one on a node.
    hostPort: PortNumber | None = None
    hostIP: IPString | None = None


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


MAX_ID = 2147483647  # runAsUser / runAsGroup: "must be between 0 and 2147483647, inclusive"


def _id_range(value: int | None) -> int | None:
    if value is not None and not 0 <= value <= MAX_ID:
        raise field_error(invalid_value(value, f"must be between 0 and {MAX_ID}, inclusive"))
    return value


UserId = Annotated[StrictInt | None, AfterValidator(_id_range)]


class PodSecurityContext(ApiModel):
    """The pod's defaults for its containers' users (fsGroup and the rest are accepted, unused)."""

    runAsUser: UserId = None
    runAsGroup: UserId = None
    runAsNonRoot: StrictBool | None = None
    supplementalGroups: list[StrictInt] = []
    fsGroup: UserId = None


class SecurityContext(ApiModel):
    """What netlab can honour of a container's securityContext: the user and group the process
    runs as, runAsNonRoot, and a read-only root filesystem (a mount namespace does it).
    `privileged` is refused: a netlab container is a host process, so it would mean the host."""

    runAsUser: UserId = None
    runAsGroup: UserId = None
    runAsNonRoot: StrictBool | None = None
    readOnlyRootFilesystem: StrictBool | None = None
    privileged: StrictBool | None = None
    allowPrivilegeEscalation: StrictBool | None = None

    @field_validator("privileged")
    @classmethod
    def _not_privileged(cls, value: bool | None) -> bool | None:
        if value:
            raise field_error(forbidden(
                "netlab does not run privileged containers: a container is a process on this host, "
                "so privileged would hand it the host itself; drop the field (or set it to false)"
            ))  # fmt: skip
        return value


class Container(ApiModel):
    name: DNS1123Label
    image: StrictStr
    command: list[StrictStr] | None = None
    args: list[StrictStr] | None = None
    env: list[EnvVar] = []
    envFrom: list[EnvFromSource] = []
    ports: list[ContainerPort] = []
    volumeMounts: list[VolumeMount] = []
    workingDir: StrictStr | None = None
    readinessProbe: Probe | None = None
    livenessProbe: Probe | None = None
    securityContext: SecurityContext | None = None

    @field_validator("image")
    @classmethod
    def _image_given(cls, value: str) -> str:
        if not value.strip():
            raise field_error(required_value())
        return value


class PodSpec(ApiModel):
    containers: list[Container]
    volumes: list[Volume] = []
    dnsPolicy: DNSPolicy | None = None  # None: ClusterFirst, the apiserver's default
    dnsConfig: PodDNSConfig | None = None
    enableServiceLinks: StrictBool | None = None  # None: true, as the apiserver defaults it
    hostNetwork: StrictBool | None = None  # the node's namespace and address (kubelet/hostnetwork.py)
    serviceAccountName: DNS1123Subdomain | None = None
    nodeName: DNS1123Subdomain | None = None
    nodeSelector: Labels = {}
    hostname: DNS1123Label | None = None
    subdomain: DNS1123Label | None = None
    restartPolicy: Literal["Always", "OnFailure", "Never"] = "Always"
    terminationGracePeriodSeconds: StrictInt | None = None
    securityContext: PodSecurityContext | None = None

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
        if self.dnsPolicy == "None":
            if self.dnsConfig is None:
                problems.add(("dnsConfig",), required_value("must provide `dnsConfig` when `dnsPolicy` is None"))
            elif not self.dnsConfig.nameservers:
                problems.add(("dnsConfig", "nameservers"), required_value("must provide at least one DNS nameserver when `dnsPolicy` is None"))
        for loc, message in mount_problems(self.volumes, self.containers):
            problems.add(loc, message)
        container_names: set[str] = set()
        port_names: set[str] = set()
        for i, container in enumerate(self.containers):
            if container.name in container_names:
                problems.add(("containers", i, "name"), duplicate_value(container.name))
            container_names.add(container.name)
            for j, port in enumerate(container.ports):
                if self.hostNetwork and port.hostPort is not None and port.hostPort != port.containerPort:
                    problems.add(("containers", i, "ports", j, "hostPort"),
                                 invalid_value(port.hostPort, "must match `containerPort` when `hostNetwork` is true"))  # fmt: skip
                if port.name is None:
                    continue
                # Port names are unique across the whole pod: a Service's named targetPort
                # must resolve to exactly one port.
                if port.name in port_names:
                    problems.add(("containers", i, "ports", j, "name"), duplicate_value(port.name))
                port_names.add(port.name)
        problems.raise_if_any()
        return self
