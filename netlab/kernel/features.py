"""What this kernel can do for a lab, tried for real inside a throwaway network namespace.

`netlab doctor` needs to know whether veth, bridge, vxlan, kube-proxy's iptables matches and
writable `/proc/sys/net` work *here* (a container may lack modules the host never loaded). The
only honest test is to create the objects — so a child process (`python -m
netlab.kernel.features`) first unshares its own network namespace, checks it really left the
host's, and only then creates anything. The namespace is never named or pinned: it dies with
the child, and every object in it goes too. Nothing here can touch the host's network.

Also the read-only host facts doctor compares against (links with their kind and alias).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys

from netlab.kernel import ns

# A payload with one rule of every kind kube-proxy's chains use (netlab/proxy golden files):
# nat + DNAT, statistic (random endpoint choice), MARK + MASQUERADE, conntrack, comment,
# addrtype, REJECT. iptables-restore refuses the whole payload if any of them is missing.
KUBE_PROXY_PROBE_RULES = """\
*nat
:NETLAB-PROBE - [0:0]
-A PREROUTING -m comment --comment "netlab probe" -j NETLAB-PROBE
-A NETLAB-PROBE -p tcp -d 10.0.0.1 --dport 80 -m statistic --mode random --probability 0.5 -j DNAT --to-destination 10.0.0.2:8080
-A NETLAB-PROBE -m addrtype --dst-type LOCAL -j MARK --set-xmark 0x4000/0x4000
-A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully
COMMIT
*filter
:NETLAB-PROBE - [0:0]
-A FORWARD -j NETLAB-PROBE
-A NETLAB-PROBE -m conntrack --ctstate INVALID -j DROP
-A NETLAB-PROBE -p udp -d 10.0.0.1 --dport 53 -j REJECT --reject-with icmp-port-unreachable
COMMIT
"""

NFT_PROBE_RULES = """\
add table ip netlab-probe
add chain ip netlab-probe pre { type nat hook prerouting priority -100 ; }
add chain ip netlab-probe ep
add set ip netlab-probe aff { type ipv4_addr ; flags dynamic,timeout ; timeout 10s ; }
add map ip netlab-probe svc { type ipv4_addr . inet_proto . inet_service : verdict ; }
add rule ip netlab-probe ep update @aff { ip saddr }
add rule ip netlab-probe ep numgen random mod 1 vmap { 0 : accept }
add rule ip netlab-probe ep meta l4proto tcp dnat to 10.0.0.1:80
add element ip netlab-probe svc { 10.96.0.1 . tcp . 80 : goto ep }
add rule ip netlab-probe pre ip daddr . meta l4proto . th dport vmap @svc
"""

# Feature name -> None when it works, else the reason it does not.
Probe = dict[str, "str | None"]

# The optional features and their kernel modules. Creating a vxlan or wireguard link or a netem
# qdisc (or an nftables numgen rule: kube-proxy's nftables mode, nft_numgen) makes the kernel load the module on demand (request_module) — a change to the host's
# kernel — so they are tried only when the module is in the kernel already, and otherwise
# reported with the modprobe that would load it. (veth, bridge and the netfilter modules are
# what every lab needs: building a lab loads them anyway, and the probe may too.)
OPTIONAL_MODULES = {"vxlan": "vxlan", "wireguard": "wireguard", "netem": "sch_netem", "nf_tables": "nft_numgen", "sctp": "sctp"}


def module_state(module: str, sys_root: str = "/sys/module", modules_root: str | None = None) -> str:
    """"loaded", "builtin", "loadable" (a module file exists, not loaded) or "absent", read
    from sysfs and the module lists — never by loading anything."""
    if os.path.isdir(os.path.join(sys_root, module)):
        return "loaded"
    root = modules_root or os.path.join("/lib/modules", os.uname().release)

    def listed(index: str) -> bool:
        try:
            with open(os.path.join(root, index)) as f:
                return any(line.split(":", 1)[0].rsplit("/", 1)[-1].split(".ko", 1)[0] == module for line in f)
        except OSError:
            return False

    if listed("modules.builtin"):
        return "builtin"
    return "loadable" if listed("modules.dep") else "absent"


def sctp_problem(proc_net: str = "/proc/net/sctp") -> str | None:
    """Why this kernel cannot carry SCTP (None: it can). kube-proxy's rules for SCTP load
    without it (netfilter matches the ports), but no pod can open an SCTP socket, so nothing
    answers. Read only: an SCTP socket would make the kernel load the module."""
    if os.path.isdir(proc_net):  # the SCTP stack registers /proc/net/sctp when it is in the kernel
        return None
    return _unloaded("sctp") or "module sctp is in the kernel but /proc/net/sctp is missing"


def _unloaded(module: str) -> str | None:
    """Why an optional feature is not tried (None: its module is in the kernel, try it)."""
    state = module_state(module)
    if state in ("loaded", "builtin"):
        return None
    if state == "loadable":
        return f"module {module} is not loaded (doctor never loads modules; `modprobe {module}` does)"
    return f"module {module} is not loaded and not found among this kernel's modules"


def _try(results: Probe, name: str, action) -> None:
    try:
        action()
        results[name] = None
    except Exception as exc:  # any failure is the answer: the feature does not work here
        results[name] = str(exc) or type(exc).__name__


def _probe_in_private_netns() -> Probe:
    """Runs in the child, after unshare: create one of everything, report what failed."""
    from pyroute2 import IPRoute

    results: Probe = {}
    ipr = IPRoute()

    def idx(name: str) -> int:
        return ipr.link_lookup(ifname=name)[0]

    def veth() -> None:
        ipr.link("add", ifname="probe-a", kind="veth", peer={"ifname": "probe-b"})

    def bridge() -> None:
        ipr.link("add", ifname="probe-br", kind="bridge")
        ipr.link("set", index=idx("probe-a"), master=idx("probe-br"))

    def vxlan() -> None:
        # flannel's VTEP: VNI 1, udp/8472 (netlab's routing: vxlan).
        ipr.link("add", ifname="probe-vx", kind="vxlan", vxlan_id=1, vxlan_port=8472)

    def wireguard() -> None:
        ipr.link("add", ifname="probe-wg", kind="wireguard")

    def netem() -> None:
        ipr.link("set", index=idx("lo"), state="up")
        ipr.tc("add", "netem", idx("lo"), delay=1000)

    def sysctl() -> None:
        # Kubernetes nodes forward (net.ipv4.ip_forward); a read-only /proc/sys cannot.
        with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
            f.write("1")

    def iptables() -> None:
        binary = shutil.which("iptables-restore")
        if binary is None:
            raise RuntimeError("iptables-restore not found")
        done = subprocess.run([binary, "-w", "5"], input=KUBE_PROXY_PROBE_RULES, text=True, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip() or f"iptables-restore exited {done.returncode}")

    def nf_tables() -> None:
        # What kube-proxy's nftables mode needs: a nat base chain, a verdict map keyed on
        # address . protocol . port, numgen, a timed dynamic set (session affinity).
        binary = shutil.which("nft")
        if binary is None:
            raise RuntimeError("nft not found")
        done = subprocess.run([binary, "-f", "-"], input=NFT_PROBE_RULES, text=True, capture_output=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.strip() or f"nft exited {done.returncode}")

    def ipv6() -> None:
        # Dual-stack and IPv6-only labs: a namespace made now must start with IPv6 on (the
        # node and pod namespaces are made the same way) and take an IPv6 address.
        flag = "/proc/sys/net/ipv6/conf/default/disable_ipv6"
        if not os.path.exists(flag):
            raise RuntimeError("IPv6 is switched off in this kernel (/proc/sys/net/ipv6 is missing: ipv6.disable=1 at boot?)")
        with open(flag) as f:
            if f.read().strip() != "0":
                raise RuntimeError("a new network namespace starts with net.ipv6.conf.default.disable_ipv6 = 1")
        ipr.addr("add", index=idx("lo"), address="fd00:6e6c::1", prefixlen=128)

    def conntrack() -> None:
        # nf_conntrack registers its sysctls per namespace once NAT rules need it.
        if not os.path.exists("/proc/sys/net/netfilter/nf_conntrack_max"):
            raise RuntimeError("no nf_conntrack in this kernel (/proc/sys/net/netfilter/nf_conntrack_max missing)")

    def sctp() -> None:
        # What a pod serving protocol: SCTP needs (agnhost netexec --sctp-port).
        socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP).close()

    def bridge_netfilter() -> None:
        if not os.path.exists("/proc/sys/net/bridge/bridge-nf-call-iptables"):
            raise RuntimeError("br_netfilter is not loaded (/proc/sys/net/bridge missing)")

    for name, module in OPTIONAL_MODULES.items():
        if (reason := _unloaded(module)) is not None:
            results[name] = reason
    try:
        for name, action in [
            ("veth", veth),
            ("bridge", bridge),
            ("vxlan", vxlan),
            ("wireguard", wireguard),
            ("netem", netem),
            ("sysctl", sysctl),
            ("iptables", iptables),
            ("conntrack", conntrack),
            ("ipv6", ipv6),
            ("nf_tables", nf_tables),
            ("br_netfilter", bridge_netfilter),
            ("sctp", sctp),
        ]:
            if name not in results:
                _try(results, name, action)
    finally:
        ipr.close()
    return results


def _child_main() -> int:
    home = os.stat("/proc/self/ns/net").st_ino
    try:
        ns.unshare(ns.CLONE_NEWNET)
    except Exception as exc:
        print(json.dumps({"netns": str(exc)}))
        return 0
    if os.stat("/proc/self/ns/net").st_ino == home:
        print(json.dumps({"netns": "unshare returned but the process is still in the host's namespace"}))
        return 0
    print(json.dumps({"netns": None, **_probe_in_private_netns()}))
    return 0


def probe_kernel(timeout: float = 20.0) -> Probe:
    """Every feature's result, from a child process in its own, unnamed network namespace."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "netlab.kernel.features"], capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired:
        return {"netns": f"the probe did not finish in {timeout:.0f}s"}
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"netns": f"the probe failed: {done.stderr.strip()[-500:] or done.returncode}"}


def host_links() -> list[tuple[str, str, str]]:
    """(name, kind, alias) of the host's links, kind "" for a plain device (read only)."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        found = []
        for link in ipr.get_links():
            info = link.get_attr("IFLA_LINKINFO")
            kind = (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""
            found.append((link.get_attr("IFLA_IFNAME"), kind, link.get_attr("IFLA_IFALIAS") or ""))
        return found


def host_addresses() -> list[tuple[str, str]]:
    """(interface, address/prefix) of every address on the host (both families, link-local
    ones left out), e.g. kube-ipvs0's."""
    from pyroute2 import IPRoute

    with IPRoute() as ipr:
        names = {link["index"]: link.get_attr("IFLA_IFNAME") for link in ipr.get_links()}
        return [
            (names.get(a["index"], "?"), f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
            for a in ipr.get_addr()
            if not a.get_attr("IFA_ADDRESS", "").startswith("fe80:")
        ]


if __name__ == "__main__":
    sys.exit(_child_main())
