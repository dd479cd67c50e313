"""Real labs for the integration tests: one per test module, unique name and ranges.

Other people run labs on the same machine (the default `netlab` one among them), so every lab
made here gets a fresh name and address ranges that overlap no other lab and no host route,
acts only through `--cluster NAME`, and its teardown proves that nothing of it is left.
"""

from __future__ import annotations

import fcntl
import json
import os
import random
import secrets
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any, Callable, Iterator, TypeVar

import pytest
import yaml

from netlab import naming
from netlab.naming import RTPROT_NETLAB  # netlab's route protocol number (guard routes on the host)

T = TypeVar("T")

NETNS_DIR = "/run/netns"
RUN_DIR = "/run/netlab"  # netlab's lock files and control plane pid files and sockets
UTSNS_DIR = "/run/netlab/uts"  # where netlab pins pods' UTS namespaces (their hostnames)
CLI_TIMEOUT = 60.0
# Serialises lab creation among concurrent runs of this suite: netlab checks overlaps, but two
# creates racing for the same ranges could both pass the check.
CREATE_LOCK = "/run/lock/netlab-integration-tests.lock"
# kube-proxy's modes; a module marked `every_kube_proxy_mode` runs once per mode, each with its own lab.
KUBE_PROXY_MODES = ("iptables", "nftables")

# Every control plane the tests start checks that no step changes the store's shared decoded
# objects in place (`apiserver/store.py`, Decoded): such a change would feed the next
# reconcile a stale object, and here it fails the reconcile instead.
os.environ.setdefault("NETLAB_CHECK_SHARED", "1")


# -- running the CLI ---------------------------------------------------------------------------


def nl(
    *args: str,
    input: str | bytes | None = None,
    check: bool = True,
    env: dict[str, str] | None = None,
    timeout: float = CLI_TIMEOUT,
) -> subprocess.CompletedProcess:
    """Run `netlab ARGS...` as a subprocess; with check, a non-zero exit fails the test loudly."""
    argv = [sys.executable, "-m", "netlab", *args]
    # Never inherit a cluster choice: a stray NETLAB_CLUSTER must not point a test at someone's lab.
    inherited = {k: v for k, v in os.environ.items() if k != "NETLAB_CLUSTER"}
    text = not isinstance(input, bytes)
    result = subprocess.run(
        argv, input=input, capture_output=True, text=text, env={**inherited, **(env or {})}, timeout=timeout
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"`netlab {' '.join(args)}` exited {result.returncode}\n"
            f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
        )
    return result


def wait_until(fn: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = "") -> T:
    """Poll `fn` until it returns something truthy; fail with its last value at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or fn!r}; last value: {value!r}")
        time.sleep(interval)


def sh(*argv: str, check: bool = True, input: str | None = None) -> subprocess.CompletedProcess:
    """A host command (ip, iptables-save, …), for looking at the kernel from outside."""
    result = subprocess.run(list(argv), capture_output=True, text=True, input=input, timeout=CLI_TIMEOUT)
    if check and result.returncode != 0:
        raise AssertionError(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr}")
    return result


def ip_json(*args: str) -> list[dict[str, Any]]:
    return json.loads(sh("ip", "-j", *args).stdout or "[]")


# -- the kernel, as seen from the host -------------------------------------------------------------


def netns_names() -> set[str]:
    try:
        return set(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return set()


def netns_inode(name: str) -> int | None:
    try:
        return os.stat(os.path.join(NETNS_DIR, name)).st_ino
    except FileNotFoundError:
        return None


def pids_in_netns(inodes: set[int]) -> list[int]:
    """Processes whose network namespace is one of `inodes`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}/ns/net").st_ino in inodes:
                found.append(int(entry))
        except (FileNotFoundError, PermissionError, ProcessLookupError):
            continue
    return found


