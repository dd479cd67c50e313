"""The workload controllers' pure planners and the apps/v1 models, without a lab.

Each planner is one sync of an upstream controller (pkg/controller/deployment, replicaset,
statefulset): given what exists, what is the next step? The rollout tests drive the Deployment
planner step by step, as the reconcile loop does, and check Kubernetes' promises at every step:
never more than replicas + maxSurge pods, never fewer than replicas - maxUnavailable ready ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydantic import ValidationError

from netlab.api.field import problems_from_validation_error
from netlab.api.workloads import Deployment, ReplicaSet, StatefulSet
from netlab.controllers.workloads import (
    ALPHANUMS,
    DeploymentStep,
    ReplicaPod,
    ReplicaSetState,
    StatefulStep,
    fnv32a,
    ordinal,
    plan_deployment,
    plan_replicaset,
    plan_statefulset,
    resolve_int_or_percent,
    safe_encode,
    template_hash,
)

TEMPLATE = {
    "metadata": {"labels": {"app": "image-processing"}},
    "spec": {"containers": [{"name": "processor", "image": "example.com/image-processing:1.0", "ports": [{"containerPort": 8080}]}]},
}


# --- pod-template-hash ------------------------------------------------------------------------


def test_fnv32a_matches_the_reference_vectors():
    # FNV-1a 32-bit test vectors (the hash apimachinery's ComputeHash uses).
    assert fnv32a(b"") == 0x811C9DC5
    assert fnv32a(b"a") == 0xE40C292C
    assert fnv32a(b"foobar") == 0xBF9CF968


def test_safe_encode_uses_only_the_safe_alphabet():
    assert safe_encode("0123456789") and set(safe_encode("0123456789")) <= set(ALPHANUMS)
    assert not set("aeiou01") & set(ALPHANUMS)  # no vowels (no words), no look-alikes


def test_template_hash_is_stable_whatever_the_key_order():
    reordered = {"spec": dict(reversed(list(TEMPLATE["spec"].items()))), "metadata": TEMPLATE["metadata"]}
    assert template_hash(TEMPLATE) == template_hash(reordered) == template_hash(dict(TEMPLATE))


def test_template_hash_is_a_short_label_value_of_the_safe_alphabet():
    value = template_hash(TEMPLATE)
    assert 1 <= len(value) <= 10  # str() of a 32-bit number
    assert set(value) <= set(ALPHANUMS)


def test_a_changed_template_gets_another_hash():
    changed = {**TEMPLATE, "spec": {"containers": [{**TEMPLATE["spec"]["containers"][0], "image": "example.com/image-processing:1.1"}]}}
    relabelled = {**TEMPLATE, "metadata": {"labels": {"app": "image-processing", "track": "canary"}}}
    assert len({template_hash(TEMPLATE), template_hash(changed), template_hash(relabelled)}) == 3


# --- int or percent -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "total", "round_up", "expected"),
    [
        (2, 10, True, 2),
        ("25%", 10, True, 3),  # maxSurge rounds up: 2.5 -> 3
        ("25%", 10, False, 2),  # maxUnavailable rounds down: 2.5 -> 2
        ("25%", 3, True, 1),
        ("25%", 3, False, 0),
        ("100%", 4, False, 4),
        ("0%", 4, True, 0),
    ],
)
def test_int_or_percent_rounds_like_upstream(value, total, round_up, expected):
    assert resolve_int_or_percent(value, total, round_up) == expected


# --- Deployment ---------------------------------------------------------------------------------


def rs(name: str, replicas: int, pods: int | None = None, available: int | None = None, created: float = 1.0, hash: str | None = None) -> ReplicaSetState:
    pods = replicas if pods is None else pods
    available = pods if available is None else available
    return ReplicaSetState(name, hash or name.rsplit("-", 1)[1], replicas, pods, available, created)


def test_a_new_deployment_creates_its_replicaset_with_every_replica():
    step = plan_deployment("web", 3, "RollingUpdate", "25%", "25%", "abc", [])
    assert step == DeploymentStep(create="web-abc", scale={"web-abc": 3})


def test_a_deployment_at_rest_needs_nothing():
    step = plan_deployment("web", 3, "RollingUpdate", "25%", "25%", "abc", [rs("web-abc", 3)])
    assert step.empty


def test_scaling_up_raises_the_replicaset_at_once():
    step = plan_deployment("web", 5, "RollingUpdate", "25%", "25%", "abc", [rs("web-abc", 3)])
    assert step == DeploymentStep(scale={"web-abc": 5})


def test_scaling_down_lowers_the_replicaset_at_once():
    step = plan_deployment("web", 1, "RollingUpdate", "25%", "25%", "abc", [rs("web-abc", 3)])
    assert step == DeploymentStep(scale={"web-abc": 1})


def test_scaling_to_zero_keeps_the_replicaset():
    step = plan_deployment("web", 0, "RollingUpdate", "25%", "25%", "abc", [rs("web-abc", 3)])
    assert step == DeploymentStep(scale={"web-abc": 0})


def test_a_rollout_starts_by_surging_one_new_pod():
    # 4 replicas, 25%: maxSurge 1 (rounded up), maxUnavailable 1 (rounded down).
    step = plan_deployment("web", 4, "RollingUpdate", "25%", "25%", "new", [rs("web-old", 4)])
    assert step.create == "web-new"
    assert step.scale == {"web-new": 1}  # 5 pods in all: replicas + maxSurge
    assert step.delete == ()


def test_the_old_replicaset_shrinks_within_max_unavailable():
    # The new pod is not ready yet: one old pod may go (4 - maxUnavailable 1 = 3 stay available).
    step = plan_deployment("web", 4, "RollingUpdate", "25%", "25%", "new", [rs("web-old", 4), rs("web-new", 1, available=0, created=2)])
    assert step == DeploymentStep(scale={"web-old": 3})


def test_with_zero_unavailable_old_pods_wait_for_new_ready_ones():
    sets = [rs("web-old", 3), rs("web-new", 1, available=0, created=2)]
    assert plan_deployment("web", 3, "RollingUpdate", 1, 0, "new", sets).empty
    ready = [rs("web-old", 3), rs("web-new", 1, created=2)]
    assert plan_deployment("web", 3, "RollingUpdate", 1, 0, "new", ready) == DeploymentStep(scale={"web-old": 2})


def test_percentages_are_resolved_against_replicas():
    # 3 replicas, 50%: maxSurge ceil(1.5) = 2, maxUnavailable floor(1.5) = 1.
    step = plan_deployment("web", 3, "RollingUpdate", "50%", "50%", "new", [rs("web-old", 3)])
    assert step.scale == {"web-new": 2}
    # Both new pods not ready: 5 pods, 3 old available, minimum 2 -> one old pod may go.
    step = plan_deployment("web", 3, "RollingUpdate", "50%", "50%", "new", [rs("web-old", 3), rs("web-new", 2, available=0, created=2)])
    assert step == DeploymentStep(scale={"web-old": 2})


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", "0%"), ("0%", "10%")])
def test_when_both_resolve_to_zero_one_pod_may_be_unavailable(surge, unavailable):
    # Upstream's ResolveFenceposts: a rollout with no surge and no unavailability could never
    # proceed, so maxUnavailable becomes 1 (here 10% of 3 rounds down to 0 too).
    step = plan_deployment("web", 3, "RollingUpdate", surge, unavailable, "new", [rs("web-old", 3)])
    assert step == DeploymentStep(create="web-new", scale={"web-new": 0, "web-old": 2})


def test_a_finished_rollout_keeps_the_empty_old_replicaset_as_history():
    sets = [rs("web-old", 0, created=1), rs("web-new", 3, created=2)]
    assert plan_deployment("web", 3, "RollingUpdate", "25%", "25%", "new", sets).empty
    assert plan_deployment("web", 3, "RollingUpdate", "25%", "25%", "new", sets, history_limit=0) == DeploymentStep(delete=("web-old",))


def test_only_the_oldest_revisions_beyond_the_history_limit_are_deleted():
    # Revisions 1-4, the older revisions created later (a rollback renumbers a ReplicaSet).
    sets = [ReplicaSetState(f"web-r{i}", f"r{i}", 0, 0, 0, 10.0 - i, revision=i) for i in (1, 2, 3, 4)]
    sets.append(rs("web-new", 3, created=20))
    step = plan_deployment("web", 3, "RollingUpdate", "25%", "25%", "new", sets, history_limit=2)
    assert step == DeploymentStep(delete=("web-r1", "web-r2"))  # by revision, not by age


def test_an_old_replicaset_is_kept_while_its_pods_still_exist():
    sets = [rs("web-old", 0, pods=1, available=1, created=1), rs("web-new", 3, created=2)]
    assert plan_deployment("web", 3, "RollingUpdate", "25%", "25%", "new", sets).empty


def test_unhealthy_old_pods_are_cut_before_healthy_ones():
    # Two old revisions; the newer one is broken (its pod never became ready). Scaling down
    # goes for the pod that serves nobody, even though its ReplicaSet is not the oldest.
    sets = [
        rs("web-old1", 2, created=1),
        rs("web-old2", 1, available=0, created=2),
        rs("web-new", 1, created=3),
    ]
    step = plan_deployment("web", 3, "RollingUpdate", 1, 0, "new", sets)
    assert step == DeploymentStep(scale={"web-old2": 0})


def test_oldest_replicaset_is_scaled_down_first():
    sets = [rs("web-old1", 2, created=1), rs("web-old2", 2, created=2), rs("web-new", 0, created=3)]
    step = plan_deployment("web", 4, "RollingUpdate", 0, 1, "new", sets)
    assert step == DeploymentStep(scale={"web-old1": 1})


def test_recreate_removes_every_old_pod_before_a_new_one():
    step = plan_deployment("web", 3, "Recreate", "25%", "25%", "new", [rs("web-old", 3)])
    assert step == DeploymentStep(create="web-new", scale={"web-new": 0, "web-old": 0})
    # The old ReplicaSet is at 0 but its pods are still terminating: the new one waits.
    waiting = [rs("web-old", 0, pods=2, available=2), rs("web-new", 0, created=2)]
    assert plan_deployment("web", 3, "Recreate", "25%", "25%", "new", waiting).empty
    gone = [rs("web-old", 0), rs("web-new", 0, created=2)]
    assert plan_deployment("web", 3, "Recreate", "25%", "25%", "new", gone) == DeploymentStep(scale={"web-new": 3})


@dataclass
class _Set:
    name: str
    hash: str
    replicas: int
    pods: int
    ready: int
    created: float


def _rollout(replicas: int, surge: int | str, unavailable: int | str, strategy: str = "RollingUpdate") -> list[tuple[int, int]]:
    """Drive a rollout from revision "old" to "new" like the reconcile loop: each round the
    Deployment planner runs, the ReplicaSets make or remove pods at once (not ready yet), then
    every pod becomes ready. Returns (pods, ready pods) after each round's changes, and at the end."""
    sets = {"web-old": _Set("web-old", "old", replicas, replicas, replicas, 1.0)}
    seen = []
    for round_ in range(50):
        states = [ReplicaSetState(s.name, s.hash, s.replicas, s.pods, s.ready, s.created) for s in sets.values()]
        step = plan_deployment("web", replicas, strategy, surge, unavailable, "new", states, history_limit=0)
        if step.empty:
            assert list(sets) == ["web-new"], sets
            return seen + [(sets["web-new"].pods, sets["web-new"].ready)]
        if step.create:
            sets[step.create] = _Set(step.create, "new", 0, 0, 0, 2.0 + round_)
        for name, count in step.scale.items():
            sets[name].replicas = count
        for name in step.delete:
            del sets[name]
        for s in sets.values():  # the ReplicaSet controller: unready pods go first
            if s.pods > s.replicas:
                s.ready -= max(0, (s.pods - s.replicas) - (s.pods - s.ready))
            s.pods = s.replicas
        seen.append((sum(s.pods for s in sets.values()), sum(s.ready for s in sets.values())))
        for s in sets.values():  # the kubelet: every pod becomes ready
            s.ready = s.pods
    raise AssertionError(f"rollout did not finish: {sets}")


