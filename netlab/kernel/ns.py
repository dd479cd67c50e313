"""Namespaces: create, enter and delete them. The one place that switches namespaces.

Like the CNI plugins' `ns.Do`, `entered()` moves only the calling thread into a namespace and
always moves it back. Named network namespaces live where iproute2 keeps them
(`/run/netns/NAME`, a bind mount of the namespace file), so `ip netns exec` works on them.
Opening a namespace never creates it: a typo fails with `NamespaceMissing`.
"""

from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from functools import cache
from typing import Iterator

from netlab.errors import KernelError

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2

NETNS_DIR = "/run/netns"
UTSNS_DIR = "/run/netlab/uts"  # pods' UTS namespaces (their hostnames), netlab's own
_PROC_FILE = {CLONE_NEWNET: "net", CLONE_NEWUTS: "uts", CLONE_NEWNS: "mnt"}

@cache
def _libc():
    """libc through ctypes, loaded at the first namespace switch or mount (not by readers that
    only look at namespace paths)."""
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


class NamespaceMissing(KernelError):
    """The named namespace does not exist."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = _errno()
        raise KernelError(f"{what}: {os.strerror(err)}", detail=errno.errorcode.get(err, ""))


def _errno() -> int:
    import ctypes

    return ctypes.get_errno()


def setns(fd: int, nstype: int) -> None:
    _check(_libc().setns(fd, nstype), "setns")


def unshare(flags: int) -> None:
    _check(_libc().unshare(flags), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(
        _libc().mount(source.encode(), target.encode(), fstype.encode() if fstype else None, flags, data.encode() if data else None),
        f"mount {source} on {target}",
    )


def umount(target: str) -> bool:
    """Detach the mount at `target`; False when none is there (not a mount point, or missing)."""
    result = _libc().umount2(target.encode(), MNT_DETACH)
    if result != 0 and _errno() not in (errno.EINVAL, errno.ENOENT):
        _check(result, f"umount {target}")
    return result == 0


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


def utsns_path(name: str) -> str:
    return os.path.join(UTSNS_DIR, name)


def open_ns(path: str, root: int | None = None) -> int:
    """An fd for the namespace at `path`; NamespaceMissing when there is none. `root`: a
    directory fd (the host's `/`) to look the path up from, for a process whose own mount
    namespace does not hold the pins (the runtime's shim)."""
    try:
        if root is not None:
            return os.open(path.lstrip("/"), os.O_RDONLY | os.O_CLOEXEC, dir_fd=root)
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NamespaceMissing(f"namespace {path} does not exist") from None


def ns_inode(path: str) -> int:
    return os.stat(path).st_ino


def current_netns_inode() -> int:
    return os.stat("/proc/thread-self/ns/net").st_ino


# The process's own network namespace, read before anything could switch a thread away.
HOME_NETNS_INODE = os.stat("/proc/self/ns/net").st_ino


@contextmanager
def entered(path: str, nstype: int = CLONE_NEWNET) -> Iterator[None]:
    """Run the body with this thread inside the namespace at `path`, then come back."""
    target = open_ns(path)
    own = os.open(f"/proc/thread-self/ns/{_PROC_FILE[nstype]}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(target, nstype)
        try:
            yield
        finally:
            setns(own, nstype)
    finally:
        os.close(own)
        os.close(target)


_pin_dirs_ready: set[str] = set()  # per process: the directories made mounts already


def _prepare_pin_dir(directory: str) -> None:
    """Make `directory` a shared mount of its own, as `ip netns add` does with /run/netns, so
    its pins propagate to the host's other mount namespaces — and so a container's namespace
    can drop the whole directory with one detach (runtime.py) instead of receiving every pin
    made after it started."""
    if directory in _pin_dirs_ready:
        return
    os.makedirs(directory, exist_ok=True)
    # Making a directory shared succeeds only where a mount is: then it is one already.
    if _libc().mount(b"", directory.encode(), b"none", MS_SHARED | MS_REC, None) != 0 and not os.listdir(directory):
        # Only while it holds no pins: a bind over pins would hide the originals beneath it,
        # where unpinning no longer reaches them (a directory that has pins stays as it was).
        mount(directory, directory, "none", MS_BIND | MS_REC)
        mount("", directory, "none", MS_SHARED | MS_REC)
    _pin_dirs_ready.add(directory)


def _create_ns(path: str, nstype: int, setup=None) -> None:
    """Create a namespace of `nstype` pinned at `path` (which must not exist)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
    except FileExistsError:
        if is_pinned(path):
            raise KernelError(f"namespace {path} already exists") from None
        # An empty pin file: a create that was killed before its bind mount. Take its place.
        os.unlink(path)
        fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0)
    os.close(fd)
    proc = f"/proc/thread-self/ns/{_PROC_FILE[nstype]}"
    own = os.open(proc, os.O_RDONLY | os.O_CLOEXEC)
    try:
        unshare(nstype)
        try:
            if setup is not None:
                setup()
            mount(proc, path, "none", MS_BIND)
        finally:
            setns(own, nstype)
    except BaseException:
        os.unlink(path)
        raise
    finally:
        os.close(own)


def is_pinned(path: str) -> bool:
    """Whether `path` holds a namespace (a bind mount of nsfs), not just the empty file."""
    try:
        return os.stat(path).st_dev != os.stat(os.path.dirname(path)).st_dev
    except FileNotFoundError:
        return False


def create_netns(name: str) -> str:
    _prepare_pin_dir(NETNS_DIR)
    path = netns_path(name)
    _create_ns(path, CLONE_NEWNET)
    return path


def create_utsns(name: str, hostname: str) -> str:
    """A UTS namespace whose hostname is `hostname`: the pod's own `hostname`."""
    import socket

    _prepare_pin_dir(UTSNS_DIR)
    path = utsns_path(name)
    _create_ns(path, CLONE_NEWUTS, setup=lambda: socket.sethostname(hostname))
    return path


def delete_ns_file(path: str) -> bool:
    """Unpin a namespace (it dies with its last user). Missing is success; True if removed."""
    if not os.path.exists(path):
        return False
    umount(path)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def list_netns() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def list_utsns() -> list[str]:
    try:
        return sorted(os.listdir(UTSNS_DIR))
    except FileNotFoundError:
        return []
