"""Seed 000's request from outside, through an Ingress: the host sends real HTTP to the
ingress controller's LoadBalancer address; a real nginx in the controller pods routes it by
host and path to the backend pods. Only ever to the lab's own LB address."""

from __future__ import annotations

import http.client
import ipaddress
import json
import subprocess
import threading
from pathlib import Path

import pytest

pytestmark = pytest.mark.root

MANIFESTS = Path(__file__).resolve().parents[2] / "manifests" / "ingress"

MORE = """
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
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: more}
spec:
  rules:
    - host: exact.example
      http:
        paths:
          - {path: /checkout, pathType: Exact, backend: {service: {name: cart, port: {number: 80}}}}
    - host: "*.wild.example"
      http:
        paths:
          - {path: /, pathType: Prefix, backend: {service: {name: storefront, port: {name: http}}}}
    - host: echo.example
      http:
        paths:
          - {path: /header, pathType: Exact, backend: {service: {name: echo, port: {number: 80}}}}
"""

FALLBACK = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: fallback}
spec:
  defaultBackend: {service: {name: cart, port: {number: 80}}}
"""


class Client:
    """HTTP from the host to the lab's ingress address (and nowhere else)."""

    def __init__(self, lab, address: str) -> None:
        assert ipaddress.IPv4Address(address) in lab.ranges.underlay, f"{address} is not the lab's"
        self.address = address

    def get(self, host: str, path: str) -> tuple[int, str]:
        conn = http.client.HTTPConnection(self.address, 80, timeout=3)
        try:
            conn.request("GET", path, headers={"Host": host})
            response = conn.getresponse()
            return response.status, response.read().decode()
        finally:
            conn.close()

    def pod(self, host: str, path: str) -> str:
        """The backend pod that answered (`pod=…` of the built-in web server), or the status."""
        try:
            status, body = self.get(host, path)
        except OSError as exc:
            return f"error {exc}"
        if status != 200:
            return str(status)
        fields = dict(w.split("=", 1) for w in body.split() if "=" in w)
        return fields.get("pod", body)


@pytest.fixture(scope="module")
def shop(lab, wait_until):
    lab.nl("apply", "-f", str(MANIFESTS))
    lab.apply(MORE, "more")

    def address():
        items = lab.get_json("ingress")["items"]
        ips = [i.get("ip") for o in items for i in o["status"].get("loadBalancer", {}).get("ingress", [])]
        return ips[0] if len(items) == 2 and len(ips) == 2 else None

    client = Client(lab, wait_until(address, 30, what="the Ingresses' address"))
    wait_until(lambda: client.pod("shop.example", "/cart").startswith("cart-"), 30, what="nginx routing /cart")
    wait_until(lambda: client.pod("echo.example", "/header") == "200" or client.get("echo.example", "/header")[0] == 200, 30,
               what="the echo backend")
    return client


def test_host_and_path_route_to_the_right_pods(shop):
    assert shop.pod("shop.example", "/cart").startswith("cart-")
    assert shop.pod("shop.example", "/cart/items/7").startswith("cart-")
    assert shop.pod("shop.example", "/").startswith("storefront-")
    assert shop.pod("shop.example", "/about").startswith("storefront-")


def test_prefix_matches_whole_path_elements(shop):
    # Prefix /cart is /cart and /cart/...; /cartography belongs to the storefront's `/`.
    assert shop.pod("shop.example", "/cartography").startswith("storefront-")


def test_exact_matches_only_the_path_itself(shop):
    assert shop.pod("exact.example", "/checkout").startswith("cart-")
    assert shop.pod("exact.example", "/checkout/") == "404"
    assert shop.pod("exact.example", "/checkout/pay") == "404"


def test_a_wildcard_host_covers_exactly_one_label(shop):
    assert shop.pod("eu.wild.example", "/").startswith("storefront-")
    assert shop.pod("a.eu.wild.example", "/") == "404"
    assert shop.pod("wild.example", "/") == "404"


def test_nothing_matches_is_a_404_from_nginx(shop):
    status, body = shop.get("nobody.example", "/")
    assert status == 404
    assert "nginx" in body


def test_the_client_address_is_passed_in_x_forwarded_for(shop):
    status, body = shop.get("echo.example", "/header?key=X-Forwarded-For")
    assert status == 200
    ipaddress.IPv4Address(body.strip())  # the address nginx saw the request come from