@pytest.mark.parametrize(
    ("replicas", "surge", "unavailable", "most", "fewest_ready"),
    [
        (3, "25%", "25%", 4, 3),  # the defaults with 3 replicas: surge 1, unavailable 0
        (4, "25%", "25%", 5, 3),
        (10, "25%", "25%", 13, 8),
        (3, 1, 0, 4, 3),
        (3, 0, 1, 3, 2),
        (5, "40%", "40%", 7, 3),
        (3, "0%", "0%", 3, 2),
    ],
)
def test_a_rollout_stays_within_max_surge_and_max_unavailable(replicas, surge, unavailable, most, fewest_ready):
    seen = _rollout(replicas, surge, unavailable)
    assert max(p for p, _ in seen) <= most
    assert min(r for _, r in seen) >= fewest_ready
    assert seen[-1] == (replicas, replicas)


def test_a_recreate_rollout_has_a_moment_with_no_pod():
    seen = _rollout(3, "25%", "25%", "Recreate")
    assert (0, 0) in seen
    assert seen[-1] == (3, 3)


# --- ReplicaSet ---------------------------------------------------------------------------------


def test_a_replicaset_short_of_pods_creates_the_difference():
    pods = [ReplicaPod("web-a", True, 1.0, "node-a")]
    assert plan_replicaset(3, pods) == (2, ())


