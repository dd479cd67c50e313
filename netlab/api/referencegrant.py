"""gateway.networking.k8s.io/v1beta1 ReferenceGrant: the owner of a namespace allows objects of
another namespace to refer to its objects (an HTTPRoute to a Service, a Gateway to a TLS
Secret). Without one, such a reference is refused (RefNotPermitted). The checks are the CRD's
(config/crd/standard/gateway.networking.k8s.io_referencegrants.yaml): 1 to 16 `from` and `to`
entries, `from` names a group, a kind and a namespace; `to` a group, a kind and optionally one
name."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictStr, model_validator

from netlab.api import names
from netlab.api.field import ProblemList, invalid_value, required_value
from netlab.api.meta import ApiModel, ObjectMeta

API_VERSION = "gateway.networking.k8s.io/v1beta1"


class ReferenceGrantFrom(ApiModel):
    group: StrictStr
    kind: StrictStr
    namespace: StrictStr

    @model_validator(mode="after")
    def _from(self) -> ReferenceGrantFrom:
        problems = ProblemList()
        for e in names.dns1123_label_errors(self.namespace):
            problems.add(("namespace",), invalid_value(self.namespace, e))
        if not self.kind:
            problems.add(("kind",), required_value())
        problems.raise_if_any()
        return self


class ReferenceGrantTo(ApiModel):
    group: StrictStr
    kind: StrictStr
    name: StrictStr | None = None


class ReferenceGrantSpec(ApiModel):
    from_: list[ReferenceGrantFrom] = Field([], alias="from")
    to: list[ReferenceGrantTo] = []

    model_config = {**ApiModel.model_config, "populate_by_name": True}

    @model_validator(mode="after")
    def _sizes(self) -> ReferenceGrantSpec:
        problems = ProblemList()
        for field, items in (("from", self.from_), ("to", self.to)):
            if not items:
                problems.add((field,), required_value())
            elif len(items) > 16:
                problems.add((field,), invalid_value(len(items), "must have at most 16 items"))
        problems.raise_if_any()
        return self


class ReferenceGrant(ApiModel):
    apiVersion: Literal["gateway.networking.k8s.io/v1beta1"] = API_VERSION
    kind: Literal["ReferenceGrant"] = "ReferenceGrant"
    metadata: ObjectMeta
    spec: ReferenceGrantSpec

    def allows(self, group: str, kind: str, namespace: str, to_group: str, to_kind: str, to_name: str) -> bool:
        """Does this grant (in the target's namespace) let `kind` objects of `namespace` refer to
        the `to_kind` object named `to_name`?"""
        return any((f.group, f.kind, f.namespace) == (group, kind, namespace) for f in self.spec.from_) and any(
            (t.group, t.kind) == (to_group, to_kind) and t.name in (None, "", to_name) for t in self.spec.to
        )


__all__ = ["ReferenceGrant"]