def describe_process(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return f"{pid} (gone)"
    return f"{pid} [{state}] {argv}"


def host_link_names() -> set[str]:
    return {link["ifname"] for link in ip_json("link", "show")}


def host_guard_routes() -> set[IPv4Network | IPv6Network]:
    """Destinations of netlab's host routes (protocol 212), both families."""
    return {
        ip_network(r["dst"])
        for family in ("-4", "-6")
        for r in ip_json(family, "route", "show", "proto", str(RTPROT_NETLAB))
        if "/" in r["dst"]
    }


def host_routed_networks() -> list[IPv4Network | IPv6Network]:
    nets = []
    for family in ("-4", "-6"):
        for r in ip_json(family, "route", "show"):
            dst = r["dst"]
            if dst != "default":
                nets.append(ip_network(dst if "/" in dst else f"{dst}/{32 if family == '-4' else 128}", strict=False))
    return nets


# -- a lab -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranges:
    pod: IPv4Network
    service: IPv4Network
    underlay: IPv4Network
    # The IPv6 halves, used by dual-stack labs: fd00:70:k::/56 (a /64 per node), fd00:71:k::/112,
    # fd00:72:k::/64 — clear of the default lab's fd00:10:244::/56, fd00:10:96::/112 and
    # fd00:172:31:255::/64.
    pod6: IPv6Network | None = None
    service6: IPv6Network | None = None
    underlay6: IPv6Network | None = None

    @classmethod
    def pick(cls, k: int) -> "Ranges":
        # Pods 10.112-175.x, Services 10.176-239.x: clear of the default lab's 10.96.0.0/12 and
        # 10.244.0.0/16; underlays 172.30.x next to the default 172.31.255.0/24.
        return cls(
            IPv4Network(f"10.{112 + k}.0.0/16"),
            IPv4Network(f"10.{176 + k}.0.0/16"),
            IPv4Network(f"172.30.{k}.0/24"),
            IPv6Network(f"fd00:70:{k:x}::/56"),
            IPv6Network(f"fd00:71:{k:x}::/112"),
            IPv6Network(f"fd00:72:{k:x}::/64"),
        )

    def all(self, dual: bool = False) -> tuple[IPv4Network | IPv6Network, ...]:
        v4 = (self.pod, self.service, self.underlay)
        return (*v4, self.pod6, self.service6, self.underlay6) if dual else v4

    def clashes(self, taken: list[IPv4Network | IPv6Network]) -> bool:
        return any(mine.overlaps(other) for mine in self.all(dual=True) for other in taken if mine.version == other.version)


RANGE_CHOICES = 64


def new_cluster_name() -> str:
    return "t" + secrets.token_hex(3)  # 7 characters; netlab allows 12


def cluster_document(
    name: str,
    ranges: Ranges,
    nodes: tuple[str, ...] = ("node-a", "node-b"),
    kube_proxy_mode: str = "iptables",
    routing: str | None = None,
    ip_family: str = "ipv4",
) -> dict[str, Any]:
    mode = {} if kube_proxy_mode == "iptables" else {"kubeProxyMode": kube_proxy_mode}
    families = {
        "ipv4": (ranges.pod, ranges.service, ranges.underlay),
        "ipv6": (ranges.pod6, ranges.service6, ranges.underlay6),
        "dual": (f"{ranges.pod},{ranges.pod6}", f"{ranges.service},{ranges.service6}", f"{ranges.underlay},{ranges.underlay6}"),
    }[ip_family]
    document = {
        "apiVersion": "netlab.dev/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": name},
        "spec": {
            "nodes": [{"name": n} for n in nodes],
            "podCIDR": str(families[0]),
            "serviceCIDR": str(families[1]),
            "underlayCIDR": str(families[2]),
            **mode,
            **({} if ip_family == "ipv4" else {"ipFamily": ip_family}),
        },
    }
    if routing is not None:
        document["spec"]["routing"] = routing
    return document


def existing_lab_ranges() -> list[IPv4Network | IPv6Network]:
    """Every range of every lab `netlab cluster list` shows (both families: `A,B`)."""
    listed = nl("cluster", "list").stdout.splitlines()
    nets = []
    for line in listed[1:]:
        nets += [ip_network(part) for word in line.split() if "/" in word for part in word.split(",")]
    return nets


