"""The API types on their own: defaults, Kubernetes' validation rules, dumping back to a dict."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from netlab.api import (
    Container,
    ContainerPort,
    Namespace,
    ObjectMeta,
    Pod,
    PodSpec,
    Service,
    ignored_fields,
    obj_key,
    object_from_dict,
    parse_label_selector,
    selector_from_dict,
)
from netlab.api.field import problems_from_validation_error
from netlab.api.names import (
    dns1123_label_errors,
    is_dns1035_label,
    is_dns1123_label,
    is_iana_svc_name,
    is_qualified_name,
)
from netlab.errors import InvalidInput


def pod_dict(**spec_overrides) -> dict:
    spec = {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}
    spec.update(spec_overrides)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pod-a"}, "spec": spec}


def service_dict(**spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec}


def problems(model, data) -> list[str]:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return [str(p) for p in problems_from_validation_error(info.value)]


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "pod-a", "0abc", "a" * 63])
def test_dns1123_labels_accepted(name):
    assert is_dns1123_label(name)


@pytest.mark.parametrize("name", ["", "Pod", "pod_a", "-a", "a-", "a.b", "a" * 64])
def test_dns1123_labels_refused(name):
    assert not is_dns1123_label(name)


def test_dns1123_message_is_kubernetes_wording():
    assert dns1123_label_errors("Web") == [
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
        "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "
        "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
    ]


def test_dns1035_label_must_start_with_a_letter():
    assert is_dns1035_label("web1")
    assert not is_dns1035_label("1web")


@pytest.mark.parametrize("name", ["http", "dns-tcp", "a1", "abcdefghijklmno"])
def test_iana_service_names_accepted(name):
    assert is_iana_svc_name(name)


@pytest.mark.parametrize("name", ["80", "Http", "a--b", "-http", "http-", "abcdefghijklmnop", ""])
def test_iana_service_names_refused(name):
    assert not is_iana_svc_name(name)


def test_qualified_names_allow_a_dns_prefix():
    assert is_qualified_name("app.kubernetes.io/name")
    assert not is_qualified_name("/name")
    assert not is_qualified_name("Bad_Prefix/name")


# --- Pod ------------------------------------------------------------------------------------


def test_a_pod_reads_like_kubernetes():
    pod = Pod.model_validate(pod_dict())
    assert pod.spec.containers[0].ports[0].containerPort == 80
    assert pod.spec.containers[0].ports[0].protocol == "TCP"
    assert pod.spec.restartPolicy == "Always"
    assert pod.metadata.labels == {}


def test_pods_can_be_built_in_code():
    pod = Pod(
        metadata=ObjectMeta(name="a", namespace="default"),
        spec=PodSpec(containers=[Container(name="c", image="pause", ports=[ContainerPort(containerPort=8080)])]),
    )
    assert obj_key(pod) == ("Pod", "default", "a")


def test_models_are_frozen():
    pod = Pod.model_validate(pod_dict())
    with pytest.raises(ValidationError):
        pod.metadata = ObjectMeta(name="b")


def test_container_ports_out_of_range():
    data = pod_dict()
    data["spec"]["containers"][0]["ports"] = [{"containerPort": 0}, {"containerPort": 65536}]
    assert problems(Pod, data) == [
        "spec.containers[0].ports[0].containerPort: Invalid value: 0: must be between 1 and 65535, inclusive",
        "spec.containers[0].ports[1].containerPort: Invalid value: 65536: must be between 1 and 65535, inclusive",
    ]


def test_a_quoted_port_number_is_a_type_error_as_in_the_apiserver():
    data = pod_dict()
    data["spec"]["containers"][0]["ports"] = [{"containerPort": "80"}]
    assert problems(Pod, data) == [
        'spec.containers[0].ports[0].containerPort: Invalid value: "80": must be an integer'
    ]


def test_sctp_is_a_protocol_the_api_accepts():
    data = pod_dict()
    data["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "SCTP"}]
    assert Pod.model_validate(data).spec.containers[0].ports[0].protocol == "SCTP"


def test_port_names_unique_across_the_pod_and_containers_unique():
    data = pod_dict(
        containers=[
            {"name": "a", "image": "x", "ports": [{"name": "http", "containerPort": 80}]},
            {"name": "a", "image": "x", "ports": [{"name": "http", "containerPort": 81}]},
        ]
    )
    assert problems(Pod, data) == [
        'spec.containers[1].name: Duplicate value: "a"',
        'spec.containers[1].ports[0].name: Duplicate value: "http"',
    ]


def test_a_pod_needs_a_container_with_an_image():
    assert problems(Pod, pod_dict(containers=[])) == ["spec.containers: Required value"]
    assert problems(Pod, pod_dict(containers=[{"name": "c"}])) == ["spec.containers[0].image: Required value"]


def test_restart_policy_is_an_enum():
    assert problems(Pod, pod_dict(restartPolicy="Sometimes")) == [
        'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'
    ]


def test_generate_name_is_refused():
    data = pod_dict()
    data["metadata"] = {"generateName": "web-"}
    assert problems(Pod, data) == [
        "metadata.name: Required value",
        "metadata.generateName: Forbidden: generateName is not supported by netlab; set metadata.name",
    ]


def test_bad_label_values_are_reported_under_their_key():
    data = pod_dict()
    data["metadata"]["labels"] = {"app": "web app"}
    [problem] = problems(Pod, data)
    assert problem.startswith('metadata.labels.app: Invalid value: "web app": a valid label must')


def test_find_port_resolves_a_named_target_port_like_upstream():
    pod = Pod.model_validate(
        pod_dict(containers=[{"name": "c", "image": "x", "ports": [{"name": "dns", "containerPort": 53, "protocol": "UDP"}]}])
    )
    assert pod.find_port("dns", "UDP") == 53
    assert pod.find_port("dns", "TCP") is None
    assert pod.find_port(8080) == 8080


def test_unknown_fields_are_kept_and_listed():
    data = pod_dict()
    data["spec"]["containers"][0]["resources"] = {"limits": {"cpu": "1"}}
    data["spec"]["tolerations"] = [{"operator": "Exists"}]
    data["metadata"]["uid"] = "1234"  # routine in `kubectl get -o yaml` output: no warning
    pod = Pod.model_validate(data)
    assert [str(p) for p in ignored_fields(pod)] == [
        "spec.tolerations: not modelled by netlab, ignored",
        "spec.containers[0].resources: not modelled by netlab, ignored",
    ]
    assert pod.to_dict()["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "1"}}


def test_to_dict_round_trips_and_omits_nulls_and_empties():
    pod = Pod.model_validate(pod_dict())
    dumped = pod.to_dict()
    assert dumped == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "pod-a"},
        "spec": {
            "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
            "restartPolicy": "Always",
        },
    }
    assert object_from_dict(dumped) == pod


# --- Service --------------------------------------------------------------------------------


def test_target_port_defaults_to_port():
    svc = Service.model_validate(service_dict(selector={"app": "web"}, ports=[{"port": 80}]))
    assert svc.spec.ports[0].targetPort == 80
    assert svc.spec.type == "ClusterIP"


def test_named_target_port_with_bad_syntax():
    data = service_dict(ports=[{"port": 80, "targetPort": "Http"}])
    assert problems(Service, data) == [
        'spec.ports[0].targetPort: Invalid value: "Http": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)'
    ]


def test_several_ports_need_unique_names_and_unique_port_protocol_pairs():
    data = service_dict(ports=[{"port": 80}, {"name": "b", "port": 80}, {"name": "b", "port": 81}])
    assert problems(Service, data) == [
        "spec.ports[0].name: Required value",
        'spec.ports[1]: Duplicate value: {"port": 80, "protocol": "TCP"}',
        'spec.ports[2].name: Duplicate value: "b"',
    ]


def test_same_port_number_for_tcp_and_udp_is_fine():
    svc = Service.model_validate(
        service_dict(ports=[{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53}])
    )
    assert [p.protocol for p in svc.spec.ports] == ["UDP", "TCP"]


def test_cluster_ip_syntax():
    assert problems(Service, service_dict(clusterIP="10.96.0.256", ports=[{"port": 80}])) == [
        'spec.clusterIP: Invalid value: "10.96.0.256": must be a valid IP address (e.g. 10.96.0.10 or fd00:10:96::a), '
        "or 'None' for a headless Service"
    ]


def test_headless_service_needs_no_ports():
    svc = Service.model_validate(service_dict(clusterIP="None", selector={"app": "web"}))
    assert svc.spec.is_headless


def test_a_cluster_ip_service_needs_ports():
    assert problems(Service, service_dict(selector={"app": "web"})) == ["spec.ports: Required value"]


def test_service_names_must_start_with_a_letter():
    data = service_dict(ports=[{"port": 80}])
    data["metadata"]["name"] = "1web"
    [problem] = problems(Service, data)
    assert problem.startswith('metadata.name: Invalid value: "1web": a DNS-1035 label must')


def test_node_port_forbidden_on_cluster_ip_services():
    assert problems(Service, service_dict(ports=[{"port": 80, "nodePort": 30080}])) == [
        "spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"
    ]


def test_external_name_service_needs_an_external_name():
    assert problems(Service, service_dict(type="ExternalName")) == ["spec.externalName: Required value"]


def test_namespace_has_only_metadata():
    ns = Namespace.model_validate({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    assert obj_key(ns) == ("Namespace", "", "team-a")


# --- label selectors ------------------------------------------------------------------------


def test_equality_selector():
    selector = parse_label_selector("app=web,tier==db")
    assert selector.matches({"app": "web", "tier": "db", "x": "y"})
    assert not selector.matches({"app": "web"})


def test_set_and_existence_selectors():
    selector = parse_label_selector("env in (prod, staging),tier!=db,!canary,app")
    assert selector.matches({"env": "prod", "app": "x"})
    assert not selector.matches({"env": "prod", "app": "x", "canary": "true"})
    assert not selector.matches({"env": "dev", "app": "x"})
    assert not selector.matches({"env": "prod", "app": "x", "tier": "db"})
    assert str(selector) == "env in (prod,staging),tier!=db,!canary,app"


def test_empty_selector_matches_everything():
    assert parse_label_selector("").matches({})


def test_selector_from_a_service_selector_map():
    selector = selector_from_dict({"tier": "web", "app": "shop"})
    assert str(selector) == "app=shop,tier=web"
    assert selector.matches({"app": "shop", "tier": "web"})


@pytest.mark.parametrize("text", ["a=b=c", "a in ()", "a=b,", "bad key=x", "app=-x"])
def test_bad_selectors_are_invalid_input(text):
    with pytest.raises(InvalidInput, match="invalid label selector"):
        parse_label_selector(text)
