"""netlab's API types and manifest loader (Kubernetes' core/v1 types plus kubectl's validation)."""

from netlab.api.cluster import (
    ClusterConfig,
    cluster_from_document,
    default_cluster,
    load_cluster_config,
)
from netlab.api.clusterfields import ClusterNode
from netlab.api.field import FieldProblem
from netlab.api.kinds import MODELLED_KINDS, NAMESPACED_KINDS, ApiObject, obj_key, object_from_dict
from netlab.api.labels import Requirement, Selector, parse_label_selector, selector_from_dict
from netlab.api.loader import LoadResult, load_manifests, parse_documents
from netlab.api.meta import ObjectMeta, ignored_fields
from netlab.api.models import (
    Container,
    ContainerPort,
    EnvVar,
    Namespace,
    Pod,
    PodSpec,
    Service,
    ServicePort,
    ServiceSpec,
)
from netlab.api.networkpolicy import NetworkPolicy

__all__ = [
    "MODELLED_KINDS",
    "NAMESPACED_KINDS",
    "ApiObject",
    "ClusterConfig",
    "ClusterNode",
    "Container",
    "ContainerPort",
    "EnvVar",
    "FieldProblem",
    "LoadResult",
    "Namespace",
    "NetworkPolicy",
    "ObjectMeta",
    "Pod",
    "PodSpec",
    "Requirement",
    "Selector",
    "Service",
    "ServicePort",
    "ServiceSpec",
    "cluster_from_document",
    "default_cluster",
    "ignored_fields",
    "load_cluster_config",
    "load_manifests",
    "obj_key",
    "object_from_dict",
    "parse_documents",
    "parse_label_selector",
    "selector_from_dict",
]
