"""A first `apply` admits its documents against what a new default lab starts with, before it
builds that lab (no root: a scratch store)."""

from netlab.api.cluster import default_cluster
from netlab.api.kinds import object_from_dict
from netlab.lab.lifecycle import admit_into_new_lab


def pod(namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause"}]}}


def admit(*documents: dict) -> list[str]:
    objects = [object_from_dict(d) for d in documents]
    return admit_into_new_lab(default_cluster("netlab"), objects, ["f.yaml"] * len(objects))


def test_the_quick_start_is_admitted_into_the_lab_it_is_about_to_create():
    # A new lab has kubeadm's namespaces: default, kube-system, kube-public.
    assert admit(pod("default"), pod("kube-system")) == []


def test_a_namespace_no_new_lab_has_is_refused():
    (problem,) = admit(pod("nowhere"))
    assert 'namespaces "nowhere" not found' in problem


def test_the_cluster_dns_address_is_already_taken():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
           "spec": {"clusterIP": "10.96.0.10", "selector": {"a": "b"}, "ports": [{"port": 80}]}}
    (problem,) = admit(svc)
    assert "10.96.0.10" in problem and "allocated" in problem
