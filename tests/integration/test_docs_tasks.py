"""The Kubernetes docs' own tasks, typed as written with `netlab` in place of `kubectl`:
"Debugging DNS Resolution" (kubernetes.io/docs/tasks/administer-cluster/dns-debugging-resolution),
"Debug Services" (kubernetes.io/docs/tasks/debug/debug-application/debug-service) and the
tutorial "Connecting Applications with Services"
(kubernetes.io/docs/tutorials/services/connect-applications-service). Each test is one task's
steps in order, asserting on what the page says the reader sees. Also the Service every cluster
has, `default/kubernetes`, and the control plane's HTTPS endpoint behind it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from conftest import nl, sh

from netlab import naming

# One lab, kube-proxy's iptables mode: these are about the commands and what they print
# (test_host_ports.py reaches default/kubernetes in both modes).
pytestmark = pytest.mark.root

# https://k8s.io/examples/admin/dns/dnsutils.yaml
DNSUTILS = """
apiVersion: v1
kind: Pod
metadata:
  name: dnsutils
  namespace: default
spec:
  containers:
  - name: dnsutils
    image: registry.k8s.io/e2e-test-images/agnhost:2.39
    imagePullPolicy: IfNotPresent
  restartPolicy: Always
"""


@pytest.fixture(scope="module")
def dnsutils(lab):
    out = lab.apply(DNSUTILS, "dnsutils")
    assert "pod/dnsutils created" in out.stdout
    lab.wait_running("dnsutils")
    return lab


def typed(lab, *args: str, input: str | None = None, check: bool = True):
    """A command as the page types it (`netlab create deployment …`), the lab named by
    NETLAB_CLUSTER rather than an option."""
    return nl(*args, input=input, check=check, env={"NETLAB_CLUSTER": lab.name})


def first_service_ip(lab) -> str:
    return str(lab.ranges.service.network_address + 1)


def apiserver_address(lab) -> str:
    return str(lab.ranges.underlay.network_address + 2)


# -- Debugging DNS Resolution ------------------------------------------------------------------


def test_debugging_dns_resolution(dnsutils):
    lab = dnsutils
    row = lab.nl("get", "pods", "dnsutils").stdout.splitlines()[1].split()
    assert row[:4] == ["dnsutils", "1/1", "Running", "0"]

    # "If you see something like the following, DNS is working correctly."
    out = lab.nl("exec", "-i", "-t", "dnsutils", "--", "nslookup", "kubernetes.default")
    assert f"Server:\t\t{lab.dns_ip}" in out.stdout
    assert "Name:\tkubernetes.default.svc.cluster.local" in out.stdout
    assert f"Address: {first_service_ip(lab)}" in out.stdout
    assert "recursion not available" not in out.stdout + out.stderr

    resolv = lab.nl("exec", "-ti", "dnsutils", "--", "cat", "/etc/resolv.conf").stdout
    assert resolv.splitlines() == [
        "search default.svc.cluster.local svc.cluster.local cluster.local", f"nameserver {lab.dns_ip}", "options ndots:5"
    ]

    # "Check if the DNS pod is running"
    rows = lab.nl("get", "pods", "--namespace=kube-system", "-l", "k8s-app=kube-dns").stdout.splitlines()[1:]
    assert len(rows) == 2 and all(r.split()[1:3] == ["1/1", "Running"] for r in rows)
    assert lab.nl("logs", "--namespace=kube-system", "-l", "k8s-app=kube-dns").returncode == 0

    # "Is DNS service up?" / "Are DNS endpoints exposed?"
    services = lab.nl("get", "svc", "--namespace=kube-system").stdout.splitlines()
    assert services[1].split()[:5] == ["kube-dns", "ClusterIP", lab.dns_ip, "<none>", "53/UDP,53/TCP"]
    endpoints = lab.nl("get", "endpoints", "kube-dns", "--namespace=kube-system").stdout.splitlines()[1].split()
    assert endpoints[0] == "kube-dns" and endpoints[1].count(":53") == 2
    slices = lab.nl("get", "endpointslices", "-l", "kubernetes.io/service-name=kube-dns", "--namespace=kube-system").stdout
    assert slices.splitlines()[1].split()[1:3] == ["IPv4", "53,53"]

    # "Are you in the right namespace for the service?"
    out = lab.nl("exec", "-i", "-t", "dnsutils", "--", "nslookup", "kube-dns.kube-system").stdout
    assert f"Address: {lab.dns_ip}" in out

    # "Does CoreDNS have sufficient permissions?" — kubeadm's ClusterRole, the page's table.
    described = lab.nl("describe", "clusterrole", "system:coredns", "-n", "kube-system").stdout.splitlines()
    assert described[:3] == ["Name:         system:coredns", "Labels:       <none>", "Annotations:  <none>"]
    assert described[3:] == [
        "PolicyRule:",
        "  Resources                        Non-Resource URLs  Resource Names  Verbs",
        "  ---------                        -----------------  --------------  -----",
        "  endpoints                        []                 []              [list watch]",
        "  namespaces                       []                 []              [list watch]",
        "  pods                             []                 []              [list watch]",
        "  services                         []                 []              [list watch]",
        "  endpointslices.discovery.k8s.io  []                 []              [list watch]",
    ]
    binding = lab.nl("get", "clusterrolebinding", "system:coredns", "-o", "wide").stdout.splitlines()[1].split()
    assert binding[:2] == ["system:coredns", "ClusterRole/system:coredns"] and binding[-1] == "kube-system/coredns"


# -- default/kubernetes and the control plane's endpoint ---------------------------------------


def test_every_cluster_has_default_kubernetes_on_the_first_service_address(dnsutils):
    lab = dnsutils
    row = lab.nl("get", "svc", "kubernetes").stdout.splitlines()[1].split()
    assert row[:5] == ["kubernetes", "ClusterIP", first_service_ip(lab), "<none>", "443/TCP"]
    assert lab.nl("get", "endpoints", "kubernetes").stdout.splitlines()[1].split()[1] == f"{apiserver_address(lab)}:6443"
    service = lab.get_json("svc", "kubernetes")
    assert service["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]


def test_the_apiserver_answers_health_and_version_over_https_from_a_pod(dnsutils):
    lab = dnsutils
    for path in ("healthz", "readyz", "livez"):
        assert lab.exec("dnsutils", "curl", "-sk", "-m", "5", f"https://kubernetes.default/{path}").stdout == "ok"
    version = json.loads(lab.exec("dnsutils", "curl", "-sk", "-m", "5", "https://kubernetes.default.svc.cluster.local/version").stdout)
    assert version["gitVersion"] == f"v{version['major']}.{version['minor']}.0"
    # the Service variables every container gets point at it too
    env = lab.exec("dnsutils", "printenv").stdout.splitlines()
    assert f"KUBERNETES_SERVICE_HOST={first_service_ip(lab)}" in env and "KUBERNETES_SERVICE_PORT_HTTPS=443" in env


def test_the_endpoint_listens_on_the_lab_address_alone_and_comes_back_when_killed(dnsutils, wait_until):
    lab = dnsutils
    listening = lab.in_netns(f"{lab.name}.fabric", "ss", "-Hltn").stdout.split()
    assert f"{apiserver_address(lab)}:6443" in listening and "0.0.0.0:6443" not in listening and "*:6443" not in listening
    assert not [w for w in sh("ss", "-Hltn").stdout.split() if w.endswith(":6443")]  # nothing in the host's own namespace

    pidfile = os.path.join(naming.cluster_dir(lab.name), "apiserver", "apiserver.pid")
    pid = int(open(pidfile).read().split()[0])
    os.kill(pid, signal.SIGKILL)

    def healthy_again() -> bool:
        now = int(open(pidfile).read().split()[0])
        done = lab.exec("dnsutils", "curl", "-sk", "-m", "2", "https://kubernetes.default/healthz", check=False)
        return now != pid and done.stdout == "ok"

    wait_until(healthy_again, timeout=15, what="the control plane starts its endpoint again")


# -- Debug Services ----------------------------------------------------------------------------

BUSYBOX = ("run", "-it", "--rm", "--restart=Never", "busybox", "--image=gcr.io/google-containers/busybox", "sh")


def test_debug_services(dnsutils):
    lab = dnsutils
    assert typed(lab, "create", "deployment", "hostnames", "--image=registry.k8s.io/serve_hostname").stdout == "deployment.apps/hostnames created\n"
    assert typed(lab, "scale", "deployment", "hostnames", "--replicas=3").stdout == "deployment.apps/hostnames scaled\n"
    typed(lab, "wait", "--for=condition=Ready", "pod", "-l", "app=hostnames", "--timeout=30s")
    rows = typed(lab, "get", "pods", "-l", "app=hostnames").stdout.splitlines()[1:]
    names = {r.split()[0] for r in rows}
    assert len(rows) == 3 and all(r.split()[1:3] == ["1/1", "Running"] for r in rows)

    # "Does the Service exist?" — first not; the pods answer on their IPs from a client pod.
    ips = typed(lab, "get", "pods", "-l", "app=hostnames", "-o", 'go-template={{range .items}}{{.status.podIP}}{{"\\n"}}{{end}}').stdout.split()
    assert len(ips) == 3
    loop = "for ep in " + " ".join(f"{ip}:9376" for ip in ips) + "; do wget -qO- $ep; echo; done\n"
    assert set(typed(lab, *BUSYBOX, input=loop).stdout.split()[:3]) == names
    missing = typed(lab, "get", "svc", "hostnames", check=False)
    assert missing.returncode != 0 and 'services "hostnames" not found' in missing.stderr

    assert typed(lab, "expose", "deployment", "hostnames", "--port=80", "--target-port=9376").stdout == "service/hostnames exposed\n"
    row = typed(lab, "get", "svc", "hostnames").stdout.splitlines()[1].split()
    assert row[:2] == ["hostnames", "ClusterIP"] and row[3:5] == ["<none>", "80/TCP"]
    cluster_ip = row[2]

    # "Does the Service work by DNS name?" — every spelling the page tries.
    for name in ("hostnames", "hostnames.default", "hostnames.default.svc.cluster.local"):
        assert f"Address: {cluster_ip}" in lab.exec("dnsutils", "nslookup", name).stdout
    # "Does any Service work by IP?"
    answers = typed(lab, *BUSYBOX, input=f"for i in $(seq 1 3); do wget -qO- {cluster_ip}:80; echo; done\n").stdout.split()
    assert set(answers[:3]) <= names

    # "Is the Service defined correctly?" / "Does the Service have any EndpointSlices?"
    service = lab.get_json("service", "hostnames")
    assert service["spec"]["selector"] == {"app": "hostnames"}
    assert service["spec"]["ports"] == [{"port": 80, "protocol": "TCP", "targetPort": 9376}]
    slices = typed(lab, "get", "endpointslices", "-l", "kubernetes.io/service-name=hostnames").stdout.splitlines()[1].split()
    assert slices[1:3] == ["IPv4", "9376"] and sorted(slices[3].split(",")) == sorted(ips)

    # "Is kube-proxy writing iptables rules?" — on a node, as the page reads them.
    node = lab.node_netns("node-a")
    if lab.kube_proxy_mode == "iptables":
        rules = lab.in_netns(node, "iptables-save").stdout
        assert '-A KUBE-SERVICES -d ' + cluster_ip + '/32 -p tcp -m comment --comment "default/hostnames cluster IP"' in rules
        assert rules.count('-m comment --comment "default/hostnames" -m tcp -j DNAT --to-destination') == 3
    else:
        assert "default/hostnames" in lab.in_netns(node, "nft", "list", "table", "ip", "kube-proxy").stdout


# -- Connecting Applications with Services -----------------------------------------------------

RUN_MY_NGINX = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-nginx
spec:
  selector:
    matchLabels:
      run: my-nginx
  replicas: 2
  template:
    metadata:
      labels:
        run: my-nginx
    spec:
      containers:
      - name: my-nginx
        image: nginx
        ports:
        - containerPort: 80
"""


