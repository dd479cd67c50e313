"""A container's environment as the kubelet builds it (pure): the pod's `env` in order, its
Downward API values (`valueFrom.fieldRef`), the Service variables, and `$(VAR)` expansion.

Mirrors pkg/kubelet/kubelet_pods.go `makeEnvironmentVariables`, pkg/kubelet/envvars
`FromServices` and third_party/forked/golang/expansion `Expand`:
- `envFrom` first: every key of the ConfigMap or Secret (with its `prefix`) that is a valid
  variable name; the others are skipped with the kubelet's InvalidEnvironmentVariableNames
  event; a missing object is an error unless `optional`;
- each `env` entry is expanded against the variables defined before it and the Service
  variables; later entries override earlier ones; `configMapKeyRef`/`secretKeyRef` take a
  key's value (a missing object or key: the kubelet's error, the container is not created —
  CreateContainerConfigError — unless `optional`, which leaves the variable out);
- the Service variables of the pod's namespace (when `enableServiceLinks`, the default) and
  of `default/kubernetes` are added for names the container did not set;
- `command` and `args` are expanded against the final environment.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from netlab.api.downward import split_subscript

OPERATOR, OPENER, CLOSER = "$", "(", ")"


def expand(text: str, mapping: Callable[[str], str]) -> str:
    """Kubernetes' `$(VAR)` expansion: `$$` is an escaped `$`; an unknown or unclosed
    reference stays as written."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == OPERATOR and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable(text[cursor + 1 :])
            out.append(mapping(read) if is_var else read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    return "".join(out) + text[checkpoint:]


def _read_variable(rest: str) -> tuple[str, bool, int]:
    if rest[0] == OPERATOR:
        return OPERATOR, False, 1
    if rest[0] == OPENER:
        end = rest.find(CLOSER, 1)
        if end != -1:
            return rest[1:end], True, end + 1
        return OPERATOR + OPENER, False, 1
    return OPERATOR + rest[0], False, 1


def mapping_for(*contexts: Mapping[str, str]) -> Callable[[str], str]:
    def lookup(name: str) -> str:
        for context in contexts:
            if name in context:
                return context[name]
        return f"$({name})"

    return lookup


# --- Service variables (pkg/kubelet/envvars) ---------------------------------------------------


@dataclass(frozen=True)
class ServicePortEnv:
    name: str | None
    port: int
    protocol: str


@dataclass(frozen=True)
class ServiceEnv:
    """What a Service contributes: its name, cluster IP and ports."""

    namespace: str
    name: str
    cluster_ip: str | None  # None or "None": no variables (headless, ExternalName)
    ports: tuple[ServicePortEnv, ...]


def _var_name(name: str) -> str:
    return name.replace("-", "_").upper()


def service_variables(service: ServiceEnv) -> list[tuple[str, str]]:
    """envvars.FromServices for one Service, in upstream's order."""
    ip = service.cluster_ip
    if not ip or ip == "None" or not service.ports:
        return []
    prefix = _var_name(service.name)
    result = [(f"{prefix}_SERVICE_HOST", ip), (f"{prefix}_SERVICE_PORT", str(service.ports[0].port))]
    for port in service.ports:
        if port.name:
            result.append((f"{prefix}_SERVICE_PORT_{_var_name(port.name)}", str(port.port)))
    host = f"[{ip}]" if ":" in ip else ip  # net.JoinHostPort
    for i, port in enumerate(service.ports):
        proto = port.protocol.lower()
        url = f"{proto}://{host}:{port.port}"
        if i == 0:  # Docker special-cases the first port
            result.append((f"{prefix}_PORT", url))
        port_prefix = f"{prefix}_PORT_{port.port}_{port.protocol.upper()}"
        result += [
            (port_prefix, url),
            (f"{port_prefix}_PROTO", proto),
            (f"{port_prefix}_PORT", str(port.port)),
            (f"{port_prefix}_ADDR", ip),
        ]
    return result


MASTER_SERVICES = ("kubernetes",)  # the default namespace's Services every pod gets


def service_env(services: Iterable[ServiceEnv], namespace: str, enable_service_links: bool) -> dict[str, str]:
    """kubelet getServiceEnvVarMap: the Services of the pod's namespace (with service links)
    plus `default/kubernetes`, a namespace's own Service winning over the default one."""
    chosen: dict[str, ServiceEnv] = {}
    for svc in services:
        if svc.namespace == "default" and svc.name in MASTER_SERVICES and svc.name not in chosen:
            chosen[svc.name] = svc
        if svc.namespace == namespace and enable_service_links:
            chosen[svc.name] = svc
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env.update(service_variables(chosen[name]))
    return env


# --- the Downward API (fieldRef) ---------------------------------------------------------------

@dataclass(frozen=True)
class PodFields:
    """The values a pod's Downward API exposes."""

    name: str
    namespace: str
    uid: str
    node_name: str
    service_account: str
    pod_ip: str
    host_ip: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    pod_ips: tuple[str, ...] = ()  # both families in a dual-stack lab, primary first
    host_ips: tuple[str, ...] = ()

    def value(self, path: str) -> str:
        base, key = split_subscript(path)
        if key is not None:
            source = self.labels if base == "metadata.labels" else self.annotations
            return source.get(key, "")
        return {
            "metadata.name": self.name,
            "metadata.namespace": self.namespace,
            "metadata.uid": self.uid,
            "spec.nodeName": self.node_name,
            "spec.serviceAccountName": self.service_account,
            "status.podIP": self.pod_ip,
            # The kubelet joins the list with commas (pkg/kubelet/kubelet_pods.go podFieldSelectorRuntimeValue).
            "status.podIPs": ",".join(self.pod_ips) or self.pod_ip,
            "status.hostIP": self.host_ip,
            "status.hostIPs": ",".join(self.host_ips) or self.host_ip,
        }.get(path, "")


# --- the whole environment -----------------------------------------------------------------------


class EnvError(Exception):
    """The kubelet could not make the environment: the container is not created
    (CreateContainerConfigError) with this message."""


@dataclass(frozen=True)
class KeyRef:
    """configMapKeyRef / secretKeyRef, and (key None) an envFrom source."""

    kind: str  # "configmap" | "secret"
    name: str
    key: str | None = None
    optional: bool = False
    prefix: str = ""


# (kind, name) -> {key: value} of the object, or None when it does not exist
ObjectLookup = Callable[[str, str], "Mapping[str, str] | None"]


@dataclass(frozen=True)
class EnvEntry:
    """One `env` item as the kubelet sees it: a literal value, a fieldRef path or a key ref."""

    name: str
    value: str = ""
    field_path: str | None = None
    ref: KeyRef | None = None


_KIND_TITLE = {"configmap": "ConfigMap", "secret": "Secret"}


def env_from(sources: Sequence[KeyRef], lookup: ObjectLookup, namespace: str) -> tuple[dict[str, str], list[str]]:
    """The envFrom variables and the kubelet's warnings about skipped keys."""
    from netlab.api.names import env_var_name_errors

    found: dict[str, str] = {}
    warnings: list[str] = []
    for source in sources:
        values = lookup(source.kind, source.name)
        if values is None:
            if source.optional:
                continue
            raise EnvError(f'{source.kind} "{source.name}" not found')
        invalid = []
        for key, value in values.items():
            name = source.prefix + key
            if env_var_name_errors(name):
                invalid.append(name)
                continue
            found[name] = value
        if invalid:
            warnings.append(f"Keys [{', '.join(sorted(invalid))}] from the EnvFrom {source.kind.replace('configmap', 'configMap')} "
                            f"{namespace}/{source.name} were skipped since they are considered invalid environment variable names.")  # fmt: skip
    return found, warnings


def _ref_value(ref: KeyRef, lookup: ObjectLookup, namespace: str) -> str | None:
    values = lookup(ref.kind, ref.name)
    if values is None:
        if ref.optional:
            return None
        raise EnvError(f'{ref.kind} "{ref.name}" not found')
    if ref.key not in values:
        if ref.optional:
            return None
        raise EnvError(f"couldn't find key {ref.key} in {_KIND_TITLE[ref.kind]} {namespace}/{ref.name}")
    return values[ref.key]


def container_env(
    entries: Sequence[EnvEntry],
    fields: PodFields,
    services: Mapping[str, str],
    initial: Mapping[str, str] | None = None,
    lookup: ObjectLookup | None = None,
) -> list[tuple[str, str]]:
    """The container's variables in kubelet's order: its envFrom (`initial`), its own `env`
    (expanded), then the Service variables it did not set itself. Raises EnvError."""
    defined: dict[str, str] = dict(initial or {})
    expand_lookup = mapping_for(defined, services)
    for entry in entries:
        if entry.ref is not None:
            found = _ref_value(entry.ref, lookup or (lambda kind, name: None), fields.namespace)
            if found is None:
                continue  # optional and missing: the variable is left out
            value = found
        elif entry.field_path is not None:
            value = fields.value(entry.field_path)
        else:
            value = expand(entry.value, expand_lookup)
        defined[entry.name] = value
    result = list(defined.items())
    result += [(k, v) for k, v in services.items() if k not in defined]
    return result


def expand_argv(words: Sequence[str] | None, env: Mapping[str, str]) -> list[str] | None:
    """ExpandContainerCommandAndArgs: `$(VAR)` in command and args, from the final env."""
    if words is None:
        return None
    lookup = mapping_for(env)
    return [expand(w, lookup) for w in words]
