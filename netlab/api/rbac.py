"""v1 ServiceAccount and rbac.authorization.k8s.io/v1 Role, ClusterRole, RoleBinding and
ClusterRoleBinding: stored and shown, never enforced (netlab authorizes nothing: every request
is allowed). Tutorials and the docs' tasks apply them next to their Deployments, and the
"Debugging DNS Resolution" task reads CoreDNS's ClusterRole; so they are validated as the
apiserver validates them (pkg/apis/rbac/validation, ValidateServiceAccount) and kept.

- A rule names verbs, and either API groups with resources (and optionally resource names) or
  non-resource URLs, never both; a Role's rules cannot name non-resource URLs.
- A binding's `roleRef` is a Role or ClusterRole of `rbac.authorization.k8s.io`; a
  ClusterRoleBinding may only refer to a ClusterRole; roleRef never changes (admission).
- Subjects are ServiceAccounts (API group "", and a namespace in a ClusterRoleBinding), Users
  or Groups (API group `rbac.authorization.k8s.io`, the v1 default when left out).
- RBAC object names are path segments (`system:coredns` is fine: no `/`, no `%`, not `.` or
  `..`); a ServiceAccount's name is a DNS-1123 subdomain.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import StrictBool, StrictStr, model_validator

from netlab.api import names
from netlab.api.field import ProblemList, invalid_value, required_value, unsupported_value
from netlab.api.meta import ApiModel, DNS1123Subdomain, ObjectMeta, _syntax

GROUP = "rbac.authorization.k8s.io"
API_VERSION = f"{GROUP}/v1"
SUBJECT_KINDS = ("ServiceAccount", "User", "Group")


def path_segment_errors(value: str) -> list[str]:
    """ValidatePathSegmentName: what an RBAC object's name may be."""
    if value in (".", ".."):
        return [f"may not be '{value}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in value]


RBACName = Annotated[StrictStr, _syntax(path_segment_errors)]


class RBACObjectMeta(ObjectMeta):
    name: RBACName  # type: ignore[assignment]


class ServiceAccountMeta(ObjectMeta):
    name: DNS1123Subdomain  # type: ignore[assignment]


class ObjectReference(ApiModel):
    name: StrictStr | None = None


class ServiceAccount(ApiModel):
    apiVersion: Literal["v1"] = "v1"
    kind: Literal["ServiceAccount"] = "ServiceAccount"
    metadata: ServiceAccountMeta
    secrets: list[ObjectReference] = []
    imagePullSecrets: list[ObjectReference] = []
    automountServiceAccountToken: StrictBool | None = None


class PolicyRule(ApiModel):
    verbs: list[StrictStr] = []
    apiGroups: list[StrictStr] = []
    resources: list[StrictStr] = []
    resourceNames: list[StrictStr] = []
    nonResourceURLs: list[StrictStr] = []


def rule_problems(rule: PolicyRule, namespaced: bool, problems: ProblemList, loc: tuple) -> None:
    """ValidatePolicyRule."""
    if not rule.verbs:
        problems.add(loc + ("verbs",), required_value("verbs must contain at least one value"))
    if rule.nonResourceURLs:
        if namespaced:
            problems.add(loc + ("nonResourceURLs",), invalid_value(rule.nonResourceURLs, "namespaced rules cannot apply to non-resource URLs"))
        if rule.apiGroups or rule.resources or rule.resourceNames:
            problems.add(loc + ("nonResourceURLs",), invalid_value(rule.nonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"))
        return
    if not rule.apiGroups:
        problems.add(loc + ("apiGroups",), required_value("resource rules must supply at least one api group"))
    if not rule.resources:
        problems.add(loc + ("resources",), required_value("resource rules must supply at least one resource"))


class AggregationRule(ApiModel):
    clusterRoleSelectors: list[dict[StrictStr, Any]] = []


class Role(ApiModel):
    apiVersion: Literal["rbac.authorization.k8s.io/v1"] = API_VERSION
    kind: Literal["Role"] = "Role"
    metadata: RBACObjectMeta
    rules: list[PolicyRule] = []

    @model_validator(mode="after")
    def _rules(self) -> Role:
        problems = ProblemList()
        for i, rule in enumerate(self.rules):
            rule_problems(rule, True, problems, ("rules", i))
        problems.raise_if_any()
        return self


class ClusterRole(ApiModel):
    apiVersion: Literal["rbac.authorization.k8s.io/v1"] = API_VERSION
    kind: Literal["ClusterRole"] = "ClusterRole"
    metadata: RBACObjectMeta
    rules: list[PolicyRule] = []
    # Stored as written; netlab's control plane does not aggregate (no controller fills rules).
    aggregationRule: AggregationRule | None = None

    @model_validator(mode="after")
    def _rules(self) -> ClusterRole:
        problems = ProblemList()
        for i, rule in enumerate(self.rules):
            rule_problems(rule, False, problems, ("rules", i))
        problems.raise_if_any()
        return self


class RoleRef(ApiModel):
    apiGroup: StrictStr = ""
    kind: StrictStr = ""
    name: StrictStr = ""


class Subject(ApiModel):
    kind: StrictStr = ""
    apiGroup: StrictStr | None = None
    name: StrictStr = ""
    namespace: StrictStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _default_api_group(cls, raw: Any) -> Any:
        """SetDefaults_Subject (rbac/v1): Users and Groups belong to rbac.authorization.k8s.io."""
        if isinstance(raw, dict) and raw.get("apiGroup") is None and raw.get("kind") in ("User", "Group"):
            raw = {**raw, "apiGroup": GROUP}
        return raw


def binding_problems(ref: RoleRef, subjects: list[Subject], namespaced: bool) -> ProblemList:
    """ValidateRoleBinding / ValidateClusterRoleBinding and ValidateRoleBindingSubject."""
    problems = ProblemList()
    if ref.apiGroup != GROUP:
        problems.add(("roleRef", "apiGroup"), unsupported_value(ref.apiGroup, [GROUP]))
    allowed = ["Role", "ClusterRole"] if namespaced else ["ClusterRole"]
    if ref.kind not in allowed:
        problems.add(("roleRef", "kind"), unsupported_value(ref.kind, allowed))
    if not ref.name:
        problems.add(("roleRef", "name"), required_value())
    else:
        for e in path_segment_errors(ref.name):
            problems.add(("roleRef", "name"), invalid_value(ref.name, e))
    for i, s in enumerate(subjects):
        loc: tuple = ("subjects", i)
        if not s.name:
            problems.add(loc + ("name",), required_value())
        if s.kind == "ServiceAccount":
            for e in names.dns1123_subdomain_errors(s.name) if s.name else []:
                problems.add(loc + ("name",), invalid_value(s.name, e))
            if s.apiGroup:
                problems.add(loc + ("apiGroup",), unsupported_value(s.apiGroup, [""]))
            if not namespaced and not s.namespace:
                problems.add(loc + ("namespace",), required_value())
        elif s.kind in ("User", "Group"):
            if s.apiGroup != GROUP:
                problems.add(loc + ("apiGroup",), unsupported_value(s.apiGroup or "", [GROUP]))
        else:
            problems.add(loc + ("kind",), unsupported_value(s.kind, list(SUBJECT_KINDS)))
    return problems


class RoleBinding(ApiModel):
    apiVersion: Literal["rbac.authorization.k8s.io/v1"] = API_VERSION
    kind: Literal["RoleBinding"] = "RoleBinding"
    metadata: RBACObjectMeta
    roleRef: RoleRef
    subjects: list[Subject] = []

    @model_validator(mode="after")
    def _binding(self) -> RoleBinding:
        binding_problems(self.roleRef, self.subjects, True).raise_if_any()
        return self


class ClusterRoleBinding(ApiModel):
    apiVersion: Literal["rbac.authorization.k8s.io/v1"] = API_VERSION
    kind: Literal["ClusterRoleBinding"] = "ClusterRoleBinding"
    metadata: RBACObjectMeta
    roleRef: RoleRef
    subjects: list[Subject] = []

    @model_validator(mode="after")
    def _binding(self) -> ClusterRoleBinding:
        binding_problems(self.roleRef, self.subjects, False).raise_if_any()
        return self

__all__ = ["ServiceAccount", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"]