def nginx_pods(lab) -> list[str]:
    typed(lab, "wait", "--for=condition=Ready", "pod", "-l", "run=my-nginx", "--timeout=30s")
    return [line.split()[0] for line in typed(lab, "get", "pods", "-l", "run=my-nginx", "-o", "wide").stdout.splitlines()[1:]]


def test_connecting_applications_with_services(dnsutils):
    lab = dnsutils
    assert lab.apply(RUN_MY_NGINX, "run-my-nginx").stdout == "deployment.apps/my-nginx created\n"
    pods = nginx_pods(lab)
    assert len(pods) == 2
    columns = typed(lab, "get", "pods", "-l", "run=my-nginx", "-o", "custom-columns=POD_IP:.status.podIPs").stdout.splitlines()
    assert columns[0] == "POD_IP" and all(c.startswith("[map[ip:") for c in columns[1:])

    # "Creating a Service"
    assert typed(lab, "expose", "deployment/my-nginx").stdout == "service/my-nginx exposed\n"
    row = typed(lab, "get", "svc", "my-nginx").stdout.splitlines()[1].split()
    assert row[:2] == ["my-nginx", "ClusterIP"] and row[4] == "80/TCP"
    cluster_ip = row[2]
    described = typed(lab, "describe", "svc", "my-nginx").stdout
    assert "Selector:" in described and "run=my-nginx" in described and described.count(":80") >= 2
    slices = typed(lab, "get", "endpointslices", "-l", "kubernetes.io/service-name=my-nginx").stdout.splitlines()[1].split()
    assert slices[1:3] == ["IPv4", "80"] and len(slices[3].split(",")) == 2

    # "Accessing the Service": environment variables, then after a restart of the replicas...
    env = typed(lab, "exec", pods[0], "--", "printenv").stdout
    assert f"KUBERNETES_SERVICE_HOST={first_service_ip(lab)}" in env and "KUBERNETES_SERVICE_PORT=443" in env
    assert "MY_NGINX_SERVICE_HOST" not in env  # the pod started before the Service
    typed(lab, "scale", "deployment", "my-nginx", "--replicas=0")
    typed(lab, "scale", "deployment", "my-nginx", "--replicas=2")
    pods = nginx_pods(lab)
    env = typed(lab, "exec", pods[0], "--", "printenv").stdout
    assert f"MY_NGINX_SERVICE_HOST={cluster_ip}" in env and "MY_NGINX_SERVICE_PORT=80" in env

    # ...and DNS, from a throw-away curl pod
    assert typed(lab, "get", "services", "kube-dns", "--namespace=kube-system").stdout.splitlines()[1].split()[2] == lab.dns_ip
    looked_up = typed(lab, "run", "curl", "--image=radial/busyboxplus:curl", "-i", "--tty", "--rm", input="nslookup my-nginx\n").stdout
    assert f"Address: {cluster_ip}" in looked_up and 'pod "curl" deleted' in looked_up
    answer = lab.exec("dnsutils", "curl", "-sS", "-m", "3", "http://my-nginx/").stdout
    assert answer.split()[0].removeprefix("pod=") in pods

    # "Exposing the Service": `kubectl edit svc my-nginx`, the type changed to LoadBalancer —
    # here by an editor a script would use.
    edited = nl("edit", "svc", "my-nginx", env={"NETLAB_CLUSTER": lab.name, "KUBE_EDITOR": "sed -i s/ClusterIP/LoadBalancer/"})
    assert edited.stdout == "service/my-nginx edited\n"
    row = typed(lab, "get", "svc", "my-nginx").stdout.splitlines()[1].split()
    assert row[:3] == ["my-nginx", "LoadBalancer", cluster_ip] and row[4].startswith("80:") and row[4].endswith("/TCP")
    external_ip = row[3]
    assert lab.exec("dnsutils", "curl", "-sS", "-m", "3", f"http://{external_ip}/").stdout.split()[0].removeprefix("pod=") in pods
    grepped = piped(lab, "get svc my-nginx -o yaml | grep nodePort -C 5")
    assert f"  - nodePort: {row[4][3:-4]}\n    port: 80\n    protocol: TCP\n    targetPort: 80\n" in grepped
    addresses = piped(lab, "get nodes -o yaml | grep -i ip -C 1")  # kind's nodes show the same shape
    assert f"    - address: {lab.ranges.underlay.network_address + 11}\n      type: InternalIP\n" in addresses


