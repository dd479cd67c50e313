"""The container runtime's verbs: start a container in a pod's namespaces, and enter a pod.

A container is a host process that joins the pod's network and UTS namespaces and gets a
private mount namespace in which the pod's own `/etc/resolv.conf` and `/etc/hosts` (and its
volumes) are bind-mounted — what `ip netns exec` does with `/etc/netns/NAME/`. `launch` starts
one (the runtime's shim, `spawner.py`, calls it for the control plane); `exec_in_pod`,
`exec_on_pty` and `run_in_pod` enter a pod as a container does, for `netlab exec` and exec
probes. Finding, watching and stopping the processes is `procs.py`'s.

Exactly one copy of a container runs at a time: its wrapper holds a POSIX lock on the
container's lock file for as long as it lives, taken before it runs anything, so a second
start (say, after a `kill -9` between a start and its record) finds the first one instead of
running beside it (`procs.lock_holder`).
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import signal
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

from netlab.kernel import mounts, ns
from netlab.kernel.procs import ProcessRef, lock_holder, start_time

# `sh` runs the program and records how it ended, so `get pods` can show the exit code of a
# process that is not netlab's child any more (netlab commands exit; containers stay). Its
# stdout and stderr are the instance's log pipes (logcollector.py), held read-write; once the
# program ended it lets go of them only when a collector reads them (a write-only open blocks
# until there is a reader), so what the program wrote is never dropped with the pipes. The last
# instance's exit file is removed before the fork (`launch`), not by the wrapper: `rm` is no
# built-in of sh, and a process more per container start cost ~1 ms of CPU.
_WRAPPER = (
    'x=$0 o=$1 e=$2; shift 2; exec 3>>"$o" 4>>"$e"; "$@" 3>&- 4>&-; echo $? > "$x"; '
    'exec >&- 2>&-; exec >>"$o" 2>>"$e"'
)


@dataclass(frozen=True)
class Launch:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    netns: str  # path of the pod's network namespace
    utsns: str  # path of the pod's UTS namespace
    binds: tuple[tuple[str, str], ...]  # (pod file, path it shows up at inside)
    log_path: str  # the instance's CRI log file, `<pod dir>/<container>/<restartCount>.log`
    exit_path: str
    cwd: str | None = None
    lock_path: str | None = None  # held by the wrapper while it lives: one copy at a time
    read_only_root: bool = False  # securityContext.readOnlyRootFilesystem
    # (uid, gid, groups) to become before running anything (exec, exec probes); a container's
    # own program gets its user from `setpriv` in its argv, so its exit wrapper stays root.
    user: tuple[int, int, tuple[int, ...]] | None = None
    log_index: str = ""  # the lab's index of container log pipes, which its collector drains
    # The container's volumes: (directory or file under the pod's state, mountPath, readOnly),
    # bind-mounted in its own mount namespace after the pod's files (kernel/mounts.py).
    mounts: tuple[tuple[str, str, bool], ...] = ()

    def to_wire(self) -> dict:
        # Field by field: dataclasses.asdict deep-copies every value (the environment's too),
        # ~1 ms a container at each start.
        wire = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**wire, "argv": list(self.argv), "binds": [list(b) for b in self.binds], "env": dict(self.env)}

    @classmethod
    def from_wire(cls, data: dict) -> "Launch":
        user = data.get("user")
        return cls(**{
            **data,
            "argv": tuple(data["argv"]),
            "binds": tuple(tuple(b) for b in data["binds"]),
            "user": (user[0], user[1], tuple(user[2])) if user else None,
            "mounts": tuple((m[0], m[1], bool(m[2])) for m in data.get("mounts") or ()),
        })  # fmt: skip


class AlreadyRunning(Exception):
    """A copy of the container runs already (its wrapper holds the lock)."""

    def __init__(self, ref: ProcessRef) -> None:
        super().__init__(f"already running as pid {ref.pid}")
        self.ref = ref


# The host's `/`, held by a process that left the host's mount namespace for one without the
# namespace pins (`leave_pins`: the runtime's shim); the pins are opened through it.
_host_root: int | None = None


def leave_pins() -> None:
    """Give this process (the runtime's shim) a mount namespace of its own: the host's, minus
    the namespace pins, from which each container's namespace is then copied.

    A node holds two pins per pod (`/run/netns`, `/run/netlab/uts`). A container's mount
    namespace copied from the host's holds them all, and the container detaches them at
    start (`_enter_pod`): kernel work in proportion to the pods already there — 5.4 ms of CPU
    per container at 1,000 pods. Copied from here, a container's namespace is small and its
    start does not grow with the node. Host mounts still reach the containers: this namespace
    is a slave of the host's and shared onward, as the containers' are slaves of it."""
    global _host_root
    root = os.open("/", os.O_PATH | os.O_CLOEXEC)
    ns.unshare(ns.CLONE_NEWNS)
    _host_root = root  # from here on, whatever fails below, the pins are found through it
    # A slave first: the detach below must not propagate back to the host's pins.
    ns.mount("none", "/", None, ns.MS_REC | ns.MS_SLAVE)
    _detach_pins()
    ns.mount("none", "/", None, ns.MS_REC | ns.MS_SHARED)


def _detach_pins() -> None:
    # Detached with any mount stacked beneath (a test's tmpfs over the host's own directory).
    for pins in (ns.NETNS_DIR, ns.UTSNS_DIR):
        for _ in range(4):
            if not ns.umount(pins):
                break


def _enter_pod(launch: Launch, net_fd: int, uts_fd: int, lock_fd: int | None = None) -> None:
    """Runs in the forked child before exec: join the pod, then give it its own /etc files."""
    if lock_fd is not None:
        # A POSIX lock belongs to this process and survives exec: the wrapper holds it until it
        # exits; the program it runs does not (so a leftover child cannot block a restart).
        fcntl.lockf(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    # Like runc: a container starts with default signal handling and nothing blocked, whatever
    # the process that started netlab ignored (nohup, unshare --fork, a CI runner).
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    ns.setns(net_fd, ns.CLONE_NEWNET)
    ns.setns(uts_fd, ns.CLONE_NEWUTS)
    ns.unshare(ns.CLONE_NEWNS)
    # Slave propagation: host mounts still reach the pod, the pod's binds never reach the host.
    ns.mount("none", "/", None, ns.MS_REC | ns.MS_SLAVE)
    # But not the host's namespace pins (/run/netns, /run/netlab/uts: shared mounts): no
    # container sees them on a node, and each pin made or removed later would be propagated
    # into every container's namespace — with a thousand containers a pod's pins cost
    # milliseconds to make and to remove. Detached here (their copies with them), once; a
    # container forked by the shim finds none (`leave_pins`).
    _detach_pins()
    for source, target in launch.binds:
        if os.path.exists(target):  # a minimal host may lack /etc/hostname; never create host files
            ns.mount(source, target, "none", ns.MS_BIND)
    if launch.read_only_root:
        # The pod's own directory stays writable (a mount of its own), for the exit wrapper.
        if launch.exit_path:
            pod_dir = os.path.dirname(launch.exit_path)
            ns.mount(pod_dir, pod_dir, "none", ns.MS_BIND)
        ns.mount("none", "/", None, ns.MS_REMOUNT | ns.MS_BIND | ns.MS_RDONLY)
    if launch.mounts:
        mounts.mount_volumes(launch.mounts, launch.read_only_root)


def _become_user(launch: Launch) -> None:
    """Drop root for the pod's user (real, effective and saved ids; capabilities go with uid 0)."""
    if launch.user is None:
        return
    uid, gid, groups = launch.user
    os.setgroups(list(groups))
    os.setgid(gid)
    os.setuid(uid)


def launch(spec: Launch) -> ProcessRef:
    """Start the container; raises AlreadyRunning when its lock says a copy runs.

    Forks and returns at once, without waiting for the child to enter the pod and exec (as
    subprocess would): starting a hundred containers then costs a hundred forks, and the
    children do their part on the other cores meanwhile. A child that fails before its exec
    writes why to the container's log and exits 127, which `get pods` shows like any exit.
    Starts are serialised by the lab's lock, so the check below cannot race another start; a
    copy left by a starter killed after its fork holds the lock before anyone looks again.
    """
    if spec.lock_path is not None:
        holder = lock_holder(spec.lock_path)
        if holder is not None:
            raise AlreadyRunning(holder)
    from netlab.kernel import logcollector  # the readers of the process table never load it

    try:
        os.unlink(spec.exit_path)  # the last instance's: this one has not ended
    except FileNotFoundError:
        pass

    out, err = (logcollector.fifo_path(spec.log_path, s) for s in logcollector.STREAMS)
    argv = ["/bin/sh", "-c", _WRAPPER, spec.exit_path, out, err, *spec.argv]
    env = dict(spec.env)
    fds: dict[str, int] = {}
    try:
        fds["out"], fds["err"] = logcollector.prepare(spec.log_path, spec.log_index)
        fds["net"] = ns.open_ns(spec.netns, _host_root)
        fds["uts"] = ns.open_ns(spec.utsns, _host_root)
        fds["null"] = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        if spec.lock_path is not None:
            fds["lock"] = os.open(spec.lock_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        pid = os.fork()
        if pid == 0:
            _become_container(spec, argv, env, fds)  # never returns
    finally:
        for fd in fds.values():
            os.close(fd)
    started = start_time(pid)  # set at fork, unchanged by exec
    return ProcessRef(pid, started if started is not None else 0)


# What starting one container came to: its new process, the copy that already runs
# (AlreadyRunning), or why the fork or a file it opens failed (OSError).
LaunchOutcome = ProcessRef | AlreadyRunning | OSError


def launch_many(specs: Sequence[Launch]) -> Iterator[LaunchOutcome]:
    """`launch` each, in order, yielding as each is started."""
    for spec in specs:
        try:
            yield launch(spec)
        except (AlreadyRunning, OSError) as outcome:
            yield outcome


# How the kubelet starts the containers of a pass: `launch_many` here, or the same done by the
# runtime's shim (`kernel/spawner.py`), which the control plane uses. Outcomes come in the
# order of `specs`, each as soon as it is known: the caller records one while the next forks.
# A launcher may also offer `stream()` (the shim does): launches submitted as they come and
# answered at the end, for the pod workers (`kubelet/sync.py`, `NewPods`).
Launcher = Callable[[Sequence[Launch]], Iterator[LaunchOutcome]]


def _become_container(spec: Launch, argv: list[str], env: dict[str, str], fds: dict[str, int]) -> None:
    """The forked child: its own session, stdio to the log pipes, into the pod, exec the
    wrapper. Only plain system calls here (the parent may have threads)."""
    try:
        os.setsid()
        os.dup2(fds["null"], 0)
        os.dup2(fds["out"], 1)
        os.dup2(fds["err"], 2)
        _enter_pod(spec, fds["net"], fds["uts"], fds.get("lock"))
        if "lock" in fds:
            os.set_inheritable(fds["lock"], True)  # the wrapper keeps holding it after exec
        os.chdir(spec.cwd or "/")
        os.execve(argv[0], argv, env)
    except BaseException as exc:
        try:
            # No exec closed what the parent had open: let go of it all before waiting below
            # (the control plane's flock on the lab's lock, say, would be held for as long).
            _close_all_but({0, 1, 2, fds["out"], fds["err"]})
            os.write(2, f"netlab: cannot start the container: {exc}\n".encode())
            with open(spec.exit_path, "w") as f:
                f.write("127\n")
            from netlab.kernel import logcollector  # loaded already, by launch

            logcollector.wait_for_reader(spec.log_path, (fds["out"], fds["err"]))
        finally:
            os._exit(127)


def _close_all_but(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep):
        if low < fd:  # an empty range is not empty to os.closerange: (0, 0) closes every fd
            os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, os.sysconf("SC_OPEN_MAX"))


def exec_in_pod(spec: Launch) -> None:
    """Replace this process with `spec.argv` inside the pod (for `netlab exec`). Never returns."""
    net_fd = ns.open_ns(spec.netns)
    uts_fd = ns.open_ns(spec.utsns)
    _enter_pod(spec, net_fd, uts_fd)
    os.close(net_fd)
    os.close(uts_fd)
    _become_user(spec)
    if spec.cwd:
        os.chdir(spec.cwd)
    os.execvpe(spec.argv[0], list(spec.argv), dict(spec.env))


def exec_on_pty(spec: Launch) -> int:
    """`exec -t`: run `spec.argv` inside the pod on a new pseudo-terminal (the kubelet's
    container TTY), relaying this terminal to it in raw mode; its exit code."""
    import pty
    import select
    import termios
    import tty

    net_fd = ns.open_ns(spec.netns)
    uts_fd = ns.open_ns(spec.utsns)
    pid, master = pty.fork()
    if pid == 0:
        try:
            _enter_pod(spec, net_fd, uts_fd)
            _become_user(spec)
            if spec.cwd:
                os.chdir(spec.cwd)
            os.execvpe(spec.argv[0], list(spec.argv), dict(spec.env))
        except FileNotFoundError:
            os.write(2, f'exec: "{spec.argv[0]}": executable file not found in $PATH\r\n'.encode())
            os._exit(127)
        except BaseException:
            os._exit(126)
    os.close(net_fd)
    os.close(uts_fd)
    try:
        fcntl.ioctl(master, termios.TIOCSWINSZ, fcntl.ioctl(0, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass
    saved = termios.tcgetattr(0)
    tty.setraw(0)
    try:
        while True:
            ready, _, _ = select.select([0, master], [], [])
            if master in ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the pod's side closed
                    break
                if not data:
                    break
                os.write(1, data)
            if 0 in ready:
                data = os.read(0, 65536)
                if not data:
                    break
                os.write(master, data)
    finally:
        termios.tcsetattr(0, termios.TCSAFLUSH, saved)
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_in_pod(spec: Launch, argv: tuple[str, ...], timeout: float) -> int:
    """Run `argv` inside the pod and wait for it (an exec probe); its exit code."""
    import subprocess  # here and in start_daemon: the readers of the process table never load it

    net_fd = ns.open_ns(spec.netns)
    uts_fd = ns.open_ns(spec.utsns)
    try:
        result = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(spec.env),
            timeout=timeout,
            preexec_fn=lambda: (_enter_pod(spec, net_fd, uts_fd), _become_user(spec)),
        )
    except FileNotFoundError:
        return 127
    finally:
        os.close(net_fd)
        os.close(uts_fd)
    return result.returncode
