"""The apiserver + etcd of netlab: one SQLite database per cluster.

It holds the desired objects (as the Kubernetes-shaped manifests the user applied), their
observed status, the cluster's config and small bookkeeping values (IPAM cursors, the hash of
the rules last loaded on each node) and an event log. Writers take SQLite's write lock with
BEGIN IMMEDIATE, so there is one writer at a time; the reconcile lock (`lock.py`) serialises
whole reconciles.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
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
    PRIMARY KEY (kind, namespace, name)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
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

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)


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
    )


class Store:
    def __init__(self, path: str) -> None:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
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
        return _row(row) if row else None

    def list(self, kind: str, namespace: str | None = None) -> list[StoredObject]:
        if namespace is None:
            rows = self._db.execute(
                "SELECT * FROM objects WHERE kind=? ORDER BY namespace, name", (kind,)
            )
        else:
            rows = self._db.execute(
                "SELECT * FROM objects WHERE kind=? AND namespace=? ORDER BY name", (kind, namespace)
            )
        return [_row(r) for r in rows]

    def put(self, kind: str, namespace: str, name: str, manifest: dict[str, Any]) -> str:
        """Store the desired object; returns kubectl's verb: created, configured or unchanged."""
        text = _canonical(manifest)
        old = self._db.execute(
            "SELECT manifest FROM objects WHERE kind=? AND namespace=? AND name=?",
            (kind, namespace, name),
        ).fetchone()
        if old is None:
            self._db.execute(
                "INSERT INTO objects (kind, namespace, name, uid, created, manifest) VALUES (?,?,?,?,?,?)",
                (kind, namespace, name, str(uuid.uuid4()), time.time(), text),
            )
            return "created"
        if old["manifest"] == text:
            return "unchanged"
        self._db.execute(
            "UPDATE objects SET manifest=? WHERE kind=? AND namespace=? AND name=?",
            (text, kind, namespace, name),
        )
        return "configured"

    def delete(self, kind: str, namespace: str, name: str) -> bool:
        cur = self._db.execute(
            "DELETE FROM objects WHERE kind=? AND namespace=? AND name=?", (kind, namespace, name)
        )
        return cur.rowcount > 0

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
