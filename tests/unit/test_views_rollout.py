"""`rollout status` lines, as kubectl's status viewers print them (pure)."""

from __future__ import annotations

import pytest

from netlab.views.rollout import deployment_status_message, describe_template, statefulset_status_message


@pytest.mark.parametrize(
    ("counts", "line", "done"),
    [
        ((3, 1, 4, 1), 'Waiting for deployment "web" rollout to finish: 1 out of 3 new replicas have been updated...', False),
        ((3, 3, 4, 3), 'Waiting for deployment "web" rollout to finish: 1 old replicas are pending termination...', False),
        ((3, 3, 3, 2), 'Waiting for deployment "web" rollout to finish: 2 of 3 updated replicas are available...', False),
        ((3, 3, 3, 3), 'deployment "web" successfully rolled out', True),
    ],
)
def test_deployment_status(counts, line, done):
    assert deployment_status_message("web", *counts) == (line, done)


def test_statefulset_status():
    assert statefulset_status_message(3, 1, 1, "web-abc") == ("Waiting for 2 pods to be ready...", False)
    assert statefulset_status_message(3, 3, 2, "web-abc") == ("waiting for statefulset rolling update to complete 2 pods at revision web-abc...", False)
    assert statefulset_status_message(3, 3, 3, "web-abc") == ("statefulset rolling update complete 3 pods at revision web-abc...", True)


def test_pod_template_block():
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]}]}}
    assert describe_template(template) == [
        "Pod Template:",
        "  Labels:\tapp=web",
        "  Containers:",
        "   web:",
        "    Image:\tnginx:1.27",
        "    Port:\t80/TCP",
        "    Environment:\t<none>",
    ]
