"""kubectl's habits on a real lab: the pod fields that change what a container sees (DNS,
Service variables, the Downward API) and the commands and flags users type from kubectl."""

from __future__ import annotations

import pytest
from conftest import nl

pytestmark = pytest.mark.root


def lab_nl(lab, *args: str, check: bool = True):
    """A command of a group (`rollout status …`) on the lab: NETLAB_CLUSTER names it."""
    return nl(*args, check=check, env={"NETLAB_CLUSTER": lab.name})

SERVICE_AND_BACKEND = """
apiVersion: v1
kind: Pod
metadata: {name: backend, labels: {app: web, tier: front}}
spec:
  containers: [{name: web, image: example.com/web:1, ports: [{containerPort: 8080}]}]
---
apiVersion: v1
kind: Service
metadata: {name: web-front}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 8080}]
"""

CLIENTS = """
apiVersion: v1
kind: Pod
metadata: {name: envpod, labels: {app: client}, annotations: {team: net}}
spec:
  containers:
    - name: c
      image: busybox
      command: ["sh", "-c", "echo started $(MY_IP) '$$(NOT_EXPANDED)'; sleep infinity"]
      env:
        - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: MY_NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}
        - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
        - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
        - {name: MY_UID, valueFrom: {fieldRef: {fieldPath: metadata.uid}}}
        - {name: MY_APP, valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}}
        - {name: MY_TEAM, valueFrom: {fieldRef: {fieldPath: "metadata.annotations['team']"}}}
        - {name: MY_HOST_IP, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}
        - {name: MY_SA, valueFrom: {fieldRef: {fieldPath: spec.serviceAccountName}}}
        - {name: BACKEND_URL, value: "http://$(WEB_FRONT_SERVICE_HOST):$(WEB_FRONT_SERVICE_PORT_HTTP)/"}
---
apiVersion: v1
kind: Pod
metadata: {name: nolinks}
spec:
  enableServiceLinks: false
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-none}
spec:
  dnsPolicy: "None"
  dnsConfig:
    nameservers: [DNS_IP]
    searches: [svc.cluster.local, corp.example]
    options: [{name: ndots, value: "2"}, {name: edns0}]
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-merged}
spec:
  dnsConfig:
    searches: [corp.example]
    options: [{name: ndots, value: "1"}]
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
---
apiVersion: v1
kind: Pod
metadata: {name: dns-default}
spec:
  dnsPolicy: Default
  containers: [{name: c, image: busybox, command: ["sleep", "infinity"]}]
"""


@pytest.fixture(scope="module")
def shop(lab):
    lab.apply(SERVICE_AND_BACKEND, "backend")
    lab.wait_running("backend")
    lab.apply(CLIENTS.replace("DNS_IP", lab.dns_ip), "clients")
    lab.wait_running("envpod", "nolinks", "dns-none", "dns-merged", "dns-default")
    return lab


def env_of(lab, pod: str) -> dict[str, str]:
    out = lab.exec(pod, "env").stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


# --- the Downward API and Service variables --------------------------------------------------


def test_field_refs_give_the_pod_its_own_identity(shop):
    env = env_of(shop, "envpod")
    pod = shop.pod("envpod")

    assert env["MY_IP"] == shop.pod_ip("envpod")
    assert env["MY_NODE"] == pod["spec"]["nodeName"]
    assert env["MY_NAME"] == "envpod"
    assert env["MY_NS"] == "default"
    assert env["MY_UID"] == pod["metadata"]["uid"]
    assert env["MY_APP"] == "client"
    assert env["MY_TEAM"] == "net"
    assert env["MY_HOST_IP"] == pod["status"]["hostIP"]
    assert env["MY_SA"] == "default"


def test_service_variables_reach_the_service_with_real_traffic(shop):
    env = env_of(shop, "envpod")
    ip = shop.cluster_ip("web-front")

    assert env["WEB_FRONT_SERVICE_HOST"] == ip
    assert env["WEB_FRONT_SERVICE_PORT"] == "80"
    assert env["WEB_FRONT_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_FRONT_PORT"] == f"tcp://{ip}:80"
    assert env["WEB_FRONT_PORT_80_TCP_ADDR"] == ip
    assert env["BACKEND_URL"] == f"http://{ip}:80/"
    # The variable is a working address: the pod reaches the backend through it.
    answer = shop.exec("envpod", "sh", "-c", 'curl -sS -m 3 "$BACKEND_URL"').stdout
    assert "backend" in answer


