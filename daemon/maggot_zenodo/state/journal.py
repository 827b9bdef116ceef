"""The SQLite journal: what was asked of Zenodo for each dataset, and what came back.

Every step of the workflow is written here before its request (intent) and after it
(result), in WAL mode with synchronous=FULL, so that after a crash, a ``kill -9`` or a
reboot the next run knows which deposition belongs to a dataset, which create may have
reached Zenodo unanswered (its marker), which files this tool uploaded, and which
semaphore request was already handled. One connection per thread keeps it thread-safe.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from maggot_zenodo.state.health import StateError, state_error

__all__ = ["DatasetRow", "Journal", "StateError"]
from maggot_zenodo.state.watchtables import WatchTables

SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id INTEGER PRIMARY KEY,
    zenodo_url TEXT NOT NULL,
    account TEXT NOT NULL,
    folder TEXT NOT NULL,            -- relative to storage.root
    abs_folder TEXT NOT NULL,
    deposition_id INTEGER,
    bucket_url TEXT,
    deposit_url TEXT,
    record_url TEXT,
    doi TEXT,
    concept_doi TEXT,
    metadata_hash TEXT,              -- hash of the metadata last PUT to deposition_id
    status TEXT NOT NULL DEFAULT 'queued',
    error TEXT,
    hint TEXT,
    files TEXT NOT NULL DEFAULT '[]',
    handled_fingerprint TEXT,
    updated REAL NOT NULL,
    internal_errors INTEGER NOT NULL DEFAULT 0,   -- unexpected errors since the last ending
    UNIQUE (zenodo_url, account, folder)
);
CREATE INDEX IF NOT EXISTS datasets_abs ON datasets (abs_folder);
CREATE TABLE IF NOT EXISTS markers (
    marker TEXT PRIMARY KEY,
    dataset_id INTEGER NOT NULL,
    since REAL NOT NULL,
    resolved INTEGER NOT NULL DEFAULT 0   -- 1: adopted or known absent/deleted
);
CREATE TABLE IF NOT EXISTS uploaded (
    dataset_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    md5 TEXT,
    size INTEGER,
    PRIMARY KEY (dataset_id, key)
);
CREATE TABLE IF NOT EXISTS md5cache (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    md5 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS steps (
    id INTEGER PRIMARY KEY,
    dataset_id INTEGER NOT NULL,
    at REAL NOT NULL,
    step TEXT NOT NULL,
    phase TEXT NOT NULL,             -- intent | result | error
    detail TEXT
);
"""

MAX_STEPS_PER_DATASET = 500
#: Columns added after 0.1.0, with their definition (added to older journals on open).
_ADDED = {"internal_errors": "INTEGER NOT NULL DEFAULT 0"}


@dataclass(frozen=True)
class DatasetRow:
    """What the journal knows of one dataset (one Zenodo URL and account)."""

    id: int
    zenodo_url: str
    account: str
    folder: str
    abs_folder: str
    deposition_id: int | None
    bucket_url: str | None
    deposit_url: str | None
    record_url: str | None
    doi: str | None
    concept_doi: str | None
    metadata_hash: str | None
    status: str
    error: str | None
    hint: str | None
    files: str
    handled_fingerprint: str | None
    updated: float
    internal_errors: int = 0

    @property
    def file_list(self) -> list[dict[str, Any]]:
        files: list[dict[str, Any]] = json.loads(self.files or "[]")
        return files


_COLUMNS = [f.name for f in fields(DatasetRow)]
_UPDATABLE = set(_COLUMNS) - {"id", "zenodo_url", "account", "folder"}


