"""A Pod's env and DNS fields: `env[].valueFrom` (the Downward API's fieldRef) and
`dnsPolicy`/`dnsConfig`, with pkg/apis/core/validation's checks. The kubelet acts on them in
kubelet/podenv.py and kubelet/podfiles.py."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, StrictStr, field_validator, model_validator

from netlab.api import names
from netlab.api.downward import field_path_error
from netlab.api.field import field_error, field_errors, invalid_value
from netlab.api.meta import ApiModel, EnvVarName, IPString
from netlab.api.volumes import KeySelector

class ObjectFieldSelector(ApiModel):
    apiVersion: StrictStr = "v1"
    fieldPath: StrictStr

    @field_validator("fieldPath")
    @classmethod
    def _known_path(cls, value: str) -> str:
        error = field_path_error(value)
        if error:
            raise field_error(error)
        return value


_NO_SOURCE = 'not supported by netlab (no resources), ignored: the variable is set to ""'


class EnvVarSource(ApiModel):
    """The Downward API's fieldRef and the ConfigMap and Secret keys are honoured (the
    kubelet's podenv.py); resources are not modelled."""

    _warn_when_set = {"resourceFieldRef": _NO_SOURCE}

    fieldRef: ObjectFieldSelector | None = None
    configMapKeyRef: KeySelector | None = None
    secretKeyRef: KeySelector | None = None
    resourceFieldRef: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _one_source(self) -> EnvVarSource:
        given = [k for k in ("fieldRef", "configMapKeyRef", "secretKeyRef", "resourceFieldRef") if getattr(self, k) is not None]
        if not given:
            raise field_error(invalid_value("", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
        if len(given) > 1:
            raise field_error(invalid_value("", "may not have more than one field specified at a time"))
        return self


class EnvVar(ApiModel):
    name: EnvVarName
    value: StrictStr = ""
    valueFrom: EnvVarSource | None = None

    @model_validator(mode="after")
    def _value_or_source(self) -> EnvVar:
        if self.value and self.valueFrom is not None:
            raise field_errors([(("valueFrom",), invalid_value("", "may not be specified when `value` is not empty"))])
        return self


class PodDNSConfigOption(ApiModel):
    name: StrictStr
    value: StrictStr | None = None


def _search_paths(value: list[str]) -> list[str]:
    problems = []
    for i, search in enumerate(value):
        for e in names.dns1123_subdomain_errors(search.removesuffix(".")):
            problems.append(((i,), invalid_value(search, e)))
    if len(value) > MAX_DNS_SEARCH_PATHS:
        problems.append(((), invalid_value(value, f"must not have more than {MAX_DNS_SEARCH_PATHS} search paths")))
    if len(" ".join(value)) > MAX_DNS_SEARCH_LIST_CHARS:
        problems.append(((), invalid_value(value, f"must not have more than {MAX_DNS_SEARCH_LIST_CHARS} characters (including spaces) in the search list")))
    if problems:
        raise field_errors(problems)
    return value


MAX_DNS_NAMESERVERS = 3  # pkg/apis/core/validation, as glibc reads no more
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_LIST_CHARS = 2048


class PodDNSConfig(ApiModel):
    nameservers: list[IPString] = []
    searches: Annotated[list[StrictStr], AfterValidator(_search_paths)] = []
    options: list[PodDNSConfigOption] = []

    @field_validator("nameservers")
    @classmethod
    def _at_most_three(cls, value: list[str]) -> list[str]:
        if len(value) > MAX_DNS_NAMESERVERS:
            raise field_error(invalid_value(value, f"must not have more than {MAX_DNS_NAMESERVERS} nameservers"))
        return value


DNSPolicy = Literal["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
