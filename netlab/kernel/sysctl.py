"""Network sysctls inside netlab's own namespaces — never the host's.

`/proc/sys/net/*` resolves to the network namespace of the thread that opens it, so writing
while `ns.entered()` changes only that namespace. The guard refuses a write that would land in
the host's namespace: netlab never changes a host sysctl.
"""

from __future__ import annotations

from netlab.errors import EnvironmentProblem, KernelError
from netlab.kernel import ns


def write_in(netns_path: str, settings: dict[str, str]) -> None:
    with ns.entered(netns_path):
        if ns.current_netns_inode() == ns.HOME_NETNS_INODE:
            raise KernelError(f"refusing to write sysctls: {netns_path} is the host's namespace")
        for key, value in settings.items():
            path = "/proc/sys/" + key.replace(".", "/")
            try:
                with open(path, "w") as f:
                    f.write(value)
            except FileNotFoundError:
                raise EnvironmentProblem(
                    f"sysctl {key} is not available in this kernel",
                    detail="net.bridge.* needs the br_netfilter module: modprobe br_netfilter (on the host)",
                ) from None
            except OSError as exc:
                raise EnvironmentProblem(
                    f"cannot set {key} inside the lab's namespace: {exc.strerror}",
                    detail="/proc/sys is read-only here: run netlab on the host, in a VM, or in a "
                    "container started with --privileged (docker) or --private-network (systemd-nspawn)",
                ) from None
