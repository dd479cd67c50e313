"""What the NetworkPolicy agent looks at, read from the store: pods with an address, namespace
labels and the policies; and the pod and port references `policy explain` is given."""

from __future__ import annotations

from netlab.api.networkpolicy import NetworkPolicy
from netlab.apiserver.state import Lab
from netlab.controllers.endpoints import PodView, pod_views
from netlab.errors import InvalidInput, NotFound
from netlab.policy.model import PolicyInputs, PolicyPod, policy_from_api


def policy_inputs(lab: Lab, views: list[PodView] | None = None) -> PolicyInputs:
    """Pods with an address (from `views`, or read from the store when None), namespace labels, policies."""
    if views is None:
        views = pod_views(lab)
    # hostNetwork pods (the node's address) are not the pod network's: policies leave them be.
    nodes = {str(ip) for n in lab.topo.nodes for ip in n.underlay_ips}
    return PolicyInputs(
        pods=tuple(PolicyPod(v.namespace, v.name, v.labels, v.ip, v.node, v.ports, tuple(v.ips)) for v in views if v.ip and v.node and v.ip not in nodes),
        namespaces={o.name: (o.manifest.get("metadata") or {}).get("labels") or {} for o in lab.store.list("Namespace")},
        policies=tuple(policy_from_api(NetworkPolicy.model_validate(o.manifest)) for o in lab.store.list("NetworkPolicy")),
    )


def pod_ref(text: str, namespace: str, inputs: PolicyInputs) -> PolicyPod:
    """The pod NAME (in `namespace`) or NAMESPACE/NAME means; it must have an IP."""
    key = text if "/" in text else f"{namespace}/{text}"
    pod = inputs.pod(key)
    if pod is None:
        raise NotFound(f'pod "{key}" not found or has no IP yet (see: netlab get pods -A -o wide)')
    return pod


def port_ref(text: str, pod: PolicyPod, protocol: str) -> int:
    """A port number, or the name of a port the pod declares."""
    if text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    number = pod.named_port(text, protocol)
    if number is None:
        raise InvalidInput(f"port {text!r}: not a number 1-65535 nor a {protocol} port {pod.key} declares")
    return number
