"""apps/v1 workloads: Deployment, ReplicaSet, StatefulSet (pod templates with a controller).

Validation follows pkg/apis/apps/validation: the selector must be non-empty and match the
template's labels, replicas are non-negative, and a template's restartPolicy must be Always.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import StrictInt, StrictStr, model_validator

from netlab.api.field import ProblemList, invalid_value, unsupported_value
from netlab.api.meta import Annotations, ApiModel, DNS1123Label, Labels, ObjectMeta
from netlab.api.podspec import PodSpec
from netlab.api.selectors import LabelSelector


class TemplateMeta(ApiModel):
    labels: Labels = {}
    annotations: Annotations = {}


class PodTemplateSpec(ApiModel):
    metadata: TemplateMeta = TemplateMeta()
    spec: PodSpec


def _percent_or_int(value: Any) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return isinstance(value, str) and value.endswith("%") and value[:-1].isdigit()


class RollingUpdateDeployment(ApiModel):
    maxSurge: StrictInt | StrictStr = "25%"
    maxUnavailable: StrictInt | StrictStr = "25%"

    @model_validator(mode="after")
    def _int_or_percent(self) -> RollingUpdateDeployment:
        problems = ProblemList()
        for name in ("maxSurge", "maxUnavailable"):
            value = getattr(self, name)
            if not _percent_or_int(value):
                problems.add((name,), invalid_value(value, "must be a non-negative integer or a percentage (e.g. '25%')"))
        value = self.maxUnavailable
        if isinstance(value, str) and _percent_or_int(value) and int(value[:-1]) > 100:
            problems.add(("maxUnavailable",), invalid_value(value, "must not be greater than 100%"))
        if self.maxSurge in (0, "0%") and self.maxUnavailable in (0, "0%"):
            problems.add(("maxUnavailable",), invalid_value(self.maxUnavailable, "may not be 0 when `maxSurge` is 0"))
        problems.raise_if_any()
        return self


class DeploymentStrategy(ApiModel):
    type: Literal["RollingUpdate", "Recreate"] = "RollingUpdate"
    rollingUpdate: RollingUpdateDeployment | None = None


class _WorkloadSpec(ApiModel):
    replicas: StrictInt = 1
    selector: LabelSelector
    template: PodTemplateSpec

    @model_validator(mode="after")
    def _selector_matches_template(self) -> _WorkloadSpec:
        problems = ProblemList()
        if self.replicas < 0:
            problems.add(("replicas",), invalid_value(self.replicas, "must be greater than or equal to 0"))
        if self.selector.empty:
            problems.add(("selector",), invalid_value({}, "empty selector is invalid for deployment"))
        elif not self.selector.matches(self.template.metadata.labels):
            problems.add(
                ("template", "metadata", "labels"),
                invalid_value(self.template.metadata.labels, "`selector` does not match template `labels`"),
            )
        if self.template.spec.restartPolicy != "Always":
            problems.add(
                ("template", "spec", "restartPolicy"),
                unsupported_value(self.template.spec.restartPolicy, ["Always"]),
            )
        problems.raise_if_any()
        return self


class DeploymentSpec(_WorkloadSpec):
    strategy: DeploymentStrategy = DeploymentStrategy()
    minReadySeconds: StrictInt = 0
    revisionHistoryLimit: StrictInt = 10


class Deployment(ApiModel):
    apiVersion: Literal["apps/v1"] = "apps/v1"
    kind: Literal["Deployment"] = "Deployment"
    metadata: ObjectMeta
    spec: DeploymentSpec


class ReplicaSetSpec(_WorkloadSpec):
    minReadySeconds: StrictInt = 0


class ReplicaSet(ApiModel):
    apiVersion: Literal["apps/v1"] = "apps/v1"
    kind: Literal["ReplicaSet"] = "ReplicaSet"
    metadata: ObjectMeta
    spec: ReplicaSetSpec


class StatefulSetSpec(_WorkloadSpec):
    serviceName: DNS1123Label | None = None
    podManagementPolicy: Literal["OrderedReady", "Parallel"] = "OrderedReady"


class StatefulSet(ApiModel):
    apiVersion: Literal["apps/v1"] = "apps/v1"
    kind: Literal["StatefulSet"] = "StatefulSet"
    metadata: ObjectMeta
    spec: StatefulSetSpec