def piped(lab, command: str) -> str:
    """`netlab COMMAND | …` in a shell, as the page pipes kubectl into grep."""
    env = {**{k: v for k, v in os.environ.items() if k != "NETLAB_CLUSTER"}, "NETLAB_CLUSTER": lab.name}
    done = subprocess.run(f"{sys.executable} -m netlab {command}", shell=True, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


# -- kubectl edit: what is refused, and how it ends --------------------------------------------


def test_edit_without_a_change_cancels_and_a_refused_one_reopens_with_the_reason(dnsutils, tmp_path):
    lab = dnsutils
    env = {"NETLAB_CLUSTER": lab.name, "TMPDIR": str(tmp_path)}
    unchanged = nl("edit", "svc/kubernetes", env={**env, "KUBE_EDITOR": "true"})
    assert (unchanged.returncode, unchanged.stdout, unchanged.stderr) == (0, "", "Edit cancelled, no changes made.\n")

    # The cluster IP is immutable: the apiserver's reason at the top of the file opened again;
    # the editor (sed again) changes nothing more, so kubectl gives up and keeps a copy.
    ip = first_service_ip(lab)
    moved = ip.rsplit(".", 1)[0] + ".99"
    refused = nl("edit", "svc", "kubernetes", check=False, env={**env, "KUBE_EDITOR": f"sed -i s/{ip}$/{moved}/"})
    assert refused.returncode == 1 and refused.stdout == ""
    lines = refused.stderr.splitlines()
    assert lines[0] == 'error: services "kubernetes" is invalid'
    assert lines[-1] == "error: Edit cancelled, no valid changes were saved."
    copy = lines[-2].removeprefix('A copy of your changes has been stored to "').removesuffix('"')
    assert os.path.dirname(copy) == str(tmp_path) and os.path.basename(copy).startswith("netlab-edit-") and copy.endswith(".yaml")
    kept = open(copy).read()
    assert '# services "kubernetes" was not valid:\n' in kept
    assert f'# * spec.clusterIPs[0]: Invalid value: []string{{"{moved}"}}: may not change once set\n' in kept
    assert f"clusterIP: {moved}" in kept
    assert os.listdir(tmp_path) == [os.path.basename(copy)]  # the first pass's file is gone
    assert lab.get_json("svc", "kubernetes")["spec"]["clusterIP"] == ip


# -- the apiserver's bootstrap controllers -----------------------------------------------------


def test_default_kubernetes_comes_back_when_deleted_and_system_namespaces_stay(dnsutils, wait_until):
    lab = dnsutils
    assert lab.nl("delete", "svc", "kubernetes").stdout == 'service "kubernetes" deleted\n'

    def back() -> bool:
        got = lab.nl("get", "svc", "kubernetes", "-o", "jsonpath={.spec.clusterIP}", check=False)
        return got.returncode == 0 and got.stdout == first_service_ip(lab)

    wait_until(back, timeout=15, what="default/kubernetes re-created on the first service address")
    wait_until(
        lambda: f"Address: {first_service_ip(lab)}" in lab.exec("dnsutils", "nslookup", "kubernetes.default", check=False).stdout,
        timeout=15, what="kubernetes.default answers again",
    )
    refused = lab.nl("delete", "namespace", "kube-system", check=False)
    assert refused.returncode == 3 and 'namespaces "kube-system" is forbidden: this namespace may not be deleted' in refused.stderr
    # the service account controller: every namespace has its `default` ServiceAccount
    lab.nl("delete", "serviceaccount", "default")
    wait_until(lambda: lab.nl("get", "sa", "default", check=False).returncode == 0, timeout=15, what="default ServiceAccount again")
    assert lab.nl("get", "sa", "coredns", "-n", "kube-system").stdout.split()[:5] == ["NAME", "SECRETS", "AGE", "coredns", "0"]

# -- Connecting Applications with Services: Securing the Service, Exposing the Service ---------

# https://github.com/kubernetes/examples/blob/master/_archived/https-nginx/default.conf
DEFAULT_CONF = """server {
        listen 80 default_server;
        listen [::]:80 default_server ipv6only=on;

        listen 443 ssl;

        root /usr/share/nginx/html;
        index index.html;

        server_name localhost;
        ssl_certificate /etc/nginx/ssl/tls.crt;
        ssl_certificate_key /etc/nginx/ssl/tls.key;

        location / {
                try_files $uri $uri/ =404;
        }
}
"""

# https://k8s.io/examples/service/networking/nginx-secure-app.yaml, as written (JSON-style YAML)
NGINX_SECURE_APP = """---
{
  apiVersion: "v1",
  kind: "Service",
  metadata: {name: "my-nginx", labels: {run: "my-nginx"}},
  spec: {
    type: "NodePort",
    ports: [{port: 8080, targetPort: 80, protocol: "TCP", name: "http"},
            {port: 443, protocol: "TCP", name: "https"}],
    selector: {run: "my-nginx"},
  },
}
---
{
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: {name: "my-nginx"},
  spec: {
    selector: {matchLabels: {run: "my-nginx"}},
    replicas: 1,
    template: {
      metadata: {labels: {run: "my-nginx"}},
      spec: {
        volumes: [{name: "secret-volume", secret: {secretName: "nginxsecret"}},
                  {name: "configmap-volume", configMap: {name: "nginxconfigmap"}}],
        containers: [{
          name: "nginxhttps",
          image: "bprashanth/nginxhttps:1.0",
          ports: [{containerPort: 443}, {containerPort: 80}],
          volumeMounts: [{mountPath: "/etc/nginx/ssl", name: "secret-volume"},
                         {mountPath: "/etc/nginx/conf.d", name: "configmap-volume"}],
        }],
      },
    },
  },
}
"""

# https://k8s.io/examples/service/networking/curlpod.yaml
CURLPOD = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: curl-deployment
spec:
  selector:
    matchLabels:
      app: curlpod
  replicas: 1
  template:
    metadata:
      labels:
        app: curlpod
    spec:
      volumes:
      - name: secret-volume
        secret:
          secretName: nginxsecret
      containers:
      - name: curlpod
        command:
        - sh
        - -c
        - while true; do sleep 1; done
        image: docker.io/curlimages/curl:8.18.0
        volumeMounts:
        - mountPath: /etc/nginx/ssl
          name: secret-volume
"""


def test_securing_and_exposing_the_service(dnsutils, tmp_path, monkeypatch):
    lab = dnsutils
    key, cert = tmp_path / "nginx.key", tmp_path / "nginx.crt"
    # "the manual steps": a self-signed pair for CN=my-nginx
    sh("openssl", "req", "-x509", "-nodes", "-days", "365", "-newkey", "rsa:2048", "-keyout", str(key), "-out", str(cert),
       "-subj", "/CN=my-nginx/O=my-nginx")  # fmt: skip
    assert typed(lab, "create", "secret", "tls", "nginxsecret", "--key", str(key), "--cert", str(cert)).stdout == "secret/nginxsecret created\n"
    assert typed(lab, "get", "secrets").stdout.splitlines()[1].split()[:3] == ["nginxsecret", "kubernetes.io/tls", "2"]
    (tmp_path / "default.conf").write_text(DEFAULT_CONF)
    monkeypatch.chdir(tmp_path)  # `--from-file=default.conf`, as typed in the file's directory
    made = typed(lab, "create", "configmap", "nginxconfigmap", "--from-file=default.conf")
    assert made.stdout == "configmap/nginxconfigmap created\n"
    assert typed(lab, "get", "configmaps").stdout.splitlines()[1].split()[:2] == ["nginxconfigmap", "1"]
    described = typed(lab, "describe", "configmap", "nginxconfigmap").stdout
    assert "Data\n====\ndefault.conf:\n----\nserver {\n" in described and "ssl_certificate /etc/nginx/ssl/tls.crt;" in described
    assert "BinaryData\n====\n" in described

    typed(lab, "delete", "deployments,svc", "my-nginx", "--ignore-not-found")
    assert lab.apply(NGINX_SECURE_APP, "nginx-secure-app").stdout == "service/my-nginx created\ndeployment.apps/my-nginx created\n"
    typed(lab, "wait", "--for=condition=Ready", "pod", "-l", "run=my-nginx", "--timeout=30s")
    pod_ip = typed(lab, "get", "pods", "-l", "run=my-nginx", "-o", "jsonpath={.items[0].status.podIP}").stdout
    # "At this point you can reach the nginx server from any node": from node-b's namespace
    page = lab.in_netns(lab.node_netns("node-b"), "curl", "-sSk", "-m", "5", f"https://{pod_ip}").stdout
    assert "<h1>Welcome to nginx!</h1>" in page

    # "Let's test this from a pod": the certificate names the Service; curl checks it against the CA file
    assert lab.apply(CURLPOD, "curlpod").stdout == "deployment.apps/curl-deployment created\n"
    typed(lab, "wait", "--for=condition=Ready", "pod", "-l", "app=curlpod", "--timeout=30s")
    row = typed(lab, "get", "pods", "-l", "app=curlpod").stdout.splitlines()[1].split()
    assert row[1:3] == ["1/1", "Running"]
    answer = typed(lab, "exec", row[0], "--", "curl", "-sS", "-m", "5", "https://my-nginx", "--cacert", "/etc/nginx/ssl/tls.crt").stdout
    assert "<title>Welcome to nginx!</title>" in answer
    # the secret volume as the kubelet writes it: the keys through ..data, mode 0644
    files = typed(lab, "exec", row[0], "--", "sh", "-c", "ls -A /etc/nginx/ssl; stat -L -c %a /etc/nginx/ssl/tls.key").stdout.split()
    assert {"..data", "tls.crt", "tls.key"} <= set(files) and files[-1] == "644"

    # "Exposing the Service": both NodePorts, on a node's address, from inside the lab
    service = lab.get_json("svc", "my-nginx")
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert (ports["http"]["port"], ports["http"]["targetPort"], ports["https"]["port"], ports["https"]["targetPort"]) == (8080, 80, 443, 443)
    node_ip = str(lab.ranges.underlay.network_address + 12)  # node-b
    https = typed(lab, "exec", row[0], "--", "curl", "-sS", "-m", "5", f"https://{node_ip}:{ports['https']['nodePort']}", "-k").stdout
    assert "<h1>Welcome to nginx!</h1>" in https
    http = lab.exec("dnsutils", "curl", "-sS", "-m", "5", f"http://{node_ip}:{ports['http']['nodePort']}/").stdout
    assert "<title>Welcome to nginx!</title>" in http

    # nothing of it on the host: no /etc/nginx/ssl, the host's nginx files untouched
    assert not os.path.exists("/etc/nginx/ssl")
    typed(lab, "delete", "deployments", "my-nginx", "curl-deployment")
