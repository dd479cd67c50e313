"""A Service's IP families, as the apiserver defaults and checks them (pure).

Upstream's `initIPFamilyFields` (pkg/registry/core/service/storage/alloc.go), reduced to what a
lab needs:

- ExternalName Services have no families.
- A headless Service without a selector gets `RequireDualStack` unless it says otherwise, and
  both families even in a single-stack cluster (its endpoints are whatever someone writes).
- Otherwise the policy defaults to `RequireDualStack` when two families or two cluster IPs are
  given, else `SingleStack`; `RequireDualStack` in a single-stack cluster and a family the
  cluster does not have are refused; the families are inferred from the given cluster IPs,
  start with the cluster's primary family, and `PreferDualStack`/`RequireDualStack` add the
  other family when the cluster has it.
- On update, what the user leaves out is kept from the stored Service (as `kubectl apply`
  keeps server-set fields), and the primary family may not change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from netlab.api.families import family_name, family_of
from netlab.api.models import HEADLESS, ServiceSpec


@dataclass(frozen=True)
class ServiceFamilies:
    families: tuple[str, ...]  # ("IPv4", "IPv6"): the apiserver's spec.ipFamilies
    policy: str  # spec.ipFamilyPolicy


def resolve(
    spec: ServiceSpec, cluster: Sequence[int], stored: Mapping | None = None
) -> tuple[ServiceFamilies | None, list[tuple[str, str]]]:
    """(families, problems as (field path, message)); families is None for ExternalName."""
    if spec.type == "ExternalName":
        return None, []
    stored = stored or {}
    problems: list[tuple[str, str]] = []
    names = [family_name(f) for f in cluster]
    families = list(spec.ipFamilies or [])
    policy = spec.ipFamilyPolicy
    ips = list(spec.clusterIPs or ([spec.clusterIP] if spec.clusterIP else []))
    # What the user leaves out is what the stored object has (server-set fields survive an apply).
    if not families and not ips and stored.get("ipFamilies"):
        kept = list(stored["ipFamilies"])
        families = kept if policy in (None, "PreferDualStack", "RequireDualStack") else kept[:1]
    if policy is None and stored.get("ipFamilyPolicy") and not spec.ipFamilies:
        policy = stored["ipFamilyPolicy"]
    for i, ip in enumerate(ips):
        if ip == HEADLESS:
            continue
        family = family_name(family_of(ip))
        if i >= len(families):
            families.append(family)
    headless_selectorless = (ips[:1] == [HEADLESS]) and not spec.selector
    if headless_selectorless:
        policy = policy or "RequireDualStack"
        families = families or [names[0]]
        if len(families) < 2 and policy != "SingleStack":
            families.append("IPv6" if families[0] == "IPv4" else "IPv4")
        return ServiceFamilies(tuple(families), policy), problems
    if policy is None:
        policy = "RequireDualStack" if len(families) == 2 or len(ips) == 2 else "SingleStack"
    if policy == "RequireDualStack" and len(cluster) < 2:
        problems.append(("spec.ipFamilyPolicy", f'Invalid value: "{policy}": this cluster is not configured for dual-stack services'))
    for i, family in enumerate(families):
        if family not in names:
            problems.append((f"spec.ipFamilies[{i}]", f'Invalid value: "{family}": not configured on this cluster'))
    if not families:
        families = [names[0]]
    if policy in ("PreferDualStack", "RequireDualStack") and len(families) == 1 and len(names) == 2:
        families.append(next(n for n in names if n != families[0]))
    if stored.get("ipFamilies") and families and stored["ipFamilies"][0] != families[0]:
        problems.append(("spec.ipFamilies[0]", f'Invalid value: "{families[0]}": may not change once set'))
    return ServiceFamilies(tuple(families), policy), problems


def headless(spec: ServiceSpec) -> bool:
    return spec.clusterIP == HEADLESS or (spec.clusterIPs or [None])[0] == HEADLESS