def test_the_default_backend_answers_what_no_rule_matches(lab, shop, wait_until):
    lab.apply(FALLBACK, "fallback")
    wait_until(lambda: shop.pod("nobody.example", "/").startswith("cart-"), 20, what="the default backend")
    lab.nl("delete", "ingress", "fallback")
    wait_until(lambda: shop.pod("nobody.example", "/") == "404", 20, what="404 again")


def test_a_changed_ingress_is_reloaded_without_dropping_requests(lab, shop, wait_until):
    answers: list[str] = []
    stop = threading.Event()

    def steady_requests():
        while not stop.is_set():
            answers.append(shop.pod("shop.example", "/"))

    loop = threading.Thread(target=steady_requests)
    loop.start()
    try:
        changed = (MANIFESTS / "20-ingress.yaml").read_text().replace(
            "          - path: /cart\n",
            "          - path: /basket\n            pathType: Prefix\n            backend:\n"
            "              service: {name: cart, port: {number: 80}}\n          - path: /cart\n",
        )
        assert "/basket" in changed
        lab.apply(changed, "changed")
        wait_until(lambda: shop.pod("shop.example", "/basket").startswith("cart-"), 20, what="the new rule")
        wait_until(lambda: len(answers) > 50, 20, what="requests across the reload")
    finally:
        stop.set()
        loop.join()
    dropped = [a for a in answers if not a.startswith("storefront-")]
    assert not dropped, f"{len(dropped)} of {len(answers)} requests failed across the reload: {dropped[:5]}"
    pods = lab.get_json("pods", "-n", "ingress-nginx")["items"]
    logs = "".join(lab.nl("logs", "-n", "ingress-nginx", p["metadata"]["name"]).stdout for p in pods)
    assert "reloaded nginx" in logs  # a graceful reload of the same master, not a restart
    assert all(c["restartCount"] == 0 for p in pods for c in p["status"]["containerStatuses"])


def test_get_and_describe_show_the_address_and_the_rules(lab, shop):
    table = lab.nl("get", "ingress").stdout.splitlines()
    assert table[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert any(line.split()[:5] == ["shop", "nginx", "shop.example", shop.address, "80"] for line in table[1:])
    described = lab.nl("describe", "ingress", "shop").stdout
    assert f"Address:          {shop.address}" in described
    assert "/cart" in described and "cart:80 (" in described


def test_trace_follows_the_lb_ip_through_nginx_to_the_backend_pod(lab, shop):
    for source in ("host", "client"):
        if source == "client":
            lab.nl("run", "client", "--image", "busybox", "--", "sleep", "3600")
        traced = json.loads(lab.nl("trace", source, f"{shop.address}:80", "--host", "shop.example", "--path", "/cart/7",
                                   "-o", "json").stdout)
        (step,) = [s for s in traced["steps"] if s["kind"] == "ingress"]
        assert step["data"]["rule"] == "Ingress default/shop (shop.example /cart/)"
        assert step["object"].startswith("nginx server shop.example :80, location /cart/")
        assert traced["verdict"] == "delivered" and traced["reached"].startswith("pod default/cart-"), traced["reason"]
    refused = lab.nl("trace", "host", "192.0.2.1:80", "--host", "shop.example", "--probe", check=False)
    assert refused.returncode != 0 and "outside lab" in refused.stderr  # containment: never a probe out of the lab


def test_tls_from_a_secret_and_a_missing_secret_says_so(lab, shop, wait_until, tmp_path):
    from test_gateway_features import tls_secret

    cert, secret = tls_secret(tmp_path)
    lab.apply(secret.replace("secure-tls", "shop-tls"), "shop-tls")
    lab.apply(TLS_INGRESS, "tls-ingress")
    curl = ["curl", "-sS", "--max-time", "3", "--resolve", f"secure.example:443:{shop.address}", "--cacert", str(cert),
            "https://secure.example/"]
    wait_until(lambda: subprocess.run(curl, capture_output=True, text=True).stdout.startswith("pod=cart-"), 30,
               what="HTTPS through the ingress")
    events = lab.nl("describe", "ingress", "tls-missing").stdout
    assert "MissingSecret" in events and "no-such-secret" in events
    assert shop.pod("shop.example", "/cart").startswith("cart-")  # the other routes keep working


TLS_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls}
spec:
  tls: [{hosts: [secure.example], secretName: shop-tls}]
  rules:
    - host: secure.example
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: cart, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: tls-missing}
spec:
  tls: [{hosts: [nocert.example], secretName: no-such-secret}]
  rules:
    - host: nocert.example
      http:
        paths: [{path: /, pathType: Prefix, backend: {service: {name: cart, port: {number: 80}}}}]
