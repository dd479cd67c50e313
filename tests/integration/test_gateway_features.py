"""The Gateway API beyond routing, with real curl from the host against the lab's LB address:
HTTPRoute filters (headers, redirects, rewrites), a cross-namespace backend that works only
once a ReferenceGrant allows it, TLS with a certificate made here, and the status conditions
naming the generation they describe."""

from __future__ import annotations

import ipaddress
import json
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "gateway"

APPS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: echo}
spec:
  replicas: 1
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      containers: [{name: echo, image: registry.k8s.io/e2e-test-images/agnhost:2.47, args: [netexec, --http-port=8080]}]
---
apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  selector: {app: echo}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: other, namespace: team}
spec:
  replicas: 1
  selector: {matchLabels: {app: other}}
  template:
    metadata: {labels: {app: other}}
    spec:
      containers: [{name: web, image: nginx, ports: [{containerPort: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: other, namespace: team}
spec:
  selector: {app: other}
  ports: [{port: 80}]
"""

ROUTES = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: filters}
spec:
  parentRefs: [{name: web}]
  hostnames: [f.example]
  rules:
    - matches: [{path: {type: PathPrefix, value: /hdr}}]
      filters:
        - type: RequestHeaderModifier
          requestHeaderModifier:
            set: [{name: X-Set, value: one}]
            add: [{name: X-Add, value: extra}]
            remove: [X-Drop]
        - type: URLRewrite
          urlRewrite: {hostname: internal.example, path: {type: ReplaceFullPath, replaceFullPath: /header}}
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /api}}]
      filters: [{type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /}}}]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {type: PathPrefix, value: /old}}]
      filters: [{type: RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /new}, statusCode: 301}}]
    - matches: [{path: {type: Exact, value: /secure}}]
      filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: secure.example}}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: cross}
spec:
  parentRefs: [{name: web}]
  hostnames: [x.example]
  rules:
    - backendRefs: [{name: other, namespace: team, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: secure}
spec:
  gatewayClassName: nginx
  listeners:
    - name: https
      port: 443
      protocol: HTTPS
      hostname: secure.example
      tls: {certificateRefs: [{name: secure-tls}]}
    - name: missing
      port: 443
      protocol: HTTPS
      hostname: nocert.example
      tls: {certificateRefs: [{name: no-such-secret}]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: secure}
spec:
  parentRefs: [{name: secure}]
  rules:
    - backendRefs: [{name: app-v1, port: 80}]
"""

GRANT = """
apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: routes-from-default, namespace: team}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: "", kind: Service}]
"""


def tls_secret(directory: Path) -> tuple[Path, str]:
    """A self-signed certificate for secure.example, made with openssl here, and the Secret."""
    cert, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=secure.example",
                    "-addext", "subjectAltName=DNS:secure.example", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    indent = lambda text: "\n".join("    " + line for line in text.splitlines())  # noqa: E731
    secret = (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: secure-tls}}\ntype: kubernetes.io/tls\nstringData:\n"
              f"  tls.crt: |\n{indent(cert.read_text())}\n  tls.key: |\n{indent(key.read_text())}\n")
    return cert, secret


class Curl:
    """Real curl from the host, to the lab's LB address and nowhere else."""

    def __init__(self, lab, address: str) -> None:
        assert ipaddress.IPv4Address(address) in lab.ranges.underlay, f"{address} is not the lab's"
        self.address = address

    def run(self, *args: str) -> str:
        done = subprocess.run(["curl", "-sS", "--max-time", "3", *args], capture_output=True, text=True, check=False)
        return done.stdout if done.returncode == 0 else f"curl exit {done.returncode}: {done.stderr.strip()}"

    def body(self, host: str, path: str, *headers: str) -> str:
        extra = [a for h in headers for a in ("-H", h)]
        return self.run("-H", f"Host: {host}", *extra, f"http://{self.address}{path}").strip()

    def status(self, host: str, path: str) -> str:
        return self.run("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-H", f"Host: {host}",
                        f"http://{self.address}{path}").strip()


def parent_condition(lab, route: str, type_: str) -> dict:
    (parent,) = lab.get_json("httproute", route)["status"]["parents"]
    return {c["type"]: c for c in parent["conditions"]}[type_]


@pytest.fixture(scope="module")
def gw(lab, wait_until, tmp_path_factory):
    cert, secret = tls_secret(tmp_path_factory.mktemp("tls"))
    lab.nl("apply", "-f", str(MANIFESTS))
    lab.apply(APPS, "apps")
    lab.apply(secret, "secret")
    lab.apply(ROUTES, "routes")

    def address():
        status = lab.get_json("gateway", "web")["status"]
        return next((a["value"] for a in status.get("addresses", [])), None)

    curl = Curl(lab, wait_until(address, 30, what="the Gateway's address"))
    curl.cacert = str(cert)
    wait_until(lambda: curl.body("f.example", "/api/echo?msg=ready") == "ready", 40, what="the echo backend through a rewrite")
    return curl


def test_request_headers_are_set_added_and_removed(gw):
    def header(name: str) -> str:
        return gw.body("f.example", f"/hdr?key={name}", "X-Add: client", "X-Drop: secret")

    assert header("X-Set") == "one"
    assert header("X-Add") == "client,extra"  # add appends to what the client sent
    assert header("X-Drop") == ""
    # (and URLRewrite sent /hdr to /header; agnhost, like Go's net/http, keeps Host out of its headers)


def test_url_rewrite_replaces_the_matched_prefix(gw):
    assert gw.body("f.example", "/api/echo?msg=hello") == "hello"  # the backend saw /echo?msg=hello


def test_request_redirects(gw):
    assert gw.status("f.example", "/old/page?x=1") == "301 http://f.example/new/page?x=1"
    assert gw.status("f.example", "/old") == "301 http://f.example/new"
    assert gw.status("f.example", "/secure") == "302 https://secure.example/secure"


def test_a_cross_namespace_backend_needs_a_reference_grant(lab, gw, wait_until):
    refused = parent_condition(lab, "cross", "ResolvedRefs")
    assert (refused["status"], refused["reason"]) == ("False", "RefNotPermitted")
    assert gw.status("x.example", "/").startswith("500")
    assert gw.body("f.example", "/api/echo?msg=still") == "still"  # other routes keep working
    lab.apply(GRANT, "grant")
    wait_until(lambda: gw.body("x.example", "/").startswith("pod=other-"), 20, what="the granted backend")
    assert parent_condition(lab, "cross", "ResolvedRefs")["status"] == "True"
    lab.nl("delete", "referencegrant", "routes-from-default", "-n", "team")
    wait_until(lambda: gw.status("x.example", "/").startswith("500"), 20, what="500 again without the grant")


def test_tls_terminates_at_the_gateway_with_the_secrets_certificate(lab, gw, wait_until):
    def https(host: str) -> str:
        return gw.run("--resolve", f"{host}:443:{gw.address}", "--cacert", gw.cacert, f"https://{host}/")

    wait_until(lambda: https("secure.example").startswith("pod=app-v1-"), 30, what="HTTPS through the Gateway")
    listeners = {lst["name"]: lst for lst in lab.get_json("gateway", "secure")["status"]["listeners"]}
    conditions = {c["type"]: c for c in listeners["missing"]["conditions"]}
    assert (conditions["ResolvedRefs"]["status"], conditions["ResolvedRefs"]["reason"]) == ("False", "InvalidCertificateRef")
    assert conditions["Programmed"]["status"] == "False"
    assert {c["type"]: c["status"] for c in listeners["https"]["conditions"]}["Programmed"] == "True"
    assert listeners["https"]["attachedRoutes"] == 1
    described = lab.nl("describe", "secret", "secure-tls").stdout
    assert "kubernetes.io/tls" in described and "tls.crt:" in described and "BEGIN" not in described
    assert lab.nl("get", "secret", "secure-tls").stdout.split()[:7] == ["NAME", "TYPE", "DATA", "AGE", "secure-tls",
                                                                        "kubernetes.io/tls", "2"]


def test_conditions_name_the_generation_they_describe(lab, gw, wait_until):
    before = lab.get_json("httproute", "cross")
    changed = json.loads(json.dumps(before))
    generation = before["metadata"]["generation"]
    assert parent_condition(lab, "cross", "Accepted")["observedGeneration"] == generation
    lab.apply(ROUTES.replace("hostnames: [x.example]", "hostnames: [x.example, y.example]"), "routes2")
    changed = lab.get_json("httproute", "cross")
    assert changed["metadata"]["generation"] == generation + 1
    wait_until(lambda: parent_condition(lab, "cross", "Accepted")["observedGeneration"] == generation + 1, 20,
               what="the new generation observed")
