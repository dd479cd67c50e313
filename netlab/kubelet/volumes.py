"""A pod's volumes, as the kubelet's volume manager and its plugins make them: what each
volume holds (pure: `payload`), writing it under the pod's directory (`setup`), and the mounts
each container gets (pure: `container_mounts`), which kernel/mounts.py makes in the container's
own mount namespace.

- `configMap` and `secret` (pkg/volume/configmap, secret): every key (or the `items` chosen,
  at their `path`), files of `defaultMode` (0644) or the item's `mode`; a missing object or key
  fails the mount with the plugin's message unless `optional`. `downwardAPI` (pkg/volume/
  downwardapi): one file per item, the labels and annotations maps as `key="value"` lines.
  `projected`: the three in one directory. `emptyDir`: an empty directory (0777), as are the
  sources netlab does not model (the loader warned).
- Written as the kubelet's AtomicWriter writes them (pkg/volume/util/atomic_writer.go): the
  files in a hidden directory `..<hash>`, `..data` a symlink to it, and each top-level name a
  symlink through `..data`. An update writes a new hidden directory and swaps `..data` in one
  rename, so a container sees the old files or the new ones, never half; a `subPath` mount is
  bound to the file itself and, as upstream, does not follow updates.
- Every pass of the kubelet re-computes the payloads of a running pod's configMap, secret,
  downwardAPI and projected volumes and rewrites those that changed: edits of a ConfigMap
  reach its mounted files (upstream: within the kubelet's sync period).
- A volume that cannot be set up keeps every container of the pod from starting (the
  volume manager's WaitForAttachAndMount): the pod stays ContainerCreating with the
  kubelet's `FailedMount` event until the object appears.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MODE = 0o644  # volume.DefaultMode (configMap, secret, downwardAPI, projected)
EMPTY_DIR_MODE = 0o777
DATA_DIR = "..data"
# The sources whose files the kubelet writes (and keeps in step); mounted read-only, as the
# kubelet does since 1.9.7 (kubernetes#58720).
WRITTEN = ("configMap", "secret", "downwardAPI", "projected")


class VolumeError(Exception):
    """The plugin's SetUp failed: the message the FailedMount event carries."""


@dataclass(frozen=True)
class Sources:
    """What the volume plugins and env read: the pod namespace's ConfigMaps and Secrets (None
    when missing) and the pod's Downward API values (`field(path) -> str`)."""

    configmap: Callable[[str], Any]
    secret: Callable[[str], Any]
    field: Callable[[str], str]


Payload = dict[str, tuple[bytes, int]]  # path inside the volume -> (content, mode)


def _keyed(kind: str, obj: Any, name: str, items: list, optional: bool, mode: int) -> Payload:
    if obj is None:
        if optional:
            return {}
        raise VolumeError(f'{kind} "{name}" not found')
    out: Payload = {}
    every = obj.keys() if kind == "configmap" else list(obj.data)
    chosen = [(i.key, i.path, i.mode) for i in items] if items else [(k, k, None) for k in sorted(every)]
    for key, path, item_mode in chosen:
        value = obj.value(key)
        if value is None:
            if optional:
                continue
            what = "config" if kind == "configmap" else "secret"
            raise VolumeError(f"{kind} references non-existent {what} key: {key}")
        out[path] = (value, item_mode if item_mode is not None else mode)
    return out


def format_map(values: Mapping[str, str]) -> str:
    """fieldpath.FormatMap: `key="value"` lines, sorted, values quoted as Go's %q."""
    import json

    return "\n".join(f"{k}={json.dumps(values[k])}" for k in sorted(values))


def _downward(items: list, mode: int, sources: Sources) -> Payload:
    out: Payload = {}
    for item in items:
        text = "" if item.fieldRef is None else sources.field(item.fieldRef.fieldPath)
        out[item.path] = (text.encode(), item.mode if item.mode is not None else mode)
    return out


def payload(volume: Any, sources: Sources) -> Payload | None:
    """What the volume holds; None for a plain directory (emptyDir and unmodelled sources).
    Raises VolumeError with the plugin's message."""
    kind = volume.kind
    if kind == "configMap":
        v = volume.configMap
        return _keyed("configmap", sources.configmap(v.name), v.name, v.items, bool(v.optional), _mode(v.defaultMode))
    if kind == "secret":
        v = volume.secret
        return _keyed("secret", sources.secret(v.secretName), v.secretName, v.items, bool(v.optional), _mode(v.defaultMode))
    if kind == "downwardAPI":
        return _downward(volume.downwardAPI.items, _mode(volume.downwardAPI.defaultMode), sources)
    if kind == "projected":
        mode = _mode(volume.projected.defaultMode)
        out: Payload = {}
        for source in volume.projected.sources:
            if source.configMap is not None:
                c = source.configMap
                out.update(_keyed("configmap", sources.configmap(c.name), c.name, c.items, bool(c.optional), mode))
            if source.secret is not None:
                s = source.secret
                out.update(_keyed("secret", sources.secret(s.name), s.name, s.items, bool(s.optional), mode))
            if source.downwardAPI is not None:
                out.update(_downward(source.downwardAPI.items, mode, sources))
        return out
    return None


