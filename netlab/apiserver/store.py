"""The apiserver + etcd of netlab: one SQLite database per cluster.

It holds the desired objects (as the Kubernetes-shaped manifests the user applied), their
observed status, the cluster's config and small bookkeeping values (IPAM cursors, the hash of
the rules last loaded on each node) and an event log. Writers take SQLite's write lock with
BEGIN IMMEDIATE, so there is one writer at a time; the lab's lock (`state.locked`) serialises
whole reconciles.

Like etcd, the store counts revisions: every change of a desired object (create, update,
delete) takes the next revision, and each object remembers the revision of its last change
(etcd's mod_revision). Each change is kept as an event of a watch history (`watch(after)`:
PUT or DELETE of a key, at its revision), compacted like etcd's (`compact`); a watcher that
asks for compacted history gets `Compacted` and must list again. The control plane records
the revision it has converged to (`observed_revision`), so a writer knows when the lab
reflects its change. Keys, values, revisions, watch and a wake-up on change
(`lab/controlplane.py`) are the whole of what the rest of netlab asks of it — the seam where a
multi-host lab would put etcd instead of SQLite.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    uid TEXT NOT NULL,
    created REAL NOT NULL,
    manifest TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '{}',
    revision INTEGER NOT NULL DEFAULT 0,
    generation INTEGER NOT NULL DEFAULT 1,
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS changes (
    revision INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ts REAL NOT NULL,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class StoredObject:
    kind: str
    namespace: str  # "" for cluster-scoped kinds
    name: str
    uid: str
    created: float
    manifest: dict[str, Any] = field(hash=False)
    status: dict[str, Any] = field(hash=False)
    revision: int = field(default=0, compare=False)  # of its last change (etcd's mod_revision)
    generation: int = field(default=1, compare=False)  # metadata.generation: +1 on each change outside metadata

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


@dataclass(frozen=True)
class Change:
    """One event of the watch history, as etcd reports it: the key and what happened to it."""

    revision: int
    type: str  # PUT | DELETE
    kind: str
    namespace: str
    name: str


class Compacted(Exception):
    """The history asked for is gone (etcd's ErrCompacted): list again instead."""

    def __init__(self, compacted: int) -> None:
        super().__init__(f"history compacted up to revision {compacted}")
        self.compacted = compacted


@dataclass(frozen=True)
class Event:
    ts: float
    kind: str
    namespace: str
    name: str
    type: str  # Normal | Warning
    reason: str
    message: str


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _row(row: sqlite3.Row) -> StoredObject:
    return StoredObject(
        kind=row["kind"],
        namespace=row["namespace"],
        name=row["name"],
        uid=row["uid"],
        created=row["created"],
        manifest=json.loads(row["manifest"]),
        status=json.loads(row["status"]),
        revision=row["revision"],
        generation=row["generation"],
    )


class Decoded:
    """Decoded objects kept between reads, like an informer's cache: a long-lived reader (the
    control plane) opens the store anew for every reconcile and reads the same thousand
    Services each time; decoding their JSON was most of a read. A row is decoded again only
    when its text, uid or revision differ from what was decoded before, so a read is always
    the store's current content.

    The objects are shared between reads, as a client-go lister's are: whoever gets one must
    not change its manifest or status in place (copy first, as the writers do). With
    NETLAB_CHECK_SHARED=1 (the integration tests set it) every reuse checks that, and a
    changed object fails loudly instead of feeding a stale value to the next reader."""

    def __init__(self) -> None:
        self._by_kind: dict[str, dict[tuple[str, str], tuple[str, str, StoredObject]]] = {}
        self._check = os.environ.get("NETLAB_CHECK_SHARED") == "1"

    def row(self, row: sqlite3.Row, kept: dict[tuple[str, str], tuple[str, str, StoredObject]]) -> StoredObject:
        key = (row["namespace"], row["name"])
        manifest, status = row["manifest"], row["status"]
        entry = kept.get(key)
        if entry is not None:
            obj = entry[2]
            if entry[0] == manifest and entry[1] == status and obj.uid == row["uid"] and obj.revision == row["revision"] and obj.generation == row["generation"]:
                if self._check and (json.loads(manifest) != obj.manifest or json.loads(status) != obj.status):
                    raise AssertionError(f"a shared {obj.kind} {obj.namespace}/{obj.name} from the store was changed in place")
                return obj
        obj = _row(row)
        kept[key] = (manifest, status, obj)
        return obj

    def kind(self, kind: str) -> dict[tuple[str, str], tuple[str, str, StoredObject]]:
        return self._by_kind.setdefault(kind, {})

    def replace_kind(self, kind: str, kept: dict[tuple[str, str], tuple[str, str, StoredObject]]) -> None:
        """After a whole kind was read: what it no longer holds is forgotten."""
        self._by_kind[kind] = kept


def _new_uid() -> str:
    import uuid  # only writers need it (uuid also loads platform): readers start faster without

    return str(uuid.uuid4())


class Store:
    def __init__(self, path: str, decoded: Decoded | None = None) -> None:
        """`decoded`: objects decoded by earlier reads to reuse (a long-lived reader's)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self._decoded = decoded
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        had_history = self._db.execute("SELECT 1 FROM sqlite_master WHERE name='changes'").fetchone() is not None
        self._db.executescript(SCHEMA)
        if not had_history and self.revision():
            self.set_meta("compacted", self.revision())  # a lab made before the history was kept
        columns = {r["name"] for r in self._db.execute("PRAGMA table_info(objects)")}
        if "revision" not in columns:  # a lab made before revisions were counted
            self._db.execute("ALTER TABLE objects ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")
        if "generation" not in columns:  # a lab made before generations were counted
            self._db.execute("ALTER TABLE objects ADD COLUMN generation INTEGER NOT NULL DEFAULT 1")
        self._depth = 0

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator["Store"]:
        """All-or-nothing writes; nests (inner blocks join the outer transaction)."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        self._db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield self
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")
        finally:
            self._depth = 0

    # -- objects -------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str, name: str) -> StoredObject | None:
        row = self._db.execute(
            "SELECT * FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, namespace, name)
        ).fetchone()
        if row is None:
            return None
        return _row(row) if self._decoded is None else self._decoded.row(row, self._decoded.kind(kind))

    def list(self, kind: str, namespace: str | None = None) -> list[StoredObject]:
        if namespace is None:
            rows = self._db.execute(
                "SELECT * FROM objects WHERE kind=? ORDER BY namespace, name", (kind,)
            )
        else:
            rows = self._db.execute(
                "SELECT * FROM objects WHERE kind=? AND namespace=? ORDER BY name", (kind, namespace)
            )
        if self._decoded is None:
            return [_row(r) for r in rows]
        if namespace is not None:
            kept = self._decoded.kind(kind)
            return [self._decoded.row(r, kept) for r in rows]
        before, kept = self._decoded.kind(kind), {}
        found = []
        for r in rows:
            obj = self._decoded.row(r, before)
            kept[(obj.namespace, obj.name)] = before[(obj.namespace, obj.name)]
            found.append(obj)
        self._decoded.replace_kind(kind, kept)
        return found

    def put(self, kind: str, namespace: str, name: str, manifest: dict[str, Any]) -> str:
        """Store the desired object; returns kubectl's verb: created, configured or unchanged."""
        text = _canonical(manifest)
        old = self._db.execute(
            "SELECT manifest, generation FROM objects WHERE kind=? AND namespace=? AND name=?",
            (kind, namespace, name),
        ).fetchone()
        if old is None:
            self._db.execute(
                "INSERT INTO objects (kind, namespace, name, uid, created, manifest, revision) VALUES (?,?,?,?,?,?,?)",
                (kind, namespace, name, _new_uid(), time.time(), text, self._change("PUT", kind, namespace, name)),
            )
            return "created"
        if old["manifest"] == text:
            return "unchanged"
        # The apiserver's metadata.generation: it moves when the desired state (anything but
        # metadata) changes, so a controller's observedGeneration says which spec it acted on.
        before = {k: v for k, v in json.loads(old["manifest"]).items() if k != "metadata"}
        bump = int(before != {k: v for k, v in manifest.items() if k != "metadata"})
        self._db.execute(
            "UPDATE objects SET manifest=?, revision=?, generation=generation+? WHERE kind=? AND namespace=? AND name=?",
            (text, self._change("PUT", kind, namespace, name), bump, kind, namespace, name),
        )
        return "configured"

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        cur = self._db.execute(
            "DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, namespace, name)
        )
        if cur.rowcount > 0:
            self._change("DELETE", kind, namespace, name)
            return True
        return False

    # -- revisions -----------------------------------------------------------------------------

    def revision(self) -> int:
        """The revision of the last change to a desired object (0: none yet)."""
        return self.get_meta("revision", 0)

    def _change(self, type: str, kind: str, namespace: str, name: str) -> int:
        """The next revision, for this change of a desired object; kept in the watch history."""
        revision = self.revision() + 1
        self.set_meta("revision", revision)
        self._db.execute(
            "INSERT INTO changes (revision, kind, namespace, name, type) VALUES (?,?,?,?,?)",
            (revision, kind, namespace, name, type),
        )
        return revision

    def watch(self, after: int) -> list[Change]:
        """Every change after revision `after`, oldest first (etcd's watch from after + 1);
        raises Compacted when some of them are no longer kept."""
        compacted = self.get_meta("compacted", 0)
        if after < compacted:
            raise Compacted(compacted)
        rows = self._db.execute("SELECT * FROM changes WHERE revision>? ORDER BY revision", (after,))
        return [Change(r["revision"], r["type"], r["kind"], r["namespace"], r["name"]) for r in rows]

    def compact(self, revision: int) -> None:
        """Forget the history up to `revision` (etcd's compaction); later watches from before
        it raise Compacted."""
        if revision <= self.get_meta("compacted", 0):
            return
        with self.transaction():
            self._db.execute("DELETE FROM changes WHERE revision<=?", (revision,))
            self.set_meta("compacted", revision)

    def observed_revision(self) -> int:
        """The revision the control plane last converged the lab to."""
        return self.get_meta("observed_revision", 0)

    def set_observed_revision(self, revision: int) -> None:
        self.set_meta("observed_revision", revision)

    def set_status(self, kind: str, namespace: str, name: str, status: dict[str, Any]) -> None:
        self._db.execute(
            "UPDATE objects SET status=? WHERE kind=? AND namespace=? AND name=?",
            (_canonical(status), kind, namespace, name),
        )

    # -- bookkeeping ---------------------------------------------------------------------------

    def get_meta(self, key: str, default: Any = None) -> Any:
        row = self._db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return json.loads(row["value"]) if row else default

    def set_meta(self, key: str, value: Any) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, _canonical(value)),
        )

    def delete_meta(self, key: str) -> None:
        self._db.execute("DELETE FROM meta WHERE key=?", (key,))

    # -- events --------------------------------------------------------------------------------

    def add_event(
        self, kind: str, namespace: str, name: str, reason: str, message: str, type: str = "Normal"
    ) -> None:
        self._db.execute(
            "INSERT INTO events (ts, kind, namespace, name, type, reason, message) VALUES (?,?,?,?,?,?,?)",
            (time.time(), kind, namespace, name, type, reason, message),
        )

    def events(self, after_id: int = 0) -> list[tuple[int, Event]]:
        rows = self._db.execute("SELECT * FROM events WHERE id>? ORDER BY id", (after_id,))
        return [
            (
                r["id"],
                Event(r["ts"], r["kind"], r["namespace"], r["name"], r["type"], r["reason"], r["message"]),
            )
            for r in rows
        ]
