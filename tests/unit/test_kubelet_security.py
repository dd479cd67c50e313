"""securityContext: validated as the apiserver does, resolved as the kubelet does (pure)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netlab.api import Pod
from netlab.api.field import problems_from_validation_error
from netlab.kubelet import security


def pod(container_context=None, pod_context=None) -> Pod:
    container = {"name": "c", "image": "busybox", "command": ["sleep", "infinity"]}
    if container_context is not None:
        container["securityContext"] = container_context
    spec = {"containers": [container]}
    if pod_context is not None:
        spec["securityContext"] = pod_context
    return Pod.model_validate({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec})


def problems(**container_context) -> list[str]:
    with pytest.raises(ValidationError) as info:
        pod(container_context)
    return [str(p) for p in problems_from_validation_error(info.value)]


def effective(p: Pod) -> security.Security:
    return security.resolve(p.spec.securityContext, p.spec.containers[0].securityContext)


def test_privileged_is_refused_with_the_reason_and_the_field_path():
    (problem,) = problems(privileged=True)
    assert "spec.containers[0].securityContext.privileged" in problem
    assert "Forbidden" in problem and "host" in problem


def test_a_user_id_out_of_range_is_refused_as_the_apiserver_does():
    (problem,) = problems(runAsUser=-1)
    assert "runAsUser" in problem and "must be between 0 and 2147483647, inclusive" in problem


def test_the_containers_fields_win_over_the_pods():
    p = pod({"runAsUser": 2000}, {"runAsUser": 1000, "runAsGroup": 3000, "supplementalGroups": [4000]})
    assert effective(p) == security.Security(uid=2000, gid=3000, groups=(4000,))


def test_run_as_non_root_without_a_user_is_refused_at_start_with_the_kubelets_words():
    p = pod(pod_context={"runAsNonRoot": True})
    assert security.refusal(effective(p), "p", "c") == "container has runAsNonRoot and image will run as root (pod: 'p', container: c)"
    assert "breaks non-root policy" in security.refusal(effective(pod({"runAsUser": 0, "runAsNonRoot": True})), "p", "c")
    assert security.refusal(effective(pod({"runAsUser": 1000, "runAsNonRoot": True})), "p", "c") is None


def test_the_program_runs_under_setpriv_only_when_the_user_changes():
    argv = ("sleep", "infinity")
    assert security.wrap(argv, security.Security()) == argv
    assert security.wrap(argv, security.Security(uid=0, gid=0)) == argv
    # Without runAsGroup the primary group is 0, as in Kubernetes.
    assert security.wrap(argv, security.Security(uid=1000), "/usr/bin/setpriv") == (
        "/usr/bin/setpriv", "--reuid=1000", "--regid=0", "--clear-groups", "--", "sleep", "infinity",
    )
    assert security.wrap(argv, security.Security(uid=1000, gid=1000, groups=(5, 6)))[1:4] == ("--reuid=1000", "--regid=1000", "--groups=5,6")


def test_read_only_root_comes_from_the_container_only():
    assert effective(pod({"readOnlyRootFilesystem": True})).read_only_root
    assert not effective(pod(pod_context={"runAsUser": 5})).read_only_root
