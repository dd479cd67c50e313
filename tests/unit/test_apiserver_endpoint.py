"""The `default/kubernetes` Service and the HTTPS endpoint behind it (no root: the server runs
on the loopback of the test's own namespace with a throw-away certificate)."""

from __future__ import annotations

import json
import shutil
import socket
import ssl
import subprocess
import sys
import time
from ipaddress import IPv4Network
from urllib.error import HTTPError
from urllib.request import urlopen

import pytest

from netlab.api.cluster import cluster_from_document
from netlab.apiserver import endpoint
from netlab.lab.addons import system_objects


def test_the_service_is_the_first_address_port_443_named_https_to_6443():
    manifest = endpoint.service_manifest(IPv4Network("10.96.0.0/12"))

    assert manifest["spec"]["clusterIP"] == "10.96.0.1"
    assert manifest["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]
    assert "selector" not in manifest["spec"]
    assert manifest["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}


def test_the_endpoint_is_the_underlays_second_address_and_in_the_certificate():
    assert str(endpoint.address(IPv4Network("172.31.255.0/24"))) == "172.31.255.2"
    sans = endpoint.subject_alt_names(IPv4Network("10.96.0.0/12"), IPv4Network("172.31.255.0/24"), "cluster.local")
    assert "DNS:kubernetes.default.svc.cluster.local" in sans and "IP:10.96.0.1" in sans and "IP:172.31.255.2" in sans


def test_every_lab_starts_with_default_kubernetes():
    config = cluster_from_document({"apiVersion": "netlab.dev/v1alpha1", "kind": "Cluster", "metadata": {"name": "x"}, "spec": {}}, "x")
    services = {(ns, name) for kind, ns, name, _ in system_objects(config) if kind == "Service"}
    assert ("default", "kubernetes") in services and ("kube-system", "kube-dns") in services


def test_version_has_the_apiservers_fields():
    info = endpoint.version_info("aarch64")
    assert list(info)[:3] == ["major", "minor", "gitVersion"]
    assert info["gitVersion"] == f"v{info['major']}.{info['minor']}.0" and info["platform"] == "linux/arm64"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    d = tmp_path_factory.mktemp("apiserver")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "1", "-subj", "/CN=kube-apiserver", "-keyout", str(d / "k"), "-out", str(d / "c")],
                   check=True, capture_output=True)  # fmt: skip
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "netlab.apiserver.serve", "127.0.0.1", str(port), str(d / "c"), str(d / "k")],
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"https://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(5)


def get(url: str) -> tuple[int, str, str]:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # as `curl -k`
    try:
        with urlopen(url, context=context, timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/livez", "/readyz?verbose"])
def test_health_answers_ok(server, path):
    assert get(server + path) == (200, "text/plain; charset=utf-8", "ok")


def test_version_and_anonymous_refusal(server):
    code, kind, body = get(server + "/version")
    assert (code, kind, json.loads(body)["major"]) == (200, "application/json", "1")

    code, _, body = get(server + "/api")
    assert code == 403 and json.loads(body)["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
