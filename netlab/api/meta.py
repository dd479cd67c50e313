"""What every API kind shares, like apimachinery's meta/v1: ApiModel, ObjectMeta and field types.

The field types carry their own single-field syntax checks (DNS-1123 names, label and
annotation keys, ports, protocols, IPv4 addresses and CIDRs), so every kind that declares one
reports the apiserver's message for it. Scalars are strict: `containerPort: "80"` is an error,
as it is for the apiserver, not a silent conversion.

Fields Kubernetes has but netlab does not model are accepted and kept (`extra="allow"` on
ApiModel), so `to_dict()` gives back what the user wrote; `ignored_fields()` lists them so the
loader can warn.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StrictInt,
    StrictStr,
    field_validator,
)

from netlab.api import names
from netlab.api.field import (
    FieldProblem,
    Loc,
    field_error,
    field_errors,
    forbidden,
    format_path,
    invalid_value,
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


def _ip_errors(value: str) -> list[str]:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return ["must be a valid IP address (e.g. 10.96.0.10 or fd00:10:96::a)"]
    return []


def _cidr_errors(value: str) -> list[str]:
    try:
        network = ipaddress.ip_network(value, strict=False)
    except ValueError:
        return ["must be a CIDR such as 203.0.113.0/24 or 2001:db8::/64"]
    if str(network) != value:
        return [f"must be a network address with its prefix length; did you mean {network}?"]
    return []


DNS1123Label = Annotated[StrictStr, _syntax(names.dns1123_label_errors)]
DNS1123Subdomain = Annotated[StrictStr, _syntax(names.dns1123_subdomain_errors)]
IanaSvcName = Annotated[StrictStr, _syntax(names.iana_svc_name_errors)]
EnvVarName = Annotated[StrictStr, _syntax(names.env_var_name_errors)]
# Either family: whether the lab has that family is the apiserver's check (admission.py).
IPString = Annotated[StrictStr, _syntax(_ip_errors)]
CIDRString = Annotated[StrictStr, _syntax(_cidr_errors)]
PortNumber = Annotated[StrictInt, AfterValidator(_port_range)]
Labels = Annotated[dict[StrictStr, StrictStr], AfterValidator(_labels)]
Annotations = Annotated[dict[StrictStr, StrictStr], AfterValidator(_annotation_keys)]
# Every protocol the API accepts; whether this kernel carries SCTP is said at apply time
# (kernel/features.sctp_problem), as a warning, not a refusal.
Protocol = Literal["TCP", "UDP", "SCTP"]

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

