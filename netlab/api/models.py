"""The core/v1 kinds netlab models: Pod (containers, ports, env, probes), Service, Namespace.

Field names are Kubernetes' own camelCase (`pod.spec.containers[0].ports[0].containerPort`),
so a reader can check them against the API reference. Checks follow
pkg/apis/core/validation: single-field rules sit on the field's type (the field types in
meta.py, or a field validator here), cross-field rules in one validator per object that reports
every problem with its field path.

Fields Kubernetes has but netlab does not model (resources, volumes, ...) are accepted and
kept; meta.py's ApiModel and `ignored_fields()` say how.
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
from netlab.api.families import family_name, family_of
from netlab.api.volumes import EnvFromSource, Volume, VolumeMount, mount_problems
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
    DNS1123Subdomain,
    IanaSvcName,
    IPString,
    Labels,
    ObjectMeta,
    PortNumber,
    Protocol,
    _ip_errors,
    _port_range,
)

# --- Pod ----------------------------------------------------------------------------------------


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
