"""netlab doctor's judgements, on fabricated machines: a healthy host, a laptop on a VPN, a Docker
host, a container without br_netfilter, a host with the leftovers of a crashed lab."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Interface, IPv4Network

import pytest

from netlab.doctor import checks as doctor
from netlab.doctor.model import Facts, HostLink, HostRoute, LabRanges, OwnedNetns, PodResolv, Status

NET = IPv4Network
KERNEL_OK = {name: None for name, *_ in doctor.KERNEL_FEATURES} | {"netns": None}
DEFAULT_RANGES = {
    "podCIDR": NET("10.244.0.0/16"),
    "serviceCIDR": NET("10.96.0.0/12"),
    "underlayCIDR": NET("172.31.255.0/24"),
}
LAB = LabRanges("netlab", DEFAULT_RANGES, "10.96.0.10")
RESOLV_POD = "search default.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"


def healthy(**changes) -> Facts:
    """A Debian host with one running default lab and nothing odd."""
    facts = Facts(
        euid=0,
        tools={tool: f"/usr/bin/{tool}" for tool in doctor.ALL_TOOLS},
        kernel=dict(KERNEL_OK),
        host_bridge_nf=True,
        iptables_version="iptables v1.8.9 (nf_tables)",
        nft_version="nftables v1.0.6 (Lester Gooch #5)",
        host_rules={"nf_tables": 3, "legacy": 0},
        ipvs_loaded=False,
        bpf=True,
        host_resolv="nameserver 192.168.1.1\n",
        routes=(
            HostRoute(NET("192.168.1.0/24"), "eth0", 2),
            HostRoute(NET("172.31.255.0/24"), "netlab0", 2),
            HostRoute(NET("10.244.0.0/16"), None, 212, "unreachable"),
            HostRoute(NET("10.96.0.0/12"), None, 212, "unreachable"),
            HostRoute(NET("172.31.255.0/24"), None, 212, "unreachable"),
        ),
        links=(HostLink("lo", ""), HostLink("eth0", ""), HostLink("netlab0", "veth", "netlab:netlab")),
        addresses=(("lo", IPv4Interface("127.0.0.1/8")), ("eth0", IPv4Interface("192.168.1.20/24")), ("netlab0", IPv4Interface("172.31.255.1/24"))),
        netns=(OwnedNetns("netlab.node-a", "netlab"), OwnedNetns("netlab.default.pod-a", "netlab")),
        uts_pins=("netlab.default.pod-a",),
        labs=(LAB,),
        planned=None,
        pod_resolv=(PodResolv("netlab", "default/pod-a", RESOLV_POD),),
    )
    return replace(facts, **changes)


def by_name(facts: Facts) -> dict[str, doctor.Check]:
    return {c.name: c for c in doctor.run_checks(facts)}


def test_a_healthy_host_passes_with_exit_code_0():
    checks = doctor.run_checks(healthy())
    assert [c for c in checks if c.status != Status.ok] == []
    assert doctor.exit_code(checks) == 0


def test_not_root_fails_with_sudo_as_the_fix_and_skips_the_probe():
    checks = by_name(healthy(euid=1000, kernel=None))
    assert checks["root"].status == Status.fail
    assert checks["root"].fix == "sudo netlab doctor"
    assert checks["kernel: veth"].status == Status.skip
    # br_netfilter is still judged from /proc/sys/net/bridge, which needs no root
    assert checks["kernel: br_netfilter"].status == Status.ok
    assert doctor.exit_code(list(checks.values())) == 4


def test_a_container_without_br_netfilter_fails_and_says_to_load_it_on_the_host():
    kernel = dict(KERNEL_OK, br_netfilter="br_netfilter is not loaded (/proc/sys/net/bridge missing)")
    check = by_name(healthy(kernel=kernel, host_bridge_nf=False))["kernel: br_netfilter"]
    assert check.status == Status.fail
    assert "modprobe br_netfilter on the host" in check.fix


def test_read_only_proc_sys_fails_and_names_the_container_flags():
    kernel = dict(KERNEL_OK, sysctl="[Errno 30] Read-only file system: '/proc/sys/net/ipv4/ip_forward'")
    check = by_name(healthy(kernel=kernel))["kernel: sysctl"]
    assert check.status == Status.fail
    assert "read-only /proc/sys" in check.summary
    assert "--privileged" in check.fix and "--private-network" in check.fix


def test_missing_vxlan_is_only_a_warning_because_host_gw_is_the_default():
    kernel = dict(KERNEL_OK, vxlan="(95, 'Operation not supported')")
    checks = by_name(healthy(kernel=kernel))
    assert checks["kernel: vxlan"].status == Status.warn
    assert "not supported by this kernel" in checks["kernel: vxlan"].summary
    assert checks["kernel: vxlan"].fix.startswith("modprobe vxlan")
    assert doctor.exit_code(list(checks.values())) == 0


def test_ipv6_off_in_new_namespaces_is_a_warning_that_says_what_to_change_on_the_host():
    kernel = dict(KERNEL_OK, ipv6="a new network namespace starts with net.ipv6.conf.default.disable_ipv6 = 1")
    checks = by_name(healthy(kernel=kernel))
    check = checks["kernel: ipv6"]
    assert check.status == Status.warn and "disable_ipv6 = 1" in check.summary and "--ip-family dual|ipv6" in check.summary
    assert "net.ipv6.conf.default.disable_ipv6=0" in check.fix and "ipv6.disable=1" in check.fix
    assert doctor.exit_code(list(checks.values())) == 0  # IPv4 labs still work


def test_a_container_without_capabilities_is_told_to_run_privileged_not_to_load_modules():
    # systemd-nspawn or docker without --privileged: netns works, links and rules are refused.
    kernel = dict(
        KERNEL_OK,
        veth="(1, 'Operation not permitted')",
        iptables="iptables-restore v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)",
    )
    checks = by_name(healthy(kernel=kernel))
    for name in ("kernel: veth", "kernel: iptables"):
        assert checks[name].status == Status.fail
        assert "missing capabilities" in checks[name].summary
        assert "--privileged" in checks[name].fix and "modprobe" not in checks[name].fix


def test_no_namespaces_means_nothing_else_could_be_probed():
    kernel = {"netns": "unshare: Operation not permitted"}
    checks = by_name(healthy(kernel=kernel))
    assert checks["kernel: netns"].status == Status.fail
    assert "not permitted" in checks["kernel: netns"].summary
    assert checks["kernel: veth"].status == Status.fail
    assert "no namespace to probe in" in checks["kernel: veth"].summary


@pytest.mark.parametrize(
    ("version", "backend"),
    [("iptables v1.8.9 (nf_tables)", "nf_tables"), ("iptables v1.8.7 (legacy)", "legacy"), ("iptables v1.6.1", "legacy"), (None, None)],
)
def test_iptables_backend_is_read_from_the_version_string(version, backend):
    assert doctor.iptables_backend(version) == backend


def test_host_rules_in_the_other_backend_get_a_warning_about_which_save_to_read():
    # Docker on an older host writes legacy rules; netlab's iptables is nft.
    check = by_name(healthy(host_rules={"nf_tables": 0, "legacy": 40}))["iptables backend"]
    assert check.status == Status.warn
    assert "legacy" in check.summary
    assert "iptables-legacy-save" in check.fix


def test_no_iptables_at_all_fails():
    checks = by_name(healthy(iptables_version=None, tools={t: None for t in doctor.ALL_TOOLS}))
    assert checks["iptables backend"].status == Status.fail
    assert checks["tools: required"].status == Status.fail
    assert "apt-get install iptables" in checks["tools: required"].fix
    assert checks["tools: probes"].status == Status.warn
    assert "bind9-dnsutils" in checks["tools: probes"].fix  # dig's package, not the tool's name


def test_nft_is_checked_for_the_nftables_mode_but_only_warned_about():
    assert by_name(healthy())["nft"].status == Status.ok
    missing = by_name(healthy(nft_version=None))["nft"]
    assert missing.status == Status.warn and "apt-get install nftables" in missing.fix
    old = by_name(healthy(nft_version="nftables v0.9.8 (E.D.S.)"))["nft"]
    assert old.status == Status.warn and "1.0.1" in old.summary


def test_a_loaded_ipvs_module_is_a_warning():
    assert by_name(healthy(ipvs_loaded=True))["ipvs"].status == Status.warn


def test_a_vpn_route_over_the_default_pod_range_blocks_the_first_apply():
    # A corporate VPN pushes 10.0.0.0/8 through tun0; no lab exists yet.
    facts = healthy(
        labs=(),
        planned=LAB,
        netns=(),
        uts_pins=(),
        pod_resolv=(),
        routes=(HostRoute(NET("192.168.1.0/24"), "eth0", 2), HostRoute(NET("10.0.0.0/8"), "tun0", 3)),
        links=(HostLink("eth0", ""), HostLink("tun0", "tun")),
    )
    checks = by_name(facts)
    check = checks["ranges: netlab (not created yet)"]
    assert check.status == Status.fail
    assert "podCIDR 10.244.0.0/16 overlaps 10.0.0.0/8 of VPN interface tun0" in check.summary
    assert "serviceCIDR 10.96.0.0/12 overlaps 10.0.0.0/8 of VPN interface tun0" in check.summary
    assert "netlab cluster create --config" in check.fix
    assert "tun0" in checks["VPN interfaces"].summary
    assert doctor.exit_code(list(checks.values())) == 4


def test_a_wireguard_interface_is_recognised_by_kind_whatever_its_name():
    facts = healthy(links=healthy().links + (HostLink("office", "wireguard"),))
    assert "office" in by_name(facts)["VPN interfaces"].summary


def test_a_docker_network_on_the_underlay_range_is_named_as_such():
    routes = healthy().routes + (HostRoute(NET("172.31.0.0/16"), "br-0123456789ab", 2),)
    links = healthy().links + (HostLink("br-0123456789ab", "bridge"), HostLink("docker0", "bridge"))
    checks = by_name(healthy(routes=routes, links=links))
    # the lab exists already: a warning (it was built before the Docker network appeared)
    assert checks["ranges: netlab"].status == Status.warn
    assert "underlayCIDR 172.31.255.0/24 overlaps 172.31.0.0/16 of Docker network br-0123456789ab" in checks["ranges: netlab"].summary
    assert "docker0" in checks["Docker networks"].summary and "FORWARD DROP" in checks["Docker networks"].summary


def test_kube_ipvs0_addresses_inside_the_service_range_clash():
    addresses = healthy().addresses + (("kube-ipvs0", IPv4Interface("10.96.0.1/32")),)
    check = by_name(healthy(addresses=addresses, labs=(), planned=LAB))["ranges: netlab (not created yet)"]
    assert check.status == Status.fail
    assert "contains 10.96.0.1, an address of host interface kube-ipvs0" in check.summary


def test_a_labs_own_routes_and_link_are_no_clash_but_another_labs_ranges_are():
    other = LabRanges("lab2", {"podCIDR": NET("10.244.128.0/17"), "serviceCIDR": NET("10.200.0.0/16"), "underlayCIDR": NET("172.30.1.0/24")})
    checks = by_name(healthy(labs=(LAB, other)))
    assert "overlaps podCIDR 10.244.128.0/17 of lab lab2" in checks["ranges: netlab"].summary
    assert checks["ranges: netlab"].summary.count("overlaps") == 1


def test_the_host_stub_resolver_does_not_reach_pods():
    check = by_name(healthy(host_resolv="nameserver 127.0.0.53\noptions edns0 trust-ad\n"))["pod resolver"]
    assert check.status == Status.ok
    assert "127.0.0.53" in check.summary and "nameserver 10.96.0.10" in check.summary


def test_a_pod_that_sees_the_host_stub_fails():
    leaked = PodResolv("netlab", "default/pod-a", "nameserver 127.0.0.53\n")
    check = by_name(healthy(host_resolv="nameserver 127.0.0.53\n", pod_resolv=(leaked,)))["pod resolver"]
    assert check.status == Status.fail
    assert "default/pod-a" in check.summary and "10.96.0.10" in check.summary


def test_without_a_running_pod_the_resolver_check_explains_instead():
    check = by_name(healthy(host_resolv="nameserver 127.0.0.53\n", pod_resolv=()))["pod resolver"]
    assert check.status == Status.ok
    assert "no running pod" in check.summary and "cat /etc/resolv.conf" in check.summary


def test_leftovers_of_a_crashed_lab_are_listed_with_the_command_that_removes_them():
    facts = healthy(
        netns=healthy().netns + (OwnedNetns("old.node-a", "old"), OwnedNetns("old.fabric", "old")),
        links=healthy().links + (HostLink("old0", "veth", "netlab:old"),),
        uts_pins=("old.default.web",),
        routes=healthy().routes + (HostRoute(NET("10.150.0.0/16"), None, 212, "unreachable"),),
    )
    check = by_name(facts)["leftovers"]
    assert check.status == Status.warn
    assert "lab old (no state directory): 2 netns, 1 link, 1 UTS pin" in check.summary
    assert "10.150.0.0/16" in check.summary
    assert "netlab cluster delete --name old" in check.fix
    assert "netlab reset" in check.fix
    assert "ip route del unreachable DST proto 212" in check.fix


def test_a_lab_whose_state_this_netlab_cannot_read_is_not_a_leftover():
    # Another netlab version's lab: its namespaces and routes are not orphans, its ranges unknown.
    facts = healthy(
        netns=healthy().netns + (OwnedNetns("new.node-a", "new"),),
        routes=healthy().routes + (HostRoute(NET("10.150.0.0/16"), None, 212, "unreachable"),),
        unreadable_labs=("new",),
    )
    checks = by_name(facts)
    assert checks["leftovers"].status == Status.ok
    assert checks["ranges: new"].status == Status.warn
    assert "cannot be read" in checks["ranges: new"].summary


def test_a_healthy_labs_objects_are_not_leftovers():
    assert by_name(healthy())["leftovers"].status == Status.ok


def test_checks_serialise_for_json():
    check = doctor.Check("root", Status.fail, "not root", "sudo netlab doctor")
    assert check.to_dict() == {"name": "root", "status": "fail", "summary": "not root", "fix": "sudo netlab doctor"}


def test_bird_is_only_a_warning_because_only_routing_bgp_needs_it():
    checks = by_name(healthy(tools={t: (None if t in ("bird", "birdc") else f"/usr/bin/{t}") for t in doctor.ALL_TOOLS}))
    assert checks["tools: bgp"].status == Status.warn
    assert checks["tools: bgp"].fix.startswith("apt-get install bird2")
    assert checks["tools: required"].status == checks["tools: probes"].status == Status.ok
    assert by_name(healthy())["tools: bgp"].status == Status.ok


def test_br_netfilter_names_the_host_bridges_it_affects_and_who_loaded_it():
    with_docker = healthy(links=(HostLink("docker0", "bridge"), HostLink("eth0", "")), br_netfilter_by_setup=True)
    check = by_name(with_docker)["host: br_netfilter scope"]
    assert check.status == Status.warn and "docker0" in check.summary and "scripts/setup.sh" in check.summary
    assert "bridge-nf-call-iptables=0" in check.fix
    alone = by_name(healthy(links=(HostLink("eth0", ""),)))["host: br_netfilter scope"]
    assert alone.status == Status.ok and "before netlab" in alone.summary
    assert by_name(healthy(host_bridge_nf=False))["host: br_netfilter scope"].status == Status.skip
