"""A lab (one cluster) as every component sees it: its config, addressing plan, store,
directories and lock — the handle in place of an apiserver client.

Created by `netlab cluster create` or implicitly by the first `netlab apply`; found again by
name through its state directory.
"""

from __future__ import annotations

import fcntl
import functools
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator

from netlab import naming
from netlab.apiserver.store import Decoded, Store, StoredObject
from netlab.errors import NotFound

if TYPE_CHECKING:
    from netlab.api.addressing import Topology
    from netlab.api.cluster import ClusterConfig
    from netlab.api.models import Pod, Service

class Lab:
    """A lab's handle. `config` (and the `topo` derived from it) may be left for the handle to
    parse from the store on first use: `open_lab` does so, because building the Cluster model
    loads pydantic, which a reader such as `get pods` never needs."""

    def __init__(self, config: ClusterConfig | None, topo: Topology | None, store: Store, directory: str, *, name: str | None = None) -> None:
        self._config, self._topo, self.store, self.directory = config, topo, store, directory
        self._name = name

    @property
    def config(self) -> ClusterConfig:
        if self._config is None:
            from netlab.api.cluster import cluster_from_document

            self._config = cluster_from_document(self.store.get_meta("config"), self.store.path)
        return self._config

    @property
    def topo(self) -> Topology:
        if self._topo is None:
            from netlab.api.addressing import from_config

            self._topo = from_config(self.config)
        return self._topo

    @property
    def name(self) -> str:
        return self._name or self.topo.cluster

    @property
    def dns_records(self) -> str:
        return os.path.join(self.directory, "dns", "records.json")

    @property
    def ingress_routes(self) -> str:
        return os.path.join(self.directory, "ingress", "routes.json")

    def pod_dir(self, namespace: str, name: str, uid: str) -> str:
        return os.path.join(self.directory, "pods", f"{namespace}_{name}_{uid[:8]}")

    def close(self) -> None:
        self.store.close()


def store_path(cluster: str) -> str:
    return os.path.join(naming.cluster_dir(cluster), "state.db")


def exists(cluster: str) -> bool:
    return os.path.exists(store_path(cluster))


def names() -> list[str]:
    root = naming.state_root()
    try:
        return sorted(d for d in os.listdir(root) if os.path.exists(store_path(d)))
    except FileNotFoundError:
        return []


def open_lab(cluster: str, decoded: Decoded | None = None) -> Lab:
    """`decoded`: a long-lived reader's objects from earlier reads, reused while unchanged."""
    if not exists(cluster):
        raise NotFound(
            f'cluster "{cluster}" does not exist',
            detail="create it with: netlab cluster create" + ("" if cluster == naming.DEFAULT_CLUSTER else f" --name {cluster}"),
        )
    # The Cluster model (pydantic) is built when a step first asks for lab.config, not here.
    return Lab(None, None, Store(store_path(cluster), decoded), naming.cluster_dir(cluster), name=cluster)


def init_lab(config: ClusterConfig) -> Lab:
    """Record a new cluster's config (the network is built by the first reconcile)."""
    directory = naming.cluster_dir(config.name)
    os.makedirs(os.path.join(directory, "dns"), exist_ok=True)
    os.makedirs(os.path.join(directory, "pods"), exist_ok=True)
    store = Store(store_path(config.name))
    with store.transaction():
        store.set_meta("config", config.to_document())
        store.set_meta("created", time.time())
    from netlab.api.addressing import from_config

    return Lab(config, from_config(config), store, directory)


def remove_state(cluster: str) -> None:
    import shutil

    shutil.rmtree(naming.cluster_dir(cluster), ignore_errors=True)


LOCK_DIR = "/run/netlab/locks"


def lock_path(cluster: str) -> str:
    return os.path.join(LOCK_DIR, cluster)


@contextmanager
def locked(cluster: str) -> Iterator[None]:
    """One writer of a lab at a time: apply, delete, node commands, the control plane, create
    and reset. A lock file lives exactly as long as its lab: the holder that finds the lab gone
    when it lets go (a delete, a refused or rolled-back create, a command that found no lab)
    removes the file while still holding it. A command queued behind `cluster delete` then
    wakes on a file no longer in the directory, takes the lock afresh, and finds the lab gone
    instead of writing into a half-removed one."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    path = lock_path(cluster)
    while True:
        handle = open(path, "a")
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            if os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()  # the previous holder removed this file: lock the one there now
    try:
        yield
    finally:
        try:
            if not exists(cluster):
                os.unlink(path)
        except FileNotFoundError:
            pass
        finally:
            handle.close()


def lock_names() -> list[str]:
    """Every lab with a lock file, for `reset` (a file left by a killed command counts)."""
    try:
        return sorted(os.listdir(LOCK_DIR))
    except FileNotFoundError:
        return []


def pod_model(obj: StoredObject) -> Pod:
    from netlab.api.models import Pod

    return _parsed(Pod, _Version(obj.kind, obj.uid, obj.revision, obj.manifest))


def service_model(obj: StoredObject) -> Service:
    from netlab.api.models import Service

    return _parsed(Service, _Version(obj.kind, obj.uid, obj.revision, obj.manifest))


@dataclass(frozen=True)
class _Version:
    """One version of a stored manifest. The store gives every object its own uid and every
    change of a manifest a new revision (etcd's mod revision), so these name it; equality
    still compares the manifest, since a rolled-back write hands its revision out again."""

    kind: str
    uid: str
    revision: int
    manifest: dict[str, Any] = field(hash=False)


# Every reconcile reads every Pod and Service again, and parsing them with pydantic was half
# of the endpoints step at 1,000 Services. The models are frozen and no reader changes what they
# hold, so the readers of one version can share one model. Live entries = Pods + Services; the
# bound keeps a long-lived control plane's memory flat (~4 kB an entry, manifest included). It
# holds a lab of 10,000 Services and their pods: below that, every publish of such a lab
# validated every Service again (0.75 s of its 2.8 s at 10,000).
@functools.lru_cache(maxsize=1 << 14)
def _parsed(model: type, version: _Version) -> Any:
    return model.model_validate(version.manifest)
