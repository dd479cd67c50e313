"""`get` and `describe` for ServiceAccounts, Roles, ClusterRoles and their bindings, with
kubectl's columns and describers (k8s.io/kubectl pkg/describe, pkg/printers/internalversion):

- roles: NAME, CREATED AT; bindings: NAME, ROLE (`ClusterRole/view`), AGE, and with `-o wide`
  USERS, GROUPS, SERVICEACCOUNTS (`namespace/name`); ServiceAccounts: NAME, SECRETS, AGE.
- `describe clusterrole|role` prints the PolicyRule table as kubectl does: each rule broken
  down to one resource (or one non-resource URL) per row, rows that differ only by verbs
  compacted, sorted by the rule's Go string (verbs first, then API groups, resources), the
  resource written `resource.group`. The pure part (`policy_rows`, `tabbed`) is unit-tested.
"""

from __future__ import annotations

import time
from typing import Any

from netlab.api.labels import Selector
from netlab.apiserver.state import Lab
from netlab.apiserver.store import StoredObject
from netlab.views.objects import age, metadata, timestamp


def _select(objs: list[StoredObject], selector: Selector | None) -> list[StoredObject]:
    if selector is None:
        return objs
    return [o for o in objs if selector.matches((o.manifest.get("metadata") or {}).get("labels") or {})]


def _rows(lab: Lab, kind: str, namespace: str | None, selector: Selector | None, headers: list[str], row):
    namespaced = kind in ("Role", "RoleBinding", "ServiceAccount")
    rows, docs = [], []
    for o in _select(lab.store.list(kind, namespace if namespaced else None), selector):
        rows.append(([o.namespace] if namespaced and namespace is None else []) + row(o))
        docs.append({**o.manifest, "metadata": metadata(o)})
    return (["NAMESPACE"] + headers if namespaced and namespace is None else headers), rows, docs


