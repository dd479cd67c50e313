#!/usr/bin/env python3
"""Write docs/service-types/*.md from a real run: one page per Service type (seed article 001).

Run as root from the repository:  python scripts/gen-service-docs.py [--out docs/service-types]

It creates a lab of its own (cluster `svcdocs`, on the default ranges when they are free, else
on the first free 172.30.x underlay), applies `manifests/service-types/`, runs the commands each
page shows — `netlab get/describe`, `curl` from the host to node and load-balancer addresses,
`dig` and `curl` from a pod, `iptables-save` in a node — and writes their real output into the
pages. Then it deletes the lab, also on failure. Nothing on the pages is typed by hand except
the prose around the outputs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from ipaddress import IPv4Network
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFESTS = REPO / "manifests" / "service-types"
CLUSTER = "svcdocs"
# (pod, service, underlay) candidates: the defaults first, so the pages show the addresses a
# reader of the README sees; else ranges clear of them.
CANDIDATES = [("10.244.0.0/16", "10.96.0.0/12", "172.31.255.0/24")] + [
    (f"10.{112 + k}.0.0/16", f"10.{176 + k}.0.0/16", f"172.30.{k}.0/24") for k in range(40, 64)
]


@dataclass(frozen=True)
class Lab:
    underlay: IPv4Network

    def node_ip(self, index: int) -> str:
        return str(self.underlay.network_address + 11 + index)


def run(*argv: str, check: bool = True) -> str:
    result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=REPO)
    if check and result.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` exited {result.returncode}:\n{result.stderr}")
    return result.stdout


def netlab(*args: str, check: bool = True) -> str:
    return run(sys.executable, "-m", "netlab", *args, check=check)


def in_lab(command: str, *args: str) -> str:
    """`netlab COMMAND --cluster svcdocs ARGS` (the option goes first: exec takes none after the pod)."""
    return netlab(command, "--cluster", CLUSTER, *args)


def create_lab(workdir: Path) -> Lab:
    for pods, services, underlay in CANDIDATES:
        config = workdir / "cluster.yaml"
        config.write_text(
            f"apiVersion: netlab.dev/v1alpha1\nkind: Cluster\nmetadata: {{name: {CLUSTER}}}\n"
            f"spec: {{podCIDR: {pods}, serviceCIDR: {services}, underlayCIDR: {underlay}}}\n"
        )
        result = subprocess.run(
            [sys.executable, "-m", "netlab", "cluster", "create", "--config", str(config)], capture_output=True, text=True
        )
        if result.returncode == 0:
            return Lab(IPv4Network(underlay))
        if "overlaps" not in result.stderr:
            raise SystemExit(result.stderr)
    raise SystemExit("no free ranges for the docs lab")


class Transcript:
    """Commands as a reader types them (`sudo netlab ...`, without --cluster) with real output."""

    def __init__(self) -> None:
        self.blocks: list[str] = []

    def netlab(self, *args: str) -> str:
        out = in_lab(*args)
        self.blocks.append(f"$ sudo netlab {' '.join(args)}\n{out.rstrip()}")
        return out

    def host(self, *argv: str) -> str:
        """A command on the host (curl to the lab's addresses, ip), with its errors and exit code."""
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=60, cwd=REPO)
        shown = (result.stdout + result.stderr).rstrip()
        if result.returncode != 0:
            shown += f"\n$ echo $?\n{result.returncode}"
        self.blocks.append(f"$ {' '.join(argv)}\n{shown}")
        return result.stdout

    def text(self) -> str:
        blocks, self.blocks = self.blocks, []
        return "```console\n" + "\n".join(blocks) + "\n```"


def iptables_excerpt(node_netns: str, service: str, extra: tuple[str, ...] = ()) -> str:
    """The nat rules of one Service in a node: every rule mentioning it, and every rule of the
    chains those rules jump to (KUBE-EXT/FW/SVC/SVL/SEP), in iptables-save's own order."""
    saved = run("ip", "netns", "exec", node_netns, "iptables-save", "-t", "nat")
    lines = [line for line in saved.splitlines() if line.startswith("-A ")]
    mine = [line for line in lines if f"default/{service}" in line or any(e in line for e in extra)]
    chains = {c for line in mine for c in re.findall(r"KUBE-(?:EXT|FW|SVC|SVL|SEP)-[A-Z0-9]+", line)}
    picked = [line for line in lines if line in mine or line.split()[1] in chains]
    return "```\n$ sudo ip netns exec " + node_netns + " iptables-save -t nat | grep …\n" + "\n".join(picked) + "\n```"