def test_a_replicaset_at_its_count_does_nothing():
    pods = [ReplicaPod("web-a", True, 1.0, "node-a"), ReplicaPod("web-b", False, 2.0, "node-b")]
    assert plan_replicaset(2, pods) == (0, ())


def test_unscheduled_then_unready_then_newest_pods_go_first():
    # Upstream's ActivePods ordering: the pods whose loss costs least are deleted first.
    pods = [
        ReplicaPod("old-ready", True, 1.0, "node-a"),
        ReplicaPod("pending", False, 0.5, None),
        ReplicaPod("not-ready", False, 0.1, "node-b"),
        ReplicaPod("new-ready", True, 3.0, "node-b"),
        ReplicaPod("mid-ready", True, 2.0, "node-a"),
    ]
    assert plan_replicaset(4, pods) == (0, ("pending",))
    assert plan_replicaset(2, pods) == (0, ("pending", "not-ready", "new-ready"))
    assert plan_replicaset(0, pods) == (0, ("pending", "not-ready", "new-ready", "mid-ready", "old-ready"))


# --- StatefulSet --------------------------------------------------------------------------------


def sts_pod(i: int, ready: bool = True, revision: str = "r1", name: str = "web") -> tuple[ReplicaPod, str]:
    return ReplicaPod(f"{name}-{i}", ready, float(i), "node-a"), revision