def serviceaccounts(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    now = time.time()
    return _rows(lab, "ServiceAccount", namespace, selector, ["NAME", "SECRETS", "AGE"],
                 lambda o: [o.name, len(o.manifest.get("secrets") or []), age(o.created, now)])  # fmt: skip


def _created_at(o: StoredObject) -> list[Any]:
    return [o.name, timestamp(o.created)]


def roles(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    return _rows(lab, "Role", namespace, selector, ["NAME", "CREATED AT"], _created_at)


def clusterroles(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
    return _rows(lab, "ClusterRole", namespace, selector, ["NAME", "CREATED AT"], _created_at)


def subjects_strings(subjects: list[dict]) -> tuple[list[str], list[str], list[str]]:
    """rbac.SubjectsStrings: users, groups, service accounts (`namespace/name`)."""
    users = [s.get("name", "") for s in subjects if s.get("kind") == "User"]
    groups = [s.get("name", "") for s in subjects if s.get("kind") == "Group"]
    accounts = [f"{s.get('namespace', '')}/{s.get('name', '')}" for s in subjects if s.get("kind") == "ServiceAccount"]
    return users, groups, accounts


def _binding_view(kind: str):
    def view(lab: Lab, namespace: str | None, selector: Selector | None, wide: bool):
        now = time.time()

        def row(o: StoredObject) -> list[Any]:
            ref = o.manifest.get("roleRef") or {}
            cells = [o.name, f"{ref.get('kind', '')}/{ref.get('name', '')}", age(o.created, now)]
            if wide:
                cells += [", ".join(part) for part in subjects_strings(o.manifest.get("subjects") or [])]
            return cells

        headers = ["NAME", "ROLE", "AGE"] + (["USERS", "GROUPS", "SERVICEACCOUNTS"] if wide else [])
        return _rows(lab, kind, namespace, selector, headers, row)

    return view


rolebindings = _binding_view("RoleBinding")
clusterrolebindings = _binding_view("ClusterRoleBinding")


# -- describe --------------------------------------------------------------------------------


def _go_list(values: list[str]) -> str:
    """Go's %v of a []string: [a b]."""
    return "[" + " ".join(values) + "]"


def _rule_string(rule: dict) -> str:
    """PolicyRule.String() (generated.pb.go), the key kubectl sorts rules by."""
    return (
        f"&PolicyRule{{Verbs:{_go_list(rule.get('verbs', []))},APIGroups:{_go_list(rule.get('apiGroups', []))},"
        f"Resources:{_go_list(rule.get('resources', []))},ResourceNames:{_go_list(rule.get('resourceNames', []))},"
        f"NonResourceURLs:{_go_list(rule.get('nonResourceURLs', []))},}}"
    )


def breakdown(rule: dict) -> list[dict]:
    """rbac.BreakdownRule: one rule per (group, resource[, name]) and per non-resource URL."""
    out = []
    verbs = list(rule.get("verbs") or [])
    for group in rule.get("apiGroups") or []:
        for resource in rule.get("resources") or []:
            names = rule.get("resourceNames") or []
            if names:
                out += [{"apiGroups": [group], "resources": [resource], "verbs": verbs, "resourceNames": [n]} for n in names]
            else:
                out.append({"apiGroups": [group], "resources": [resource], "verbs": verbs})
    out += [{"nonResourceURLs": [url], "verbs": verbs} for url in rule.get("nonResourceURLs") or []]
    return out


def compact(rules: list[dict]) -> list[dict]:
    """rbac.CompactRules: simple rules (one group, one resource, at most one name) that differ
    only by verbs become one, their verbs in first-seen order."""
    compacted, simple = [], {}
    for rule in rules:
        names = rule.get("resourceNames") or []
        if rule.get("nonResourceURLs") or len(names) > 1 or len(rule.get("apiGroups") or []) != 1 or len(rule.get("resources") or []) != 1:
            compacted.append(rule)
            continue
        key = (rule["apiGroups"][0], rule["resources"][0], tuple(names))
        if key in simple:
            simple[key]["verbs"] += [v for v in rule.get("verbs") or [] if v not in simple[key]["verbs"]]
        else:
            simple[key] = {**rule, "verbs": list(rule.get("verbs") or [])}
    return compacted + list(simple.values())


def combine_resource_group(resources: list[str], groups: list[str]) -> str:
    """CombineResourceGroup: `endpointslices.discovery.k8s.io`, `deployments.apps/scale`."""
    if not resources:
        return ""
    resource, _, sub = resources[0].partition("/")
    if groups and groups[0]:
        resource += "." + groups[0]
    return resource + (f"/{sub}" if sub else "")


def policy_rows(rules: list[dict]) -> list[list[str]]:
    """The PolicyRule table's rows: Resources, Non-Resource URLs, Resource Names, Verbs."""
    broken = compact([r for rule in rules for r in breakdown(rule)])
    broken.sort(key=_rule_string)
    return [
        [
            combine_resource_group(r.get("resources") or [], r.get("apiGroups") or []),
            _go_list(r.get("nonResourceURLs") or []),
            _go_list(r.get("resourceNames") or []),
            _go_list(r.get("verbs") or []),
        ]
        for r in broken
    ]


def tabbed(rows: list[list[str]]) -> list[str]:
    """Go's tabwriter as kubectl's describers set it (padding 2): cells padded to their
    column's width plus two, the last cell as it is."""
    widths = [max(len(r[i]) for r in rows if len(r) > i + 1) for i in range(max(len(r) for r in rows) - 1)]
    return ["".join(c.ljust(widths[i] + 2) if i < len(r) - 1 else c for i, c in enumerate(r)) for r in rows]


def _multiline(title: str, values: dict[str, str], separator: str) -> list[list[str]]:
    """printLabelsMultiline / printAnnotationsMultiline: the first on the title's line, the
    others below it, sorted; `<none>` when empty."""
    if not values:
        return [[f"{title}:", "<none>"]]
    keys = sorted(values)
    return [[f"{title}:" if i == 0 else "", f"{k}{separator}{values[k]}"] for i, k in enumerate(keys)]


def _head(o: StoredObject, namespace: bool) -> list[list[str]]:
    meta = o.manifest.get("metadata") or {}
    rows = [["Name:", o.name]] + ([["Namespace:", o.namespace]] if namespace else [])
    return rows + _multiline("Labels", meta.get("labels") or {}, "=") + _multiline("Annotations", meta.get("annotations") or {}, ": ")


def describe_role(lab: Lab, o: StoredObject) -> list[str]:
    """RoleDescriber and ClusterRoleDescriber."""
    lines = tabbed(_head(o, namespace=False)) + ["PolicyRule:"]
    table = [["Resources", "Non-Resource URLs", "Resource Names", "Verbs"], ["---------", "-----------------", "--------------", "-----"]]
    return lines + ["  " + line for line in tabbed(table + policy_rows(o.manifest.get("rules") or []))]


def describe_binding(lab: Lab, o: StoredObject) -> list[str]:
    """RoleBindingDescriber and ClusterRoleBindingDescriber."""
    ref = o.manifest.get("roleRef") or {}
    lines = tabbed(_head(o, namespace=False)) + ["Role:"] + ["  " + line for line in tabbed([["Kind:", ref.get("kind", "")], ["Name:", ref.get("name", "")]])]
    lines.append("Subjects:")
    table = [["Kind", "Name", "Namespace"], ["----", "----", "---------"]]
    table += [[s.get("kind", ""), s.get("name", ""), s.get("namespace", "")] for s in o.manifest.get("subjects") or []]
    return lines + ["  " + line.rstrip() for line in tabbed(table)]


def describe_serviceaccount(lab: Lab, o: StoredObject) -> list[str]:
    """ServiceAccountDescriber (events follow, from describe())."""
    names = lambda key: ",".join(r.get("name", "") for r in o.manifest.get(key) or []) or "<none>"  # noqa: E731
    rows = _head(o, namespace=True) + [["Image pull secrets:", names("imagePullSecrets")], ["Mountable secrets:", names("secrets")], ["Tokens:", "<none>"]]
    return tabbed(rows)


DESCRIBERS = {
    "ServiceAccount": describe_serviceaccount, "Role": describe_role, "ClusterRole": describe_role,
    "RoleBinding": describe_binding, "ClusterRoleBinding": describe_binding,
}  # fmt: skip
WITHOUT_EVENTS = ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
