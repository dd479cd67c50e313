"""`netlab exec` and `netlab logs` behave like kubectl's: stdin, exit codes and output pass through."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.root

PODS = """
apiVersion: v1
kind: Pod
metadata: {name: server, labels: {app: server}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  containers: [{name: client, image: busybox, command: ["sleep", "infinity"]}]
"""


@pytest.fixture(scope="module")
def pods(lab):
    lab.apply(PODS, "pods")
    lab.wait_running("server", "shell")
    return lab


def test_stdin_passes_through_with_dash_i(pods):
    assert pods.exec("shell", "cat", stdin="hi\n").stdout == "hi\n"


def test_without_dash_i_the_command_gets_no_stdin(pods):
    result = pods.nl("exec", "shell", "--", "cat", input="hi\n")

    assert result.stdout == ""


def test_the_command_exit_code_passes_through(pods):
    result = pods.exec("shell", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)

    assert result.returncode == 3
    assert result.stdout == "out\n"
    assert result.stderr == "err\n"


def test_a_missing_command_fails_with_127_like_kubectl(pods):
    result = pods.exec("shell", "no-such-command-here", check=False)

    assert result.returncode == 127
    assert "no-such-command-here" in result.stderr


def test_logs_show_the_web_servers_request_lines(pods, wait_until):
    client_ip = pods.pod_ip("shell")
    pods.exec("shell", "curl", "-sS", "-m", "3", "-o", "/dev/null", f"http://{pods.pod_ip('server')}:8080/logged-path")

    def request_line() -> list[str]:
        lines = pods.nl("logs", "server").stdout.splitlines()
        return [line for line in lines if "GET /logged-path" in line and client_ip in line]

    assert wait_until(request_line, timeout=5, what="the request in the server's log")
