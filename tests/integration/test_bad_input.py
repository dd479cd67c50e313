"""Bad input gets one clear line per problem (file and field), exit code 3, and changes nothing:
not the store, not the kernel — even when the bad document sits next to good ones."""

from __future__ import annotations

from typing import Callable

import pytest

pytestmark = pytest.mark.root

EXIT_INVALID = 3  # netlab/errors.py

KEEPER = """
apiVersion: v1
kind: Pod
metadata: {name: keeper, labels: {app: keeper}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: keeper}
spec:
  selector: {app: keeper}
  ports: [{port: 80, targetPort: http}]
"""

GOOD_POD = """
apiVersion: v1
kind: Pod
metadata: {name: innocent}
spec:
  containers: [{name: c, image: registry.k8s.io/pause:3.9}]
---
"""


def _service(spec: str) -> str:
    return f"apiVersion: v1\nkind: Service\nmetadata: {{name: bad-svc}}\nspec:\n{spec}"


# (story, manifest given the lab, the field the error must name)
CASES: list[tuple[str, Callable, str]] = [
    (
        "invalid YAML",
        lambda lab: "apiVersion: v1\nkind: Pod\nmetadata: {name: broken\nspec: {}\n",
        "invalid YAML",
    ),
    (
        "a field of the wrong type",
        lambda lab: "apiVersion: v1\nkind: Pod\nmetadata: {name: typed}\nspec:\n  containers: {name: c, image: busybox}\n",
        "spec.containers",
    ),
    (
        "a containerPort that is not a number",
        lambda lab: (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: typed}\nspec:\n"
            '  containers: [{name: c, image: example.com/web:1, ports: [{containerPort: "eighty"}]}]\n'
        ),
        "spec.containers[0].ports[0].containerPort",
    ),
    (
        "a name that is not a DNS label",
        lambda lab: "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers: [{name: c, image: busybox}]\n",
        "metadata.name",
    ),
    (
        "port 0",
        lambda lab: _service("  selector: {app: keeper}\n  ports: [{port: 0, targetPort: 8080}]\n"),
        "spec.ports[0].port",
    ),
    (
        "a named targetPort no selected pod declares",
        lambda lab: _service("  selector: {app: keeper}\n  ports: [{port: 80, targetPort: nope}]\n"),
        "spec.ports[0].targetPort",
    ),
    (
        "a clusterIP outside the service range",
        lambda lab: _service(
            f"  clusterIP: {lab.ranges.underlay.network_address + 99}\n  selector: {{app: keeper}}\n  ports: [{{port: 80}}]\n"
        ),
        "spec.clusterIP",
    ),
    (
        "a clusterIP already taken (by the cluster DNS)",
        lambda lab: _service(f"  clusterIP: {lab.dns_ip}\n  selector: {{app: keeper}}\n  ports: [{{port: 80}}]\n"),
        "spec.clusterIP",
    ),
    (
        "a pod in a namespace that does not exist",
        lambda lab: (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: lost, namespace: nowhere}\nspec:\n"
            "  containers: [{name: c, image: busybox, command: [sleep, infinity]}]\n"
        ),
        "metadata.namespace",
    ),
]


def _snapshot(lab) -> dict:
    """What bad input must not change: every pod and Service, the lab's namespaces and rules."""
    return {
        "pods": lab.get_json("pods", "-A"),
        "services": lab.get_json("services", "-A"),
        "netns": lab.netns(),
        "rules": [
            line
            for line in lab.in_netns(lab.node_netns("node-a"), "iptables-save").stdout.splitlines()
            if not line.startswith("#")
        ],
    }


@pytest.fixture(scope="module")
def baseline(lab):
    """A lab with a pod and a Service in it, and how it looked before any bad input."""
    lab.apply(KEEPER, "keeper")
    lab.wait_running("keeper")
    return lab, _snapshot(lab)


@pytest.mark.parametrize("story, manifest, field", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_with_the_file_and_field_and_changes_nothing(baseline, story, manifest, field):
    kept, before = baseline
    # The bad document comes after a good one: applying is all or nothing.
    path = kept.write(GOOD_POD + manifest(kept), "bad")

    result = kept.nl("apply", "-f", str(path), check=False)

    assert result.returncode == EXIT_INVALID, result.stderr
    assert result.stdout == ""
    assert [line for line in result.stderr.splitlines() if str(path) in line and field in line], result.stderr
    assert _snapshot(kept) == before