class Lab:
    """One real cluster; every CLI call is pinned to it by `--cluster NAME`."""

    def __init__(
        self, name: str, ranges: Ranges, workdir: Path, kube_proxy_mode: str = "iptables", ip_family: str = "ipv4"
    ) -> None:
        self.name = name
        self.ranges = ranges
        self.workdir = workdir
        self.kube_proxy_mode = kube_proxy_mode
        self.ip_family = ip_family
        self._files = 0

    # --- CLI ---

    def nl(self, command: str, *args: str, input: str | bytes | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """`netlab COMMAND --cluster NAME ARGS...` for the per-cluster commands (apply, get, exec, …).

        The option goes first because `exec` takes no options after the pod name.
        """
        return nl(command, "--cluster", self.name, *args, input=input, check=check, env={"NETLAB_CLUSTER": self.name})

    def write(self, text: str, stem: str = "manifest") -> Path:
        self._files += 1
        path = self.workdir / f"{stem}-{self._files}.yaml"
        path.write_text(text)
        return path

    def apply(self, text: str, stem: str = "manifest", check: bool = True) -> subprocess.CompletedProcess:
        """Apply YAML text through a file (so errors name a file)."""
        return self.nl("apply", "-f", str(self.write(text, stem)), check=check)

    def exec(
        self, pod: str, *command: str, container: str | None = None, stdin: str | None = None, check: bool = True, namespace: str | None = None
    ) -> subprocess.CompletedProcess:
        opts = ["-i"] if stdin is not None else []
        if container:
            opts += ["-c", container]
        if namespace:
            opts += ["-n", namespace]
        return self.nl("exec", *opts, pod, "--", *command, input=stdin, check=check)

    def curl(self, pod: str, url: str, namespace: str | None = None) -> dict[str, str]:
        """GET `url` from inside `pod`; the built-in web server's answer
        (`pod=pod-a namespace=default ip=… node=… client=IP:PORT`) as a dict."""
        body = self.exec(pod, "curl", "-sS", "-m", "3", url, namespace=namespace).stdout
        fields = dict(word.split("=", 1) for word in body.split() if "=" in word)
        assert "pod" in fields, f"unexpected answer from {url}: {body!r}"
        return fields

    def get_json(self, *args: str) -> dict[str, Any]:
        return json.loads(self.nl("get", *args, "-o", "json").stdout)

    def pod(self, name: str, namespace: str = "default") -> dict[str, Any]:
        return self.get_json("pods", name, "-n", namespace)

    def pod_ip(self, name: str, namespace: str = "default") -> str:
        return self.pod(name, namespace)["status"]["podIP"]

    def pod_ips(self, name: str, namespace: str = "default") -> dict[int, str]:
        """The pod's address per family (4, 6), from status.podIPs."""
        ips = [entry["ip"] for entry in self.pod(name, namespace)["status"].get("podIPs", [])]
        return {ip_network(ip).version: ip for ip in ips}

    def cluster_ips(self, service: str, namespace: str = "default") -> dict[int, str]:
        """The Service's cluster IP per family, from spec.clusterIPs."""
        ips = self.get_json("svc", service, "-n", namespace)["spec"].get("clusterIPs", [])
        return {ip_network(ip).version: ip for ip in ips}

    def cluster_ip(self, service: str, namespace: str = "default") -> str:
        return self.get_json("svc", service, "-n", namespace)["spec"]["clusterIP"]

    def wait_running(self, *names: str, namespace: str = "default", timeout: float = 10.0) -> None:
        def all_running():
            items = {p["metadata"]["name"]: p for p in self.get_json("pods", "-n", namespace)["items"]}
            return all(
                n in items
                and items[n]["status"]["phase"] == "Running"
                and all(c["ready"] for c in items[n]["status"].get("containerStatuses", [{"ready": False}]))
                for n in names
            )

        wait_until(all_running, timeout, what=f"pods {names} Running")

    # --- the kernel ---

    @property
    def dns_ip(self) -> str:
        return str(self.ranges.service.network_address + 10)

    def netns(self) -> set[str]:
        return {n for n in netns_names() if n.startswith(self.name + ".")}

    def pod_netns(self, pod: str, namespace: str = "default") -> str:
        return f"{self.name}.{namespace}.{pod}"

    def node_netns(self, node: str) -> str:
        return f"{self.name}.{node}"

    def ip_json(self, *args: str, netns: str | None = None) -> list[dict[str, Any]]:
        """`ip -j ARGS` on the host, or in one of the lab's namespaces (`ip -n NETNS`)."""
        return ip_json(*(("-n", netns) if netns else ()), *args)

    def pids_in(self, netns: str) -> list[int]:
        """Processes living in one of the lab's namespaces."""
        inode = netns_inode(netns)
        return pids_in_netns({inode}) if inode is not None else []

    def in_netns(self, netns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", netns, *argv, check=check)

    def proxy_rules(self, node: str) -> str:
        """What kube-proxy wrote on a node, in its mode: the nat table, or the ip kube-proxy table."""
        if self.kube_proxy_mode == "nftables":
            return self.in_netns(self.node_netns(node), "nft", "list", "table", "ip", "kube-proxy").stdout
        return self.in_netns(self.node_netns(node), "iptables-save", "-t", "nat").stdout



def create_lab(
    workdir: Path, attempts: int = 8, kube_proxy_mode: str = "iptables", routing: str | None = None, ip_family: str = "ipv4"
) -> Lab:
    """A new cluster whose name and ranges clash with nothing on this machine."""
    workdir.mkdir(parents=True, exist_ok=True)
    os.makedirs(os.path.dirname(CREATE_LOCK), exist_ok=True)
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    last = None
    with open(CREATE_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        taken = existing_lab_ranges() + host_routed_networks()
        for k in rng.sample(range(RANGE_CHOICES), attempts):
            ranges = Ranges.pick(k)
            if ranges.clashes(taken):
                continue
            name = new_cluster_name()
            config = workdir / f"cluster-{name}.yaml"
            document = cluster_document(name, ranges, kube_proxy_mode=kube_proxy_mode, routing=routing, ip_family=ip_family)
            config.write_text(yaml.safe_dump(document, sort_keys=False))
            last = nl("cluster", "create", "--config", str(config), check=False)
            if last.returncode == 0:
                return Lab(name, ranges, workdir, kube_proxy_mode, ip_family)
            if "overlaps" not in last.stderr:  # not a race with another lab: a real failure
                break
    detail = f"\n--- stderr\n{last.stderr}" if last is not None else " (every candidate range was taken)"
    raise AssertionError(f"could not create a test lab{detail}")


@dataclass(frozen=True)
class Footprint:
    """What a lab owns in the kernel, captured before deleting it."""

    netns: frozenset[str]
    inodes: frozenset[int]


def footprint(lab: Lab) -> Footprint:
    names = lab.netns()
    inodes = {i for n in names if (i := netns_inode(n)) is not None}
    return Footprint(frozenset(names), frozenset(inodes))


def leftovers(name: str, ranges: Ranges, before: Footprint) -> list[str]:
    """Everything of cluster `name` still present; empty when teardown was total."""
    problems = []
    netns = sorted(n for n in netns_names() if n.startswith(name + "."))
    if netns:
        problems.append(f"network namespaces left: {netns}")
    try:
        uts = sorted(n for n in os.listdir(UTSNS_DIR) if n.startswith(name + "."))
    except FileNotFoundError:
        uts = []
    if uts:
        problems.append(f"UTS namespace pins left in {UTSNS_DIR}: {uts}")
    if f"{name}0" in host_link_names():
        problems.append(f"host link {name}0 left")
    routes = sorted(str(n) for n in host_guard_routes() if n in ranges.all(dual=True))
    if routes:
        problems.append(f"host routes (proto {RTPROT_NETLAB}) left: {routes}")
    # A freed namespace's inode number is soon another's: one pinned under another name now
    # (another lab's, on a shared machine) is not this lab's leftover.
    others = {netns_inode(n) for n in netns_names() if not n.startswith(name + ".")}
    pids = pids_in_netns(set(before.inodes) - others)
    if pids:
        problems.append(f"processes still in the lab's namespaces: {[describe_process(p) for p in pids]}")
    if os.path.exists(naming.cluster_dir(name)):
        problems.append(f"state directory left: {naming.cluster_dir(name)}")
    planes = [pid for module in (b"netlab.lab.controller", b"netlab.kernel.spawner", b"netlab.lab.warmcli") for pid in control_plane_pids(name, module)]
    if planes:
        problems.append(f"control plane, its container shim or its warm CLI still running: {[describe_process(p) for p in planes]}")
    files = [f"{RUN_DIR}/locks/{name}"] + [f"{RUN_DIR}/controller/{name}.{ext}" for ext in ("lock", "pid", "sock", "cli.sock")]
    files = [f for f in files if os.path.lexists(f)]
    if files:
        problems.append(f"lock, pid or socket files left: {files}")
    return problems


def control_plane_pids(name: str, module: bytes = b"netlab.lab.controller") -> list[int]:
    """Processes running `python -m netlab.lab.controller NAME` (found by their command line,
    not by netlab's pid file, so a leak is seen even when the pid file is gone); with
    `module=b"netlab.kernel.spawner"`, its container shim."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except (FileNotFoundError, ProcessLookupError):
            continue
        if module in argv and name.encode() in argv:
            found.append(int(entry))
    return found


def delete_lab(lab: Lab) -> None:
    before = footprint(lab)
    result = nl("cluster", "delete", "--name", lab.name, check=False)
    problems = leftovers(lab.name, lab.ranges, before)
    if result.returncode != 0:
        problems.insert(0, f"`netlab cluster delete --name {lab.name}` exited {result.returncode}: {result.stderr}")
    # The processes got SIGTERM; give them the same grace netlab does before calling it a leak.
    if any(p.startswith("processes") for p in problems):
        deadline = time.monotonic() + 3.0
        while pids_in_netns(set(before.inodes)) and time.monotonic() < deadline:
            time.sleep(0.05)
        problems = leftovers(lab.name, lab.ranges, before)
    assert not problems, f"cluster {lab.name} was not removed completely:\n" + "\n".join(problems)


# -- fixtures --------------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "every_kube_proxy_mode: run the module's tests once per kube-proxy mode")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    wants_lab = "lab" in metafunc.fixturenames or "dual_lab" in metafunc.fixturenames
    if wants_lab and metafunc.definition.get_closest_marker("every_kube_proxy_mode"):
        metafunc.parametrize("kube_proxy_mode", KUBE_PROXY_MODES, indirect=True, scope="module")


@pytest.fixture(scope="module")
def kube_proxy_mode(request: pytest.FixtureRequest) -> str:
    """The mode of the module's lab: iptables, or each mode in turn for marked modules."""
    return getattr(request, "param", "iptables")


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, kube_proxy_mode: str):
    """A fresh two-node lab for one test module; deleted (and checked to be gone) afterwards."""
    made = create_lab(tmp_path_factory.mktemp("lab"), kube_proxy_mode=kube_proxy_mode)
    try:
        yield made
    finally:
        delete_lab(made)


@pytest.fixture(scope="module")
def dual_lab(tmp_path_factory: pytest.TempPathFactory, kube_proxy_mode: str):
    """A fresh two-node dual-stack lab (IPv4 primary) for one test module; tests take the family
    to test as a parameter (`@pytest.mark.parametrize("family", (4, 6))`)."""
    made = create_lab(tmp_path_factory.mktemp("dual"), kube_proxy_mode=kube_proxy_mode, ip_family="dual")
    try:
        yield made
    finally:
        delete_lab(made)


@pytest.fixture
def fresh_lab(tmp_path: Path):
    """A lab for one test that deletes it itself; whatever is left is removed and checked."""
    made = create_lab(tmp_path / "lab")
    try:
        yield made
    finally:
        if os.path.exists(naming.cluster_dir(made.name)):
            delete_lab(made)
        else:
            problems = leftovers(made.name, made.ranges, Footprint(frozenset(), frozenset()))
            assert not problems, f"cluster {made.name} left:\n" + "\n".join(problems)


@pytest.fixture
def free_ranges() -> Ranges:
    """Ranges no lab and no host route uses right now (for clusters a test makes itself)."""
    taken = existing_lab_ranges() + host_routed_networks()
    for k in random.sample(range(RANGE_CHOICES), RANGE_CHOICES):
        if not (ranges := Ranges.pick(k)).clashes(taken):
            return ranges
    raise AssertionError("no free test ranges on this machine")


@pytest.fixture(scope="session", autouse=True)
def host_untouched() -> Iterator[None]:
    """The host after the whole suite is the host before it, and no lab packet crossed one of
    its own interfaces (tests/integration/hostguard.py says what is compared)."""
    from hostguard import HostState, LabPacketCapture

    if os.geteuid() != 0:
        yield
        return
    before = HostState.read()
    capture = LabPacketCapture()
    yield
    leaks = capture.leaks()
    problems = before.differences(HostState.read())
    assert not leaks, "lab-range packets on host interfaces that are no lab's veth:\n" + "\n".join(leaks[:50])
    assert not problems, "the suite changed the host:\n" + "\n".join(problems)


@pytest.fixture(name="leftovers", scope="session")
def leftovers_fixture() -> Callable[[str, Ranges], list[str]]:
    """What is left of a cluster in the kernel and on disk (empty when there is nothing)."""
    return lambda name, ranges: leftovers(name, ranges, Footprint(frozenset(), frozenset()))


@pytest.fixture(name="nl", scope="session")
def nl_fixture() -> Callable[..., subprocess.CompletedProcess]:
    return nl


@pytest.fixture(name="wait_until", scope="session")
def wait_until_fixture() -> Callable[..., Any]:
    return wait_until


@contextmanager
def controller_running(lab: Lab) -> Iterator[Lab]:
    """`lab` with its control plane running: it starts with the lab by itself; this says so
    (and fails clearly if it does not run)."""
    lab.nl("controller", "start")
    yield lab


@pytest.fixture(scope="module")
def controller(lab: Lab):
    """The module's lab with its controller running: restarts, replacements, readiness."""
    with controller_running(lab):
        yield lab