"""


# --- Gateway API: the same lab, NGINX Gateway Fabric's shape ---------------------------------

GATEWAY_MANIFESTS = MANIFESTS.parent / "gateway"

QUERY_ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: query}
spec:
  parentRefs: [{name: web}]
  hostnames: [q.example]
  rules:
    - matches: [{queryParams: [{name: version, value: "2"}]}]
      backendRefs: [{name: app-v2, port: 80}]
    - backendRefs: [{name: app-v1, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: broken}
spec:
  parentRefs: [{name: web}]
  hostnames: [broken.example]
  rules:
    - backendRefs: [{name: no-such-service, port: 80}]
"""


@pytest.fixture(scope="module")
def gateway(lab, wait_until):
    lab.nl("apply", "-f", str(GATEWAY_MANIFESTS))
    lab.apply(QUERY_ROUTE, "routes")

    def address():
        status = lab.get_json("gateway", "web")["status"]
        return next((a["value"] for a in status.get("addresses", [])), None)

    client = Client(lab, wait_until(address, 30, what="the Gateway's address"))
    wait_until(lambda: client.pod("app.example", "/").startswith("app-v"), 30, what="nginx routing app.example")
    wait_until(lambda: client.pod("q.example", "/").startswith("app-v1-"), 30, what="the query route")
    return client


def test_gateway_reports_its_address_and_conditions(lab, gateway):
    gw = lab.get_json("gateway", "web")
    assert {c["type"]: c["status"] for c in gw["status"]["conditions"]} == {"Accepted": "True", "Programmed": "True"}
    row = lab.nl("get", "gateway").stdout.splitlines()[1].split()
    assert row[:4] == ["web", "nginx", gateway.address, "True"]


def test_weighted_backends_split_the_traffic(gateway):
    answers = [gateway.pod("app.example", "/") for _ in range(200)]
    v2 = sum(a.startswith("app-v2-") for a in answers)
    v1 = sum(a.startswith("app-v1-") for a in answers)
    assert v1 + v2 == 200, answers[:5]
    assert 25 <= v2 <= 55, f"expected ~40 of 200 on v2 (weight 20 of 100), got {v2}"


def test_a_header_match_wins_over_the_weighted_rule(gateway):
    conn = http.client.HTTPConnection(gateway.address, 80, timeout=3)
    answers = []
    for _ in range(10):
        conn.request("GET", "/", headers={"Host": "app.example", "X-Canary": "yes"})
        answers.append(conn.getresponse().read().decode().split()[0])
    conn.close()
    assert all(a.startswith("pod=app-v2-") for a in answers), answers


def test_a_query_match_and_the_rule_without_one(gateway):
    assert gateway.pod("q.example", "/?version=2").startswith("app-v2-")
    assert gateway.pod("q.example", "/?version=3").startswith("app-v1-")
    assert gateway.pod("outside.example", "/") == "404"  # the listener is for *.example; no route has it


def test_a_route_with_a_missing_backend_says_why_and_answers_500(lab, gateway):
    (parent,) = lab.get_json("httproute", "broken")["status"]["parents"]
    resolved = {c["type"]: c for c in parent["conditions"]}["ResolvedRefs"]
    assert (resolved["status"], resolved["reason"]) == ("False", "BackendNotFound")
    assert gateway.pod("broken.example", "/") == "500"
    assert gateway.pod("app.example", "/").startswith("app-v")  # the other routes keep working


def test_trace_names_the_httproute_rule_a_header_picks(lab, gateway):
    traced = json.loads(lab.nl("trace", "host", f"{gateway.address}:80", "--host", "app.example", "-H", "X-Canary: yes",
                               "-o", "json").stdout)
    (step,) = [s for s in traced["steps"] if s["kind"] == "ingress"]
    assert step["data"]["rule"] == "HTTPRoute default/app rule 0"
    assert traced["reached"].startswith("pod default/app-v2-"), traced["reason"]
