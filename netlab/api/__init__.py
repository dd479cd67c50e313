"""netlab's API types and manifest loader (Kubernetes' core/v1 types plus kubectl's validation).

The names below are imported on first use (PEP 562): a command that needs one light module,
such as `labels` for `get -l`, does not pay for building every pydantic model.
"""

from __future__ import annotations

import importlib
from typing import Any

# Exported name -> the module that defines it.
_EXPORTS = {
    "ClusterConfig": "netlab.api.cluster",
    "cluster_from_document": "netlab.api.cluster",
    "default_cluster": "netlab.api.cluster",
    "load_cluster_config": "netlab.api.cluster",
    "ClusterNode": "netlab.api.clusterfields",
    "parse_documents": "netlab.api.documents",
    "EnvVar": "netlab.api.envdns",
    "FieldProblem": "netlab.api.field",
    "MODELLED_KINDS": "netlab.api.kinds",
    "NAMESPACED_KINDS": "netlab.api.kinds",
    "ApiObject": "netlab.api.kinds",
    "obj_key": "netlab.api.kinds",
    "object_from_dict": "netlab.api.kinds",
    "Requirement": "netlab.api.labels",
    "Selector": "netlab.api.labels",
    "parse_label_selector": "netlab.api.labels",
    "selector_from_dict": "netlab.api.labels",
    "LoadResult": "netlab.api.loader",
    "load_manifests": "netlab.api.loader",
    "ObjectMeta": "netlab.api.meta",
    "ignored_fields": "netlab.api.meta",
    "Namespace": "netlab.api.models",
    "Pod": "netlab.api.models",
    "Service": "netlab.api.models",
    "ServicePort": "netlab.api.models",
    "ServiceSpec": "netlab.api.models",
    "NetworkPolicy": "netlab.api.networkpolicy",
    "Container": "netlab.api.podspec",
    "ContainerPort": "netlab.api.podspec",
    "PodSpec": "netlab.api.podspec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
