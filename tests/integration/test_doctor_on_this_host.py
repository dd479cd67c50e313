"""`netlab doctor` on this machine, for real: the kernel probe works and leaves nothing on the host,
a running lab's pods are seen to have their own resolver, and a crashed lab's leftovers are
reported with a fix that really removes them."""

from __future__ import annotations

import json
import os
import secrets
import subprocess

import pytest

from netlab.doctor import facts as hostfacts

pytestmark = pytest.mark.root


def ip(*args: str, check: bool = True) -> str:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True).stdout


def host_link_names() -> set[str]:
    return {link["ifname"] for link in json.loads(ip("-j", "link", "show") or "[]")}


def doctor_json(nl) -> tuple[int, dict]:
    result = nl("doctor", "-o", "json", check=False)
    assert result.returncode in (0, 4), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_doctor_probes_the_kernel_in_a_throwaway_namespace_and_leaves_nothing(nl, lab):
    code, report = doctor_json(nl)
    checks = {c["name"]: c for c in report["checks"]}

    assert report["ok"] == (code == 0)
    assert all(c["status"] != "fail" for c in checks.values()) == (code == 0)
    # These are what every lab in this suite is built from: they must work here.
    for feature in ("root", "kernel: netns", "kernel: veth", "kernel: bridge", "kernel: br_netfilter",
                    "kernel: sysctl", "kernel: iptables", "kernel: conntrack", "tools: required"):
        assert checks[feature]["status"] == "ok", checks[feature]
    assert checks[f"ranges: {lab.name}"]["status"] == "ok"
    # The probe's links (probe-a, probe-br, probe-vx, …) lived only in its own namespace.
    assert not [name for name in host_link_names() if name.startswith("probe-")]


def test_the_pods_resolver_is_read_from_a_running_pod_of_the_lab(lab):
    facts = hostfacts.gather(probe=False)

    (seen,) = [p for p in facts.pod_resolv if p.cluster == lab.name]
    assert f"nameserver {lab.dns_ip}" in seen.text
    assert "127.0.0.53" not in seen.text


def test_a_crashed_labs_namespace_is_a_leftover_and_the_suggested_fix_removes_it(nl, lab):
    orphan = "o" + secrets.token_hex(3)
    netns = f"{orphan}.node-a"
    # What a lab killed half-way leaves behind: a marked namespace and no state directory.
    ip("netns", "add", netns)
    try:
        ip("-n", netns, "link", "set", "lo", "alias", f"netlab:{orphan}:node:node-a")

        _, report = doctor_json(nl)
        (leftovers,) = [c for c in report["checks"] if c["name"] == "leftovers"]
        assert leftovers["status"] == "warn"
        assert f"lab {orphan} (no state directory): 1 netns" in leftovers["summary"]
        assert f"netlab cluster delete --name {orphan}" in leftovers["fix"]

        nl("cluster", "delete", "--name", orphan)
        assert not os.path.exists(f"/run/netns/{netns}")
        _, report = doctor_json(nl)
        (leftovers,) = [c for c in report["checks"] if c["name"] == "leftovers"]
        assert orphan not in leftovers["summary"]
    finally:
        ip("netns", "del", netns, check=False)