def test_ordinals_are_read_from_pod_names():
    assert ordinal("web", "web-0") == 0
    assert ordinal("web", "web-12") == 12
    assert ordinal("web", "web-x") is None
    assert ordinal("web", "webserver-1") is None
    assert ordinal("web", "web-app-1") is None


def test_ordered_ready_creates_web_0_first():
    assert plan_statefulset("web", 3, False, "r1", []) == StatefulStep(create=(0,))


def test_ordered_ready_waits_for_each_pod_to_be_ready():
    assert plan_statefulset("web", 3, False, "r1", [sts_pod(0, ready=False)]) == StatefulStep()
    assert plan_statefulset("web", 3, False, "r1", [sts_pod(0)]) == StatefulStep(create=(1,))
    assert plan_statefulset("web", 3, False, "r1", [sts_pod(0), sts_pod(1)]) == StatefulStep(create=(2,))
    assert plan_statefulset("web", 3, False, "r1", [sts_pod(0), sts_pod(1), sts_pod(2)]) == StatefulStep()


def test_a_lost_pod_is_recreated_under_the_same_ordinal():
    # web-1 was on the failed node: it comes back as web-1 (same name, same DNS name).
    assert plan_statefulset("web", 3, False, "r1", [sts_pod(0), sts_pod(2)]) == StatefulStep(create=(1,))
    assert plan_statefulset("web", 3, False, "r1", [sts_pod(1), sts_pod(2)]) == StatefulStep(create=(0,))