def test_enable_service_links_false_leaves_them_out(shop):
    env = env_of(shop, "nolinks")

    assert not any(k.startswith("WEB_FRONT_") for k in env)


def test_command_is_expanded_like_the_kubelet(shop, wait_until):
    ip = shop.pod_ip("envpod")
    logs = wait_until(lambda: shop.nl("logs", "envpod").stdout, what="envpod's first line")

    assert logs.splitlines()[0] == f"started {ip} $(NOT_EXPANDED)"


# --- dnsPolicy and dnsConfig -> /etc/resolv.conf -------------------------------------------------


def test_dns_policy_none_takes_only_dns_config_and_resolves(shop):
    conf = shop.exec("dns-none", "cat", "/etc/resolv.conf").stdout

    assert conf == f"search svc.cluster.local corp.example\nnameserver {shop.dns_ip}\noptions ndots:2 edns0\n"
    # "web-front.default" is completed by the search path "svc.cluster.local".
    answer = shop.exec("dns-none", "nslookup", "web-front.default").stdout
    assert shop.cluster_ip("web-front") in answer


def test_dns_config_is_merged_into_cluster_first(shop):
    conf = shop.exec("dns-merged", "cat", "/etc/resolv.conf").stdout

    assert conf == (
        "search default.svc.cluster.local svc.cluster.local cluster.local corp.example\n"
        f"nameserver {shop.dns_ip}\noptions ndots:1\n"
    )


def test_dns_policy_default_gives_the_nodes_resolver_which_has_no_upstream(shop):
    conf = shop.exec("dns-default", "cat", "/etc/resolv.conf").stdout

    assert shop.dns_ip not in conf
    assert "nameserver" not in conf


# --- get: kubectl's flags ------------------------------------------------------------------------


def test_get_several_kinds_prints_a_table_per_kind_with_kind_names(shop):
    out = shop.nl("get", "pods,svc").stdout
    pods_table, services_table = out.split("\n\n")

    assert pods_table.splitlines()[0].split()[:2] == ["NAME", "READY"]
    assert "pod/backend" in pods_table
    assert services_table.splitlines()[0].split()[:2] == ["NAME", "TYPE"]
    assert "service/web-front" in services_table


def test_get_all_and_names(shop):
    names = shop.nl("get", "all", "-o", "name").stdout.split()

    assert "pod/backend" in names and "service/web-front" in names
    assert shop.nl("get", "pod/backend", "svc/web-front", "-o", "name").stdout == "pod/backend\nservice/web-front\n"


def test_no_headers_labels_and_label_columns(shop):
    out = shop.nl("get", "pods", "backend", "--no-headers", "--show-labels", "-L", "tier").stdout

    assert out.split() == ["backend", "1/1", "Running", "0", out.split()[4], "front", "app=web,tier=front"]