def wait_ready(lab_pods: tuple[str, ...]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = in_lab("get", "pods")
        if all(re.search(rf"^{p}\s+1/1\s+Running", out, re.M) for p in lab_pods):
            return
        time.sleep(0.2)
    raise SystemExit("pods did not become Running:\n" + out)


HEADER = """<!-- generated by scripts/gen-service-docs.py — do not edit by hand; run it again -->
> 이 페이지의 명령 출력과 `iptables-save` 발췌는 `scripts/gen-service-docs.py`가 실제 실습
> (클러스터 `{cluster}`, underlay `{underlay}`)을 돌려 받아 적은 것이다. 기본 클러스터(`netlab`,
> underlay `172.31.255.0/24`)에서 직접 해 보면 주소만 다르고 같은 결과가 나온다.
"""


def page(title: str, lab: Lab, body: str) -> str:
    return f"# {title}\n\n" + HEADER.format(cluster=CLUSTER, underlay=lab.underlay) + "\n" + body.strip() + "\n"


def generate(lab: Lab) -> dict[str, str]:
    t = Transcript()
    node_a = f"{CLUSTER}.node-a"
    pages = {}

    t.netlab("apply", "-f", str(MANIFESTS.relative_to(REPO)) + "/")
    wait_ready(("web-1", "web-2", "pod-b"))
    apply_run = t.text()

    # --- ClusterIP ---
    t.netlab("get", "pods", "-o", "wide")
    t.netlab("get", "svc", "web-clusterip")
    cluster_ip = in_lab("get", "svc", "web-clusterip", "-o", "json")
    ip = re.search(r'"clusterIP": "([\d.]+)"', cluster_ip).group(1)
    t.netlab("exec", "pod-b", "--", "curl", "-s", "web-clusterip")
    t.host("curl", "-sS", "-m", "2", f"http://{ip}")
    clusterip_run = t.text()
    pages["clusterip.md"] = page("ClusterIP — 클러스터 안에서만 쓰는 고정 IP", lab, f"""
## 개념

파드는 언제든 죽고 새 IP로 다시 태어난다. ClusterIP 서비스는 같은 레이블을 가진 파드들 앞에
**변하지 않는 가상 IP 하나**를 세운다. 이 IP는 클러스터 안(파드와 노드)에서만 유효하다:
kube-proxy가 모든 노드에 심어 둔 iptables 규칙이 목적지를 파드 IP로 바꿔(DNAT) 줄 뿐, 이 IP를
가진 인터페이스는 어디에도 없다. 그래서 클러스터 밖(여기서는 호스트)에서는 닿지 않는다.

## 실습

{apply_run}

{clusterip_run}

호스트에서의 `curl`이 실패하는 것이 ClusterIP의 정의 그대로다: 호스트에는 서비스 대역으로 가는
`unreachable` 경로만 있어서 패킷이 아예 나가지 않는다.

## kube-proxy가 만든 규칙 (node-a)

{iptables_excerpt(node_a, "web-clusterip")}

- `KUBE-SERVICES`에서 클러스터 IP:80 을 잡아 `KUBE-SVC-…`로 보낸다.
- `KUBE-SVC-…`는 `-m statistic --mode random --probability 0.5`로 두 엔드포인트 중 하나를 고르고,
- `KUBE-SEP-…`가 `DNAT --to-destination 파드IP:8080`을 한다. 파드 밖(노드 자신 등)에서 온 트래픽은
  `KUBE-MARK-MASQ`로 표시돼 나갈 때 SNAT된다.
""")

    # --- NodePort ---
    t.netlab("get", "svc", "web-nodeport")
    for i in range(2):
        t.host("curl", "-s", f"http://{lab.node_ip(i)}:30080")
    t.netlab("exec", "pod-b", "--", "curl", "-s", f"http://{lab.node_ip(0)}:30080")
    nodeport_run = t.text()
    pages["nodeport.md"] = page("NodePort — 모든 노드의 같은 포트로 공개하기", lab, f"""
## 개념

NodePort 서비스는 클러스터의 **모든 노드**에서 같은 포트(기본 범위 30000–32767, 여기서는
`nodePort: 30080`)를 연다. 노드의 IP를 빌려 외부와 연결하는 포트 포워딩과 같은 원리다. 어느
노드의 그 포트로 들어와도 서비스의 파드에게 전달된다 — 파드가 다른 노드에 있어도 마찬가지다.

단점도 그대로 보인다: 클라이언트는 노드 IP를 알아야 하고, 그 노드가 죽으면(아래 `curl` 두 줄 중
하나의 노드가 사라진다고 생각해 보라) 그 주소로는 더 이상 닿지 않는다. 노드 사이의 부하 분산도 없다.

## 실습

호스트가 "클러스터 밖의 클라이언트" 역할을 한다. 호스트는 lab의 underlay에 veth 하나로 붙어 있어
두 노드의 IP(`{lab.node_ip(0)}`, `{lab.node_ip(1)}`)에 닿는다.

{nodeport_run}

`client=` 값을 보라: 호스트의 주소(`{lab.underlay.network_address + 1}`)가 아니다. 요청을 받은 노드가
SNAT한다 — 파드가 다른 노드에 있으면 자기 underlay 주소로, 같은 노드에 있으면 자기 `cni0` 주소로.
응답이 반드시 그 노드를 거쳐 돌아오게 하려는 것이고, 원래 클라이언트 IP를 잃는 것이
`externalTrafficPolicy: Cluster`(기본값)의 대가다.
`externalTrafficPolicy: Local`로 바꾸면 요청을 받은 노드의 파드만 쓰고(없으면 버린다) 클라이언트
IP가 그대로 보인다(`KUBE-SVL-…` 체인).

## kube-proxy가 만든 규칙 (node-a)

{iptables_excerpt(node_a, "web-nodeport", extra=("kubernetes service nodeports",))}

- `KUBE-SERVICES`의 마지막 규칙: 노드 자신의 주소(`--dst-type LOCAL`)로 온 것은 `KUBE-NODEPORTS`로.
- `KUBE-NODEPORTS`가 `--dport 30080`을 `KUBE-EXT-…`로 보낸다.
- `KUBE-EXT-…`는 SNAT 표시(`KUBE-MARK-MASQ`)를 하고 ClusterIP와 같은 `KUBE-SVC-…`로 넘긴다:
  NodePort는 내부적으로 ClusterIP 서비스를 그대로 쓴다.
""")

    # --- LoadBalancer ---
    lb = in_lab("get", "svc", "web-lb", "-o", "json")
    lb_ip = re.search(r'"ip": "([\d.]+)"', lb).group(1)
    t.netlab("get", "svc", "web-lb")
    t.host("curl", "-s", f"http://{lb_ip}")
    t.host("curl", "-s", f"http://{lb_ip}")
    lb_run = t.text()
    t.netlab("describe", "svc", "web-lb")
    describe_run = t.text()
    owner = re.search(r"announced by (\S+):", describe_run).group(1)
    t.host("ip", "-n", f"{CLUSTER}.{owner}", "-br", "addr", "show", "eth0")
    t.host("ip", "neigh", "show", lb_ip)
    arp_run = t.text()
    pages["loadbalancer.md"] = page("LoadBalancer — 외부에 IP 하나를 세우기 (MetalLB L2)", lab, f"""
## 개념

LoadBalancer 서비스는 NodePort의 단점을 메운다: 외부에서 접근할 **고정 IP 하나**를 주고, 그
IP로 들어온 트래픽을 노드들로 보낸다. 클라우드에서는 외부 로드 밸런서가, 베어메탈에서는
MetalLB 같은 소프트웨어가 이 일을 한다. netlab은 MetalLB의 L2 모드를 그대로 흉내 낸다:

- Cluster 설정의 `loadBalancerPool`(기본값: underlay /24의 .200–.250)에서 주소를 하나 준다
  (`loadBalancerIP`로 고를 수도 있다). `get svc`의 EXTERNAL-IP에 보인다.
- 그 주소마다 **노드 하나**가 선출되어(`sha256(노드 + "#" + IP)` 순서의 첫 노드) 자기 `eth0`에
  `/32`로 주소를 얹고 ARP에 답한다. 그 노드가 사라지면 다음 reconcile에서 다른 노드가 넘겨받고
  gratuitous ARP를 보낸다.
- 노드에 도착한 패킷은 kube-proxy 규칙(`KUBE-EXT-…`)이 NodePort와 똑같이 파드로 보낸다.

## 실습

{lb_run}

{describe_run}

선출된 노드가 주소를 들고 있고, 호스트의 ARP 표에는 그 노드의 MAC이 있다:

{arp_run}

`spec.loadBalancerSourceRanges`를 주면 `KUBE-FW-…` 체인이 그 대역만 통과시키고 나머지는
`KUBE-PROXY-FIREWALL`이 버린다. `spec.externalIPs`(underlay 안, 풀 밖의 주소만 허용)도 같은
방식으로 한 노드가 알리고 `KUBE-EXT-…`로 전달된다.

## kube-proxy가 만든 규칙 (node-a)

{iptables_excerpt(node_a, "web-lb")}

- `KUBE-SERVICES`가 로드밸런서 IP:80 을 `KUBE-EXT-…`로 보낸다(클러스터 IP 규칙은 그대로 있다).
- LoadBalancer 서비스도 NodePort를 받는다(`KUBE-NODEPORTS`) — 외부 로드 밸런서가 노드포트로
  보내는 구성을 위해서다.
""")

    # --- ExternalName ---
    t.netlab("get", "svc", "db-external")
    t.netlab("exec", "pod-b", "--", "dig", "+noall", "+answer", "db-external.default.svc.cluster.local")
    ext_run = t.text()
    rules = run("ip", "netns", "exec", node_a, "iptables-save")
    mentions = [line for line in rules.splitlines() if "db-external" in line]
    pages["externalname.md"] = page("ExternalName — 클러스터 밖의 것에 이름 붙이기", lab, f"""
## 개념

앞의 세 유형은 파드로 **들어오는** 길을 만든다. ExternalName은 반대로 파드가 클러스터 **밖**의
무언가(예: 관리형 데이터베이스)에 쉽게 닿게 해 준다: 클러스터 DNS가 서비스 이름에 대해
`externalName`을 가리키는 CNAME을 돌려줄 뿐이다. 클러스터 IP도, 엔드포인트도, iptables 규칙도 없다.

## 실습

{ext_run}

CNAME 뒤의 이름(`db.example.com`)은 netlab이 풀지 않는다: netlab의 DNS는 클러스터 도메인 밖의
질의를 절대 밖으로 전달하지 않는다(REFUSED). 실제 클러스터라면 CoreDNS가 상위 DNS에 물어본다.

## kube-proxy가 만든 규칙

node-a의 `iptables-save` 전체에서 `db-external`이 나오는 줄: {len(mentions)}개.
ExternalName 서비스는 kube-proxy가 건너뛴다(`ShouldSkipService`).
""")
    pages["README.md"] = f"""# 서비스 유형 (seed 001)

<!-- generated by scripts/gen-service-docs.py — do not edit by hand; run it again -->
`manifests/service-types/`를 적용한 하나의 실습으로 네 가지 서비스 유형을 차례로 본다.

| 유형 | 누가 닿나 | netlab에서 보이는 것 |
|---|---|---|
| [ClusterIP](clusterip.md) | 클러스터 안 | `KUBE-SERVICES → KUBE-SVC → KUBE-SEP` (DNAT) |
| [NodePort](nodeport.md) | 모든 노드 IP의 `30080` | `KUBE-NODEPORTS → KUBE-EXT → KUBE-SVC` |
| [LoadBalancer](loadbalancer.md) | 풀에서 받은 외부 IP 하나 | 한 노드의 `eth0`에 `/32`, `KUBE-EXT` |
| [ExternalName](externalname.md) | (파드 → 밖) | DNS CNAME, 규칙 없음 |

다시 만들기: `sudo python scripts/gen-service-docs.py`
"""
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "service-types"))
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        lab = create_lab(Path(tmp))
        try:
            pages = generate(lab)
        finally:
            netlab("cluster", "delete", "--name", CLUSTER, check=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        (out / name).write_text(text)
        print(out / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