def test_parallel_creates_every_missing_pod_at_once():
    assert plan_statefulset("web", 3, True, "r1", []) == StatefulStep(create=(0, 1, 2))
    assert plan_statefulset("web", 3, True, "r1", [sts_pod(0, ready=False)]) == StatefulStep(create=(1, 2))


def test_scale_down_removes_the_highest_ordinal_first():
    pods = [sts_pod(0), sts_pod(1), sts_pod(2), sts_pod(3)]
    assert plan_statefulset("web", 2, False, "r1", pods) == StatefulStep(delete=("web-3",))
    assert plan_statefulset("web", 2, False, "r1", pods[:3]) == StatefulStep(delete=("web-2",))


def test_parallel_scale_down_removes_every_extra_pod_at_once():
    pods = [sts_pod(0), sts_pod(1), sts_pod(2), sts_pod(3)]
    assert plan_statefulset("web", 2, True, "r1", pods) == StatefulStep(delete=("web-3", "web-2"))


def test_rolling_update_replaces_the_highest_stale_ordinal():
    pods = [sts_pod(0), sts_pod(1), sts_pod(2)]
    assert plan_statefulset("web", 3, False, "r2", pods) == StatefulStep(delete=("web-2",))
    # web-2 is on the new revision: web-1 is next.
    pods = [sts_pod(0), sts_pod(1), sts_pod(2, revision="r2")]
    assert plan_statefulset("web", 3, False, "r2", pods) == StatefulStep(delete=("web-1",))


def test_rolling_update_waits_until_every_pod_is_ready():
    pods = [sts_pod(0), sts_pod(1), sts_pod(2, ready=False, revision="r2")]
    assert plan_statefulset("web", 3, False, "r2", pods) == StatefulStep()


def test_a_statefulset_on_the_current_revision_is_left_alone():
    pods = [sts_pod(0, revision="r2"), sts_pod(1, revision="r2")]
    assert plan_statefulset("web", 2, False, "r2", pods) == StatefulStep()


def test_pods_without_an_ordinal_of_this_set_are_ignored():
    pods = [sts_pod(0), (ReplicaPod("web-x", True, 0.0, "node-a"), "r0")]
    assert plan_statefulset("web", 1, False, "r1", pods) == StatefulStep()


# --- validation of the models ---------------------------------------------------------------------


def workload(kind: str = "Deployment", **spec) -> dict:
    body = {
        "replicas": 3,
        "selector": {"matchLabels": {"app": "image-processing"}},
        "template": {
            "metadata": {"labels": {"app": "image-processing"}},
            "spec": {"containers": [{"name": "processor", "image": "example.com/image-processing:1.0"}]},
        },
    }
    body.update(spec)
    return {"apiVersion": "apps/v1", "kind": kind, "metadata": {"name": "image-processing"}, "spec": body}


MODELS = {"Deployment": Deployment, "ReplicaSet": ReplicaSet, "StatefulSet": StatefulSet}


def problems(data: dict) -> list[str]:
    with pytest.raises(ValidationError) as info:
        MODELS[data["kind"]].model_validate(data)
    return [str(p) for p in problems_from_validation_error(info.value)]