def _mode(value: int | None) -> int:
    return DEFAULT_MODE if value is None else value


def volume_dir(pod_dir: str, name: str) -> str:
    return os.path.join(pod_dir, "volumes", name)


@dataclass(frozen=True)
class Mount:
    source: str  # a path under the pod's directory
    target: str  # the mountPath inside the container
    read_only: bool


def container_mounts(pod_dir: str, volumes: list, container: Any) -> tuple[Mount, ...]:
    """The container's volumeMounts as binds, parents before children (a mount inside another
    volume's mountPath must come after it, whatever order the spec lists them in)."""
    kinds = {v.name: v.kind for v in volumes}
    mounts = []
    for m in container.volumeMounts:
        source = volume_dir(pod_dir, m.name)
        if m.subPath:
            source = os.path.join(source, m.subPath)
        read_only = bool(m.readOnly) or kinds.get(m.name) in WRITTEN
        mounts.append(Mount(source, posixpath.normpath(m.mountPath), read_only))
    return tuple(sorted(mounts, key=lambda m: m.target.count("/")))


# --- writing (the kubelet's side: files under the pod's own directory) -------------------------


def _digest(files: Payload) -> str:
    h = hashlib.sha256()
    for path in sorted(files):
        content, mode = files[path]
        h.update(f"{path}\0{mode}\0{len(content)}\0".encode())
        h.update(content)
    return h.hexdigest()[:16]


def write_atomic(directory: str, files: Payload) -> bool:
    """AtomicWriter.Write: the payload in `..<hash>`, `..data` swapped to it, top-level
    symlinks through `..data`; True when something changed."""
    os.makedirs(directory, mode=0o755, exist_ok=True)
    stamp = ".." + _digest(files)
    data_link = os.path.join(directory, DATA_DIR)
    if os.path.islink(data_link) and os.readlink(data_link) == stamp:
        return False
    staging = os.path.join(directory, stamp + ".tmp")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging, mode=0o755)
    for path, (content, mode) in files.items():
        full = os.path.join(staging, path)
        os.makedirs(os.path.dirname(full), mode=0o755, exist_ok=True)
        fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        os.chmod(full, mode)
    final = os.path.join(directory, stamp)
    shutil.rmtree(final, ignore_errors=True)
    os.rename(staging, final)
    tmp_link = os.path.join(directory, "..data_tmp")
    if os.path.lexists(tmp_link):
        os.unlink(tmp_link)
    os.symlink(stamp, tmp_link)
    os.replace(tmp_link, data_link)
    top = {path.split("/", 1)[0] for path in files}
    for name in top:
        link = os.path.join(directory, name)
        if not os.path.islink(link):
            if os.path.isdir(link):
                shutil.rmtree(link)
            os.symlink(os.path.join(DATA_DIR, name), link)
    for entry in os.listdir(directory):
        full = os.path.join(directory, entry)
        stale = entry not in (DATA_DIR, stamp) if entry.startswith("..") else entry not in top
        if not stale:
            continue
        if os.path.islink(full):
            os.unlink(full)
        elif entry.startswith(".."):
            shutil.rmtree(full, ignore_errors=True)  # an older payload
    return True


def setup(pod_dir: str, volumes: list, sources: Sources) -> dict[str, str]:
    """Write every volume of the pod; {volume name: the FailedMount message} of those that
    failed (the others are in place)."""
    failed: dict[str, str] = {}
    for volume in volumes:
        directory = volume_dir(pod_dir, volume.name)
        try:
            files = payload(volume, sources)
        except VolumeError as exc:
            failed[volume.name] = f'MountVolume.SetUp failed for volume "{volume.name}" : {exc}'
            continue
        if files is None:
            if not os.path.isdir(directory):
                os.makedirs(directory)
                os.chmod(directory, EMPTY_DIR_MODE)
            continue
        write_atomic(directory, files)
    return failed


def ensure_sub_paths(mounts: tuple[Mount, ...]) -> None:
    """A subPath missing from its volume is made as a directory, as the kubelet does
    (subpath.SafeMakeDir) — inside the pod's own volume directory, never on the host."""
    for m in mounts:
        if not os.path.lexists(m.source):
            os.makedirs(m.source, exist_ok=True)


def reap(pods_dir: str, live: set[str]) -> None:
    """Remove the volumes of pods that are gone (the kubelet's cleanupOrphanedPodDirs), so a
    Secret's files do not outlive the pods that mounted it; logs stay for `events`/debugging."""
    try:
        entries = os.listdir(pods_dir)
    except FileNotFoundError:
        return
    for entry in entries:
        directory = os.path.join(pods_dir, entry, "volumes")
        if entry not in live and os.path.isdir(directory):
            shutil.rmtree(directory, ignore_errors=True)
