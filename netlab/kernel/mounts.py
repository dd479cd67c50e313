"""Volume mounts inside a container's private mount namespace, without touching the host's
filesystem.

A volume's files live under the pod's state directory; the container sees them at its
`mountPath` through a bind mount made in its own mount namespace (`runtime._enter_pod`, so its
program, `netlab exec` and exec probes all see the same). When the mountPath exists on the
host with the right type (a directory for a volume, a file for a file `subPath`), the bind
goes straight onto it: the host's directory is only covered, in this namespace alone.

When it does not exist (`/etc/nginx/ssl`, `/data`), a mount point has to be made — and
creating it on the host would leave a directory in the host's /etc for every pod. Instead
the nearest existing ancestor A is *shadowed* in this namespace: a tmpfs is mounted over A,
each entry of the original A is recreated in it as an empty placeholder with the original
bind-mounted on top (recursively, so mounts below it — /proc, /run/netns — stay as they
were; symlinks are copied as symlinks), and the missing path is created in the tmpfs. The
container sees A exactly as before plus the new mount point; the host sees nothing. The
originals are reached through an `O_PATH` descriptor of A opened before the tmpfs covers it
(`/proc/self/fd/N/ENTRY`). When A is `/` itself the tmpfs cannot be reached through `/`
(a process's root does not follow a mount placed on it): the process steps onto it with
`chdir("/..")` — the parent of the root resolves to the topmost mount there — fills it, and
`chroot(".")`s into it, as switch_root does.

Why not overlayfs (A as the lower layer, an upper directory in the pod's state)? An overlay
hides every mount below A — for A = `/` that is /proc, /dev, /sys, /run and each pod's
namespace pin, all to be re-mounted — it needs the state directory on a filesystem that can
hold an upper layer (not another overlay, as when netlab itself runs in a container), and
writes to A's existing files would be copied up instead of reaching them as they do without
a volume. The shadow costs one bind mount per entry of A (/etc/nginx: 16, /: ~25), made in
the container's own namespace only.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

from netlab.kernel import ns


def mount_volumes(mounts: Iterable[tuple[str, str, bool]], read_only_root: bool = False) -> None:
    """Bind each (source, target, read_only) in order; make missing mount points first."""
    for source, target, read_only in mounts:
        directory = os.path.isdir(source)  # follows a subPath's symlink into `..data`
        make_mount_point(target, directory, read_only_root)
        ns.mount(source, target, None, ns.MS_BIND | ns.MS_REC)
        if read_only:
            ns.mount("none", target, None, ns.MS_REMOUNT | ns.MS_BIND | ns.MS_RDONLY)


def _fits(path: str, directory: bool) -> bool:
    return os.path.isdir(path) if directory else (os.path.exists(path) and not os.path.isdir(path))


def make_mount_point(target: str, directory: bool, read_only_root: bool = False) -> None:
    """A directory (or a file) at `target` in this mount namespace; the host is not touched."""
    if _fits(target, directory):
        return
    parts = [p for p in posixpath.normpath(target).split("/") if p]
    ancestor = "/"
    for i, part in enumerate(parts[:-1]):
        step = posixpath.join(ancestor, part)
        if not os.path.isdir(step):
            missing = parts[i:]
            break
        ancestor = os.path.realpath(step)
    else:
        missing = parts[-1:]
    base = _shadow(ancestor, replace=missing[0])
    path = os.path.join(base, *missing[:-1]) if len(missing) > 1 else base
    os.makedirs(path, mode=0o755, exist_ok=True)
    last = os.path.join(path, missing[-1])
    if directory:
        os.mkdir(last, 0o755)
    else:
        os.close(os.open(last, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    if base == ".":
        os.chroot(".")
        os.chdir("/")
    if read_only_root:
        target_ancestor = "/" if base == "." else ancestor
        ns.mount("none", target_ancestor, None, ns.MS_REMOUNT | ns.MS_BIND | ns.MS_RDONLY)


def _shadow(ancestor: str, replace: str) -> str:
    """Cover `ancestor` with a tmpfs holding its entries (but `replace`) bind-mounted back;
    the path to fill it through ("." for the root, which is entered with chdir)."""
    original = os.open(ancestor, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        st = os.stat(original)
        options = f"mode={st.st_mode & 0o7777:o},uid={st.st_uid},gid={st.st_gid}"
        ns.mount("tmpfs", ancestor, "tmpfs", 0, options)
        base = ancestor
        if ancestor == "/":
            os.chdir("/..")  # the topmost mount on the root: the new tmpfs
            base = "."
        through = f"/proc/self/fd/{original}"
        for name in os.listdir(through):
            if name == replace:
                continue
            source = os.path.join(through, name)
            target = os.path.join(base, name)
            if os.path.islink(source):
                os.symlink(os.readlink(source), target)
                continue
            if os.path.isdir(source):
                os.mkdir(target, 0o755)
            else:
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600))
            ns.mount(source, target, None, ns.MS_BIND | ns.MS_REC)
        return base
    finally:
        os.close(original)