def test_a_deployment_gets_kubernetes_defaults():
    data = workload()
    del data["spec"]["replicas"]
    deploy = Deployment.model_validate(data)
    assert deploy.spec.replicas == 1
    assert deploy.spec.strategy.type == "RollingUpdate"
    assert deploy.spec.template.spec.restartPolicy == "Always"


def test_a_statefulset_defaults_to_ordered_ready():
    sts = StatefulSet.model_validate(workload("StatefulSet", serviceName="nginx"))
    assert sts.spec.podManagementPolicy == "OrderedReady"
    assert sts.spec.serviceName == "nginx"


@pytest.mark.parametrize("kind", MODELS)
def test_the_selector_must_match_the_template_labels(kind):
    found = problems(workload(kind, selector={"matchLabels": {"app": "other"}}))
    assert found == ['spec.template.metadata.labels: Invalid value: {"app": "image-processing"}: `selector` does not match template `labels`']


@pytest.mark.parametrize("kind", MODELS)
def test_match_expressions_count_too(kind):
    selector = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["other"]}]}
    assert any("does not match template" in p for p in problems(workload(kind, selector=selector)))
    good = {"matchExpressions": [{"key": "app", "operator": "In", "values": ["image-processing", "x"]}]}
    MODELS[kind].model_validate(workload(kind, selector=good))


@pytest.mark.parametrize("kind", MODELS)
def test_an_empty_selector_is_refused(kind):
    assert any(p.startswith("spec.selector: Invalid value") for p in problems(workload(kind, selector={})))


@pytest.mark.parametrize(("kind", "policy"), [(k, p) for k in MODELS for p in ("Never", "OnFailure")])
def test_a_template_must_restart_always(kind, policy):
    data = workload(kind)
    data["spec"]["template"]["spec"]["restartPolicy"] = policy
    assert problems(data) == [f'spec.template.spec.restartPolicy: Unsupported value: "{policy}": supported values: "Always"']


def test_negative_replicas_are_refused():
    assert problems(workload(replicas=-1)) == ["spec.replicas: Invalid value: -1: must be greater than or equal to 0"]


@pytest.mark.parametrize("bad", ["abc", "25", -1, "-5%", "%"])
def test_max_surge_must_be_a_count_or_a_percentage(bad):
    found = problems(workload(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": bad}}))
    assert len(found) == 1 and found[0].startswith("spec.strategy.rollingUpdate.maxSurge: Invalid value")


@pytest.mark.parametrize("good", [0, 2, "0%", "25%", "100%"])
def test_max_surge_accepts_counts_and_percentages(good):
    Deployment.model_validate(workload(strategy={"rollingUpdate": {"maxSurge": good, "maxUnavailable": 1}}))


@pytest.mark.parametrize(("surge", "unavailable"), [(0, 0), ("0%", 0), (0, "0%")])
def test_max_surge_and_max_unavailable_may_not_both_be_zero(surge, unavailable):
    found = problems(workload(strategy={"rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable}}))
    assert len(found) == 1 and found[0].startswith("spec.strategy.rollingUpdate.maxUnavailable: Invalid value")
    assert "may not be 0 when `maxSurge` is 0" in found[0]


def test_max_unavailable_may_not_exceed_100_percent():
    found = problems(workload(strategy={"rollingUpdate": {"maxUnavailable": "150%"}}))
    assert found and found[0].startswith("spec.strategy.rollingUpdate.maxUnavailable")


def test_an_unknown_strategy_is_refused():
    found = problems(workload(strategy={"type": "BlueGreen"}))
    assert len(found) == 1 and found[0].startswith("spec.strategy.type")


def test_a_statefulset_service_name_must_be_a_dns_label():
    assert any(p.startswith("spec.serviceName") for p in problems(workload("StatefulSet", serviceName="Not_A_Label")))


def test_every_problem_is_reported_at_once():
    data = workload(replicas=-2, selector={"matchLabels": {"app": "other"}})
    data["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    assert {p.split(":")[0] for p in problems(data)} == {"spec.replicas", "spec.template.metadata.labels", "spec.template.spec.restartPolicy"}
