"""A container's securityContext, as the kubelet resolves it (pure).

The container's own fields win over the pod's (`spec.securityContext`). netlab has no image
with a USER line, so an "image user" is root: like the kubelet with an image that runs as root,
`runAsNonRoot: true` without a non-zero `runAsUser` refuses to start the container
(CreateContainerConfigError). The user is set by `setpriv` in front of the program: the exit-code
wrapper stays root (it is the runtime's shim, as conmon is), everything the container runs does
not. A read-only root filesystem is a read-only remount of `/` in the container's private mount
namespace: other mounts (`/proc`, `/dev`, `/run`, a tmpfs `/tmp`) stay as they are, as volumes do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Security:
    uid: int | None = None  # None: root, the "image's" user
    gid: int | None = None
    groups: tuple[int, ...] = ()
    run_as_non_root: bool = False
    read_only_root: bool = False

    @property
    def drops_privileges(self) -> bool:
        return (self.uid or 0) != 0 or (self.gid or 0) != 0 or bool(self.groups)


def resolve(pod_context: Any, container_context: Any) -> Security:
    """The effective settings: the container's fields, else the pod's."""

    def pick(field: str) -> Any:
        for ctx in (container_context, pod_context):
            value = getattr(ctx, field, None) if ctx is not None else None
            if value is not None:
                return value
        return None

    return Security(
        uid=pick("runAsUser"),
        gid=pick("runAsGroup"),
        groups=tuple(getattr(pod_context, "supplementalGroups", None) or ()),
        run_as_non_root=bool(pick("runAsNonRoot")),
        read_only_root=bool(getattr(container_context, "readOnlyRootFilesystem", None)),
    )


def refusal(security: Security, pod: str, container: str) -> str | None:
    """Why the kubelet would not start the container (its messages), or None."""
    if not security.run_as_non_root:
        return None
    if security.uid is None:
        return f"container has runAsNonRoot and image will run as root (pod: {pod!r}, container: {container})"
    if security.uid == 0:
        return f"container's runAsUser breaks non-root policy (pod: {pod!r}, container: {container})"
    return None


def home(security: Security) -> str:
    """$HOME as the runtime sets it: the user's home from /etc/passwd, else "/"."""
    if not security.uid:
        return "/root"
    import pwd

    try:
        return pwd.getpwuid(security.uid).pw_dir or "/"
    except KeyError:
        return "/"


def wrap(argv: tuple[str, ...], security: Security, setpriv: str = "setpriv") -> tuple[str, ...]:
    """The program, run as the container's user and groups (nothing changes for root)."""
    if not security.drops_privileges:
        return argv
    # Without runAsGroup the primary group is the image's, root's here: 0, as in Kubernetes.
    flags = [f"--reuid={security.uid or 0}", f"--regid={security.gid or 0}"]
    flags.append(f"--groups={','.join(str(g) for g in security.groups)}" if security.groups else "--clear-groups")
    return (setpriv, *flags, "--", *argv)