class Journal(WatchTables):
    """The journal file at ``path`` (parent folders created); safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._conn()
            conn.executescript(SCHEMA)
            have = {r[1] for r in conn.execute("PRAGMA table_info(datasets)")}
            for column, definition in _ADDED.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE datasets ADD COLUMN {column} {definition}")
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise state_error(self.path, exc) from None

    # -- connections -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=30000")
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise
            raise state_error(self.path, exc) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            conn.execute("ROLLBACK")
            raise state_error(self.path, exc) from None

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    # -- datasets ----------------------------------------------------------------------
    def dataset(self, zenodo_url: str, account: str, folder: str, abs_folder: str) -> DatasetRow:
        """The row for a dataset, created (status queued) when new."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO datasets (zenodo_url, account, folder, abs_folder, updated)"
                " VALUES (?, ?, ?, ?, ?)",
                (zenodo_url, account, folder, abs_folder, time.time()),
            )
            db.execute(
                "UPDATE datasets SET abs_folder = ? WHERE zenodo_url = ? AND account = ? "
                "AND folder = ? AND abs_folder != ?",
                (abs_folder, zenodo_url, account, folder, abs_folder),
            )
            row = db.execute(
                "SELECT * FROM datasets WHERE zenodo_url = ? AND account = ? AND folder = ?",
                (zenodo_url, account, folder),
            ).fetchone()
        return _row(row)

    def get(self, dataset_id: int) -> DatasetRow:
        row = self._conn().execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,)).fetchone()
        return _row(row)

    def update(self, dataset_id: int, **values: Any) -> DatasetRow:
        """Set columns of a dataset's row (committed and synced before returning)."""
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not journal columns: {sorted(unknown)}")
        if "files" in values and not isinstance(values["files"], str):
            values["files"] = json.dumps(values["files"], sort_keys=True)
        values.setdefault("updated", time.time())
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE datasets SET {sets} WHERE id = ?", (*values.values(), dataset_id))  # noqa: S608
        return self.get(dataset_id)

    def record_deposition(
        self, dataset_id: int, marker: str | None, deposition_id: int, **values: Any
    ) -> DatasetRow:
        """Remember a created or adopted deposition and resolve its create ``marker``, in ONE
        transaction: a crash can never leave the marker resolved and the deposition unknown
        (the next run would create a second one). Files recorded as uploaded by us belong to
        the previous deposition and are forgotten with it; ``metadata_hash`` is cleared."""
        values = {"deposition_id": deposition_id, "metadata_hash": None, **values}
        unknown = set(values) - _UPDATABLE
        if unknown:
            raise ValueError(f"not journal columns: {sorted(unknown)}")
        values.setdefault("updated", time.time())
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._tx() as db:
            db.execute(f"UPDATE datasets SET {sets} WHERE id = ?", (*values.values(), dataset_id))  # noqa: S608
            db.execute("DELETE FROM uploaded WHERE dataset_id = ?", (dataset_id,))
            if marker is not None:
                db.execute("UPDATE markers SET resolved = 1 WHERE marker = ?", (marker,))
        return self.get(dataset_id)

    def with_deposition(
        self, zenodo_url: str, account: str, deposition_id: int
    ) -> list[DatasetRow]:
        """The rows (one Zenodo URL and account) that remember ``deposition_id``."""
        cur = self._conn().execute(
            "SELECT * FROM datasets WHERE zenodo_url = ? AND account = ? AND deposition_id = ?",
            (zenodo_url, account, deposition_id),
        )
        return [_row(r) for r in cur.fetchall()]

    def rekey(self, old_id: int, new_id: int) -> DatasetRow:
        """A dataset folder moved: row ``old_id`` takes the folder of the fresh row ``new_id``
        (which must know no deposition), keeping its deposition, uploaded files and steps;
        ``new_id``'s open markers and steps move over, then ``new_id`` is deleted."""
        with self._tx() as db:
            new = _row(db.execute("SELECT * FROM datasets WHERE id = ?", (new_id,)).fetchone())
            if new.deposition_id is not None:
                raise ValueError("the new folder's row already knows a deposition")
            db.execute("DELETE FROM datasets WHERE id = ?", (new_id,))
            db.execute(
                "UPDATE datasets SET folder = ?, abs_folder = ?, updated = ? WHERE id = ?",
                (new.folder, new.abs_folder, time.time(), old_id),
            )
            for table in ("markers", "steps", "uploaded"):
                db.execute(
                    f"UPDATE OR IGNORE {table} SET dataset_id = ? WHERE dataset_id = ?",  # noqa: S608
                    (old_id, new_id),
                )
            db.execute("DELETE FROM uploaded WHERE dataset_id = ?", (new_id,))
        return self.get(old_id)

    def rows(self) -> list[DatasetRow]:
        """Every dataset, by folder."""
        cur = self._conn().execute("SELECT * FROM datasets ORDER BY folder, zenodo_url, account")
        return [_row(r) for r in cur.fetchall()]

    def is_pending(self, folder: Path, fingerprint: str, repositories: Collection[str]) -> bool:
        """True unless the semaphore request ``fingerprint`` of ``folder`` was fully handled:
        by every repository (URL) in ``repositories``, each independently."""
        return not set(repositories) <= self.handled_by(folder, fingerprint)

    # -- steps (intent / result) -------------------------------------------------------
    def step(self, dataset_id: int, step: str, phase: str, detail: Any = None) -> None:
        """Append one line to a dataset's step log (kept to the last few hundred)."""
        text = detail if isinstance(detail, str) or detail is None else json.dumps(detail)
        with self._tx() as db:
            db.execute(
                "INSERT INTO steps (dataset_id, at, step, phase, detail) VALUES (?, ?, ?, ?, ?)",
                (dataset_id, time.time(), step, phase, text),
            )
            db.execute(
                "DELETE FROM steps WHERE dataset_id = ? AND id <= (SELECT id FROM steps "
                "WHERE dataset_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (dataset_id, dataset_id, MAX_STEPS_PER_DATASET),
            )

    def steps(self, dataset_id: int) -> list[tuple[str, str, str | None]]:
        cur = self._conn().execute(
            "SELECT step, phase, detail FROM steps WHERE dataset_id = ? ORDER BY id", (dataset_id,)
        )
        return [(r[0], r[1], r[2]) for r in cur.fetchall()]

    # -- create markers ----------------------------------------------------------------
    def add_marker(self, dataset_id: int, marker: str) -> None:
        """Record a create attempt's marker BEFORE the create request is sent."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO markers (marker, dataset_id, since) VALUES (?, ?, ?)",
                (marker, dataset_id, time.time()),
            )

    def open_markers(self, dataset_id: int) -> list[tuple[str, float]]:
        """Create attempts whose deposition was neither adopted nor ruled out."""
        cur = self._conn().execute(
            "SELECT marker, since FROM markers WHERE dataset_id = ? AND resolved = 0 "
            "ORDER BY since",
            (dataset_id,),
        )
        return [(r[0], r[1]) for r in cur.fetchall()]

    def resolve_marker(self, marker: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE markers SET resolved = 1 WHERE marker = ?", (marker,))

    # -- files this tool uploaded ------------------------------------------------------
    def uploaded(self, dataset_id: int) -> dict[str, str | None]:
        cur = self._conn().execute(
            "SELECT key, md5 FROM uploaded WHERE dataset_id = ?", (dataset_id,)
        )
        return {r[0]: r[1] for r in cur.fetchall()}

    def mark_uploaded(self, dataset_id: int, key: str, md5: str | None, size: int | None) -> None:
        """Remember ``key`` as ours (called BEFORE the upload: a half upload is ours too)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO uploaded (dataset_id, key, md5, size) VALUES (?, ?, ?, ?)",
                (dataset_id, key, md5, size),
            )

    def forget_uploaded(self, dataset_id: int, key: str | None = None) -> None:
        with self._tx() as db:
            if key is None:
                db.execute("DELETE FROM uploaded WHERE dataset_id = ?", (dataset_id,))
            else:
                db.execute(
                    "DELETE FROM uploaded WHERE dataset_id = ? AND key = ?", (dataset_id, key)
                )

    # -- md5 cache ---------------------------------------------------------------------
    def cached_md5(self, path: str, size: int, mtime_ns: int, ino: int) -> str | None:
        row = (
            self._conn()
            .execute(
                "SELECT md5 FROM md5cache WHERE path = ? AND size = ? AND mtime_ns = ? AND ino = ?",
                (path, size, mtime_ns, ino),
            )
            .fetchone()
        )
        return row[0] if row else None

    def store_md5(self, path: str, size: int, mtime_ns: int, ino: int, md5: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO md5cache (path, size, mtime_ns, ino, md5) "
                "VALUES (?, ?, ?, ?, ?)",
                (path, size, mtime_ns, ino, md5),
            )

    # -- summaries for monitoring (status, status --check, metrics) ----------------------
    def counts_by_state(self) -> dict[str, int]:
        """How many datasets the journal holds in each state, whatever the states are."""
        cur = self._conn().execute("SELECT status, COUNT(*) FROM datasets GROUP BY status")
        return {str(r[0]): int(r[1]) for r in cur.fetchall()}

    def oldest_pending(self, states: tuple[str, ...] = ("queued", "publishing")) -> float | None:
        """The ``updated`` time of the longest-waiting dataset in ``states``; None if none."""
        marks = ", ".join("?" for _ in states)
        row = (
            self._conn()
            .execute(f"SELECT MIN(updated) FROM datasets WHERE status IN ({marks})", states)  # noqa: S608
            .fetchone()
        )
        return float(row[0]) if row and row[0] is not None else None


def _row(row: sqlite3.Row | None) -> DatasetRow:
    if row is None:
        raise KeyError("no such dataset in the journal")
    return DatasetRow(**{k: row[k] for k in _COLUMNS})