def test_jsonpath_with_range_lists_name_and_ip(shop):
    template = '{range .items[*]}{.metadata.name}{"\\t"}{.status.podIP}{"\\n"}{end}'
    out = shop.nl("get", "pods", "-l", "app in (web,client)", "-o", f"jsonpath={template}").stdout

    assert out == f"backend\t{shop.pod_ip('backend')}\nenvpod\t{shop.pod_ip('envpod')}\n"
    ready = shop.nl("get", "pod", "backend", "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}').stdout
    assert ready == "True"


def test_custom_columns_and_sort_by(shop):
    out = shop.nl("get", "pods", "-o", "custom-columns=NAME:.metadata.name,IP:.status.podIP", "--sort-by=.metadata.name").stdout
    lines = out.splitlines()

    assert lines[0].split() == ["NAME", "IP"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == sorted(names)
    assert lines[1].split() == ["backend", shop.pod_ip("backend")]


def test_field_selector(shop):
    node = shop.pod("backend")["spec"]["nodeName"]
    out = shop.nl("get", "pods", "--field-selector", f"spec.nodeName={node},metadata.name=backend", "-o", "name").stdout
    assert out == "pod/backend\n"

    refused = shop.nl("get", "pods", "--field-selector", "spec.containers=x", check=False)
    assert refused.returncode == 3
    assert "field label not supported: spec.containers" in refused.stderr


def test_endpointslices_name_the_backend_and_its_service(shop):
    slices = shop.get_json("endpointslices", "-l", "kubernetes.io/service-name=web-front")["items"]

    assert len(slices) == 1
    assert slices[0]["addressType"] == "IPv4"
    assert slices[0]["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert [e["addresses"] for e in slices[0]["endpoints"]] == [[shop.pod_ip("backend")]]
    row = shop.nl("get", "endpointslices", slices[0]["metadata"]["name"], "--no-headers").stdout.split()
    assert row[1:4] == ["IPv4", "8080", shop.pod_ip("backend")]


# --- delete -l / --all / --ignore-not-found, wait ------------------------------------------------

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replicas: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
      - name: web
        image: nginx
        ports: [{containerPort: 80}]
        # Without a probe, Ready means "started" (as in Kubernetes), not "listening": the probe
        # makes the Ready that `wait` reports mean serving, which the test then relies on.
        readinessProbe: {tcpSocket: {port: 80}, periodSeconds: 1}
"""

THROWAWAY = """
apiVersion: v1
kind: Namespace
metadata: {name: scratch}
---
apiVersion: v1
kind: Pod
metadata: {name: tmp-1, namespace: scratch, labels: {role: tmp}}
spec: {containers: [{name: c, image: busybox, command: [sleep, infinity]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: tmp-2, namespace: scratch, labels: {role: tmp}}
spec: {containers: [{name: c, image: busybox, command: [sleep, infinity]}]}
---
apiVersion: v1
kind: Pod
metadata: {name: keep, namespace: scratch, labels: {role: keep}}
spec: {containers: [{name: c, image: busybox, command: [sleep, infinity]}]}
"""


def test_wait_for_available_and_ready(shop):
    shop.apply(DEPLOYMENT, "api")

    available = shop.nl("wait", "--for=condition=Available", "deploy/api", "--timeout=30s")
    assert available.stdout == "deployment.apps/api condition met\n"
    ready = shop.nl("wait", "--for=condition=Ready", "pod", "-l", "app=api", "--timeout=30s")
    assert len(ready.stdout.splitlines()) == 2
    assert all(line.endswith(" condition met") for line in ready.stdout.splitlines())
    # Ready means serving: both replicas answer through a real connection right now.
    for ip in shop.nl("get", "pods", "-l", "app=api", "-o", "jsonpath={.items[*].status.podIP}").stdout.split():
        assert f"ip={ip} " in shop.exec("envpod", "curl", "-sS", "-m", "10", f"http://{ip}/").stdout
    phase = shop.nl("wait", "--for=jsonpath={.status.phase}=Running", "pod/backend")
    assert phase.stdout == "pod/backend condition met\n"


def test_wait_times_out_with_kubectls_message_and_exit_code(shop):
    result = shop.nl("wait", "--for=condition=Ready=false", "pod/backend", "--timeout=1s", check=False)

    assert result.returncode == 1
    assert "timed out waiting for the condition on pods/backend" in result.stderr


def test_wait_for_a_missing_object_fails(shop):
    result = shop.nl("wait", "--for=condition=Ready", "pod/nope", "--timeout=1s", check=False)

    assert result.returncode != 0
    assert 'pods "nope" not found' in result.stderr


def test_delete_by_label_and_all_then_wait_for_delete(shop, wait_until):
    shop.apply(THROWAWAY, "scratch")
    shop.wait_running("tmp-1", "tmp-2", "keep", namespace="scratch")

    deleted = shop.nl("delete", "pods", "-l", "role=tmp", "-n", "scratch", "--wait=false")
    assert deleted.stdout == 'pod "tmp-1" deleted\npod "tmp-2" deleted\n'
    gone = shop.nl("wait", "--for=delete", "pod/tmp-1", "pod/tmp-2", "-n", "scratch", "--timeout=20s")
    assert "pod/tmp-1 condition met" in gone.stdout
    assert shop.nl("get", "pods", "-n", "scratch", "-o", "name").stdout == "pod/keep\n"
    wait_until(lambda: shop.pod_netns("tmp-1", "scratch") not in shop.netns(), what="tmp-1's netns gone")

    none = shop.nl("delete", "pods", "-l", "role=tmp", "-n", "scratch")
    assert none.stdout == "" and "No resources found in scratch namespace." in none.stderr

    assert shop.nl("delete", "pods", "--all", "-n", "scratch").stdout == 'pod "keep" deleted\n'
    assert shop.nl("get", "pods", "-n", "scratch", "-o", "name").stdout == ""


def test_delete_ignore_not_found(shop):
    assert shop.nl("delete", "pod", "never-was", "--ignore-not-found").stdout == ""
    missing = shop.nl("delete", "pod", "never-was", check=False)
    assert missing.returncode != 0
    assert 'pods "never-was" not found' in missing.stderr


# --- rollout -----------------------------------------------------------------------------------

ROLLOUT_V = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shopfront
  annotations: {{kubernetes.io/change-cause: "{cause}"}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: shopfront}}}}
  template:
    metadata: {{labels: {{app: shopfront}}}}
    spec:
      containers: [{{name: web, image: "nginx:{tag}", ports: [{{containerPort: 80}}]}}]
---
apiVersion: v1
kind: Service
metadata: {{name: shopfront}}
spec:
  selector: {{app: shopfront}}
  ports: [{{port: 80}}]
"""


def rollout(lab, *args: str, check: bool = True):
    """`netlab rollout VERB ARGS` on the lab (a group takes --cluster after its verb; the
    environment variable points it at the lab)."""
    verb, *rest = args
    return lab_nl(lab, "rollout", verb, *rest, check=check)


def serving_pods(lab, tries: int = 12) -> set[str]:
    """The pods that answer through the Service, by their own name in the answer."""
    return {lab.curl("envpod", "http://shopfront.default.svc.cluster.local/")["pod"] for _ in range(tries)}


def replicasets_by_revision(lab) -> dict[str, str]:
    items = lab.get_json("rs", "-l", "app=shopfront")["items"]
    return {rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["metadata"]["name"] for rs in items}


def test_rollout_history_undo_and_restart(shop, wait_until):
    shop.apply(ROLLOUT_V.format(cause="v1", tag="1.26"), "v1")
    rollout(shop, "status", "deploy/shopfront", "--timeout=30s")
    shop.apply(ROLLOUT_V.format(cause="v2", tag="1.27"), "v2")

    status = rollout(shop, "status", "deploy/shopfront", "--timeout=30s")
    assert status.stdout.splitlines()[-1] == 'deployment "shopfront" successfully rolled out'
    history = rollout(shop, "history", "deploy/shopfront").stdout.splitlines()
    assert history[0] == "deployment.apps/shopfront "
    assert [line.split() for line in history[1:]] == [["REVISION", "CHANGE-CAUSE"], ["1", "v1"], ["2", "v2"]]
    # The old ReplicaSet stays, scaled to 0: that is the history undo goes back to.
    revisions = replicasets_by_revision(shop)
    scaled = {rs["metadata"]["name"]: rs["spec"]["replicas"] for rs in shop.get_json("rs", "-l", "app=shopfront")["items"]}
    assert scaled == {revisions["1"]: 0, revisions["2"]: 2}
    assert shop.get_json("deploy", "shopfront")["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert all(p.startswith(revisions["2"] + "-") for p in serving_pods(shop))

    undo = rollout(shop, "undo", "deploy/shopfront")
    assert undo.stdout == "deployment.apps/shopfront rolled back\n"
    rollout(shop, "status", "deploy/shopfront", "--timeout=30s")
    # Revision 1 comes back as revision 3, in its own ReplicaSet, and serves the traffic.
    assert replicasets_by_revision(shop) == {"2": revisions["2"], "3": revisions["1"]}
    image = shop.nl("get", "deploy", "shopfront", "-o", "jsonpath={.spec.template.spec.containers[0].image}").stdout
    assert image == "nginx:1.26"
    wait_until(lambda: all(p.startswith(revisions["1"] + "-") for p in serving_pods(shop)), timeout=20, what="revision 1's pods serving")

    again = rollout(shop, "undo", "deploy/shopfront", "--to-revision=3")
    assert again.stdout == "deployment.apps/shopfront skipped rollback (current template already matches revision 3)\n"
    missing = rollout(shop, "undo", "deploy/shopfront", "--to-revision=9", check=False)
    assert missing.returncode != 0 and "unable to find specified revision 9 in history" in missing.stderr

    before = set(shop.nl("get", "pods", "-l", "app=shopfront", "-o", "name").stdout.split())
    assert rollout(shop, "restart", "deploy/shopfront").stdout == "deployment.apps/shopfront restarted\n"
    rollout(shop, "status", "deploy/shopfront", "--timeout=30s")
    after = wait_until(lambda: (s := serving_pods(shop)) and not (s & {p.split("/")[1] for p in before}) and s, timeout=20, what="new pods serving")
    assert after
    assert len(replicasets_by_revision(shop)) == 3


def test_rollout_status_of_a_statefulset(shop):
    shop.apply(
        """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  serviceName: db
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers: [{name: c, image: busybox, command: [sleep, infinity]}]
""",
        "sts",
    )
    status = rollout(shop, "status", "sts/db", "--timeout=30s").stdout.splitlines()

    assert status[-1].startswith("statefulset rolling update complete 2 pods at revision db-")
    refused = rollout(shop, "undo", "sts/db", check=False)
    assert refused.returncode == 3 and "ControllerRevisions" in refused.stderr


# --- label, annotate, api-resources -----------------------------------------------------------

PICKY = """
apiVersion: v1
kind: Service
metadata: {name: picky}
spec:
  selector: {role: picky}
  ports: [{port: 80, targetPort: 8080}]
"""


def test_labelling_a_pod_puts_it_behind_a_service_and_removing_takes_it_out(shop, wait_until):
    shop.apply(PICKY, "picky")
    url = f"http://{shop.cluster_ip('picky')}/"

    def answer() -> str:
        return shop.exec("envpod", "curl", "-sS", "-m", "2", url, check=False).stdout

    assert answer() == ""  # no endpoints: refused
    assert shop.nl("label", "pod", "backend", "role=picky").stdout == "pod/backend labeled\n"
    assert "pod=backend" in wait_until(answer, what="backend behind picky")

    refused = shop.nl("label", "pod/backend", "role=other", check=False)
    assert refused.returncode != 0 and "'role' already has a value (picky), and --overwrite is false" in refused.stderr
    assert shop.nl("label", "pod", "backend", "role=picky").stdout == "pod/backend not labeled\n"

    assert shop.nl("label", "pod", "backend", "role-").stdout == "pod/backend labeled\n"
    wait_until(lambda: answer() == "", what="backend out of picky")


def test_annotate_and_api_resources(shop):
    assert shop.nl("annotate", "svc", "web-front", "owner=net-team").stdout == "service/web-front annotated\n"
    annotations = shop.get_json("svc", "web-front")["metadata"]["annotations"]
    assert annotations["owner"] == "net-team"
    assert shop.nl("annotate", "svc", "web-front", "owner=other", "--overwrite").stdout == "service/web-front annotated\n"
    assert shop.nl("annotate", "svc", "web-front", "owner-").stdout == "service/web-front annotated\n"

    table = nl("api-resources").stdout.splitlines()
    assert table[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "v1", "true", "Pod"] in [line.split() for line in table]
    assert "deployments.apps" in nl("api-resources", "-o", "name").stdout.split()


# --- create deployment, expose, run, exec -t: the docs' imperative steps -------------------------


def test_create_deployment_expose_and_run_like_the_tutorial(shop, wait_until):
    created = lab_nl(shop, "create", "deployment", "hello", "--image=registry.k8s.io/e2e-test-images/agnhost:2.39",
                      "--replicas=2", "--port=8080", "--", "/agnhost", "netexec", "--http-port=8080")  # fmt: skip
    assert created.stdout == "deployment.apps/hello created\n"
    assert shop.nl("expose", "deployment", "hello", "--port=80", "--target-port=8080").stdout == "service/hello exposed\n"
    shop.nl("wait", "--for=condition=Available", "deploy/hello", "--timeout=30s")

    # `kubectl run tmp --rm -i --restart=Never -- …`: the command's output and exit code, then the pod is gone.
    result = lab_nl(shop, "run", "tmp", "--image=busybox", "--rm", "-i", "--restart=Never", "--",
                    "sh", "-c", "wget -qO- http://hello/hostname; echo; exit 3", check=False)  # fmt: skip
    assert result.returncode == 3
    assert result.stdout.splitlines()[0].startswith("hello-")
    assert 'pod "tmp" deleted' in result.stdout
    assert shop.nl("get", "pods", "tmp", "-o", "name", check=False).returncode != 0

    assert lab_nl(shop, "run", "sleeper", "--image=busybox", "--restart=Never", "--command", "--", "sleep", "300").stdout == "pod/sleeper created\n"
    spec = shop.get_json("pod", "sleeper")["spec"]
    assert spec["restartPolicy"] == "Never"
    assert spec["containers"][0]["command"] == ["sleep", "300"]
    assert shop.pod("sleeper")["metadata"]["labels"] == {"run": "sleeper"}


def test_exec_t_gives_the_command_a_terminal_of_its_own(shop):
    import os
    import select
    import subprocess
    import sys
    import time

    master, slave = os.openpty()
    ours = os.ttyname(slave)
    proc = subprocess.Popen(
        [sys.executable, "-m", "netlab", "exec", "--cluster", shop.name, "-it", "backend", "--", "sh", "-c", "tty; exit 4"],
        stdin=slave, stdout=slave, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    output = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the last writer closed
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(master)
    assert proc.wait(timeout=10) == 4
    theirs = output.decode().strip()
    assert theirs.startswith("/dev/pts/") and theirs != ours

    piped = shop.nl("exec", "-t", "backend", "--", "sh", "-c", "tty", check=False)
    assert "Unable to use a TTY - input is not a terminal" in piped.stderr
    assert piped.stdout.strip() == "not a tty"


# --- logs -l / --prefix / -p ------------------------------------------------------------------------

CRASHER = """
apiVersion: v1
kind: Pod
metadata: {name: crasher, labels: {app: crasher}}
spec:
  containers:
    - name: c
      image: busybox
      command: ["sh", "-c", "echo instance $(date +%s%N); sleep 2; exit 1"]
"""


def test_logs_of_the_previous_instance_and_by_selector(shop, wait_until):
    shop.apply(CRASHER, "crasher")

    def restarted() -> bool:
        statuses = shop.pod("crasher")["status"].get("containerStatuses") or [{}]
        return statuses[0].get("restartCount", 0) == 1 and shop.nl("logs", "crasher").stdout != ""

    wait_until(restarted, timeout=15, what="crasher restarted once")
    previous = shop.nl("logs", "crasher", "-p").stdout.splitlines()
    current = shop.nl("logs", "crasher").stdout.splitlines()
    assert len(previous) == 1 and previous[0].startswith("instance ")
    assert len(current) == 1 and current[0].startswith("instance ") and current != previous

    never = shop.nl("logs", "backend", "-p", check=False)
    assert never.returncode != 0 and 'previous terminated container "web" in pod "backend" not found' in never.stderr

    prefixed = shop.nl("logs", "-l", "app=crasher", "--prefix").stdout
    assert prefixed == f"[pod/crasher/c] {current[0]}\n"
    refused = shop.nl("logs", "crasher", "--since=5s", "--since-time=2024-01-01T00:00:00Z", check=False)
    assert refused.returncode == 2 and "at most one of `sinceTime` or `sinceSeconds` may be specified" in refused.stderr
    shop.nl("delete", "pod", "crasher")


# --- diff, apply --dry-run ------------------------------------------------------------------------


def test_diff_exit_codes_and_dry_runs_store_nothing(shop):
    same = shop.write(SERVICE_AND_BACKEND, "same")
    assert shop.nl("diff", "-f", str(same)).returncode == 0

    changed = shop.write(SERVICE_AND_BACKEND.replace("port: 80,", "port: 81,"), "changed")
    result = shop.nl("diff", "-f", str(changed), check=False)
    assert result.returncode == 1
    assert result.stdout.startswith("diff -u -N ")
    assert "-  - name: http\n-    port: 80\n" in result.stdout or "-    port: 80\n" in result.stdout
    assert "+    port: 81\n" in result.stdout
    broken = shop.write("apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n", "broken")
    assert shop.nl("diff", "-f", str(broken), check=False).returncode > 1

    fresh = shop.write("apiVersion: v1\nkind: Service\nmetadata: {name: dry}\nspec: {type: NodePort, ports: [{port: 80}]}\n", "dry")
    assert shop.nl("apply", "-f", str(fresh), "--dry-run=server").stdout == "service/dry created (server dry run)\n"
    assert shop.nl("apply", "-f", str(fresh), "--dry-run=client").stdout == "service/dry created (dry run)\n"
    assert shop.nl("get", "svc", "dry", check=False).returncode != 0
    assert shop.nl("apply", "-f", str(changed), "--dry-run=server").stdout.startswith("pod/backend unchanged (server dry run)\nservice/web-front configured")
    assert shop.get_json("svc", "web-front")["spec"]["ports"][0]["port"] == 80
    # Server dry run admits as the apiserver does: a clash is refused, nothing stored.
    taken = shop.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: clash}}\nspec: {{clusterIP: {shop.cluster_ip('web-front')}, ports: [{{port: 80}}]}}\n", "clash")
    refused = shop.nl("apply", "-f", str(taken), "--dry-run=server", check=False)
    assert refused.returncode == 3


# --- port-forward ---------------------------------------------------------------------------------


def test_port_forward_a_service_from_the_hosts_loopback_and_ctrl_c_ends_it(shop):
    import signal
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen(
        [sys.executable, "-m", "netlab", "port-forward", "--cluster", shop.name, "svc/web-front", "0:80"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = proc.stdout.readline()
        assert first.startswith("Forwarding from 127.0.0.1:") and first.endswith(" -> 8080\n"), first
        port = int(first.split(":")[1].split()[0])
        # Real traffic from the host's loopback into the backend pod's namespace.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as answer:
            assert "pod=backend" in answer.read().decode()
        assert proc.stdout.readline() == f"Handling connection for {port}\n"
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=10)
    assert code == 0
    assert "Traceback" not in proc.stderr.read()


def test_port_forward_refuses_other_addresses_and_bad_targets(shop):
    outside = shop.nl("port-forward", "--address", "0.0.0.0", "backend", "8080", check=False)
    assert outside.returncode == 3 and "127.0.0.1 only" in outside.stderr
    missing = shop.nl("port-forward", "pod/nope", "80", check=False)
    assert missing.returncode == 3 and 'pods "nope" not found' in missing.stderr
    bad_port = shop.nl("port-forward", "svc/web-front", "9999", check=False)
    assert bad_port.returncode == 3 and "does not have a service port 9999" in bad_port.stderr


def test_delete_f_with_objects_that_carry_only_kind_and_name(shop):
    shop.apply("apiVersion: v1\nkind: Service\nmetadata: {name: brief}\nspec: {ports: [{port: 80}]}\n", "brief")
    brief = shop.write("apiVersion: v1\nkind: Service\nmetadata:\n  name: brief\n", "brief-ref")

    assert shop.nl("delete", "-f", str(brief)).stdout == 'service "brief" deleted\n'
    assert shop.nl("delete", "-f", str(brief), "--ignore-not-found").stdout == ""


def test_nslookup_does_not_complain_about_recursion(shop):
    result = shop.exec("envpod", "nslookup", "web-front.default.svc.cluster.local")

    assert shop.cluster_ip("web-front") in result.stdout
    assert "recursion not available" not in result.stdout + result.stderr
