"""The journal's tables about watching (a mixin of ``Journal``): the baseline and the counts.

The first time the daemon watches a storage space, every semaphore already there is recorded
here as a baseline: not a request (#9 §1). A semaphore created, touched or moved in after that
has another fingerprint, so it is one. Kept apart from the workflow's tables, created on first
use, in the same SQLite file and through the same connections.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from contextlib import AbstractContextManager
from pathlib import Path

WATCH_SCHEMA = """
CREATE TABLE IF NOT EXISTS storages (
    root TEXT PRIMARY KEY,
    baselined REAL NOT NULL,         -- when the first start recorded the baseline
    semaphores INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS baseline (
    abs_folder TEXT PRIMARY KEY,
    root TEXT NOT NULL,
    fingerprint TEXT NOT NULL,       -- the semaphore as found; any change is a request
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS repositories (
    url TEXT PRIMARY KEY,            -- a repository (Zenodo, Dataverse) this journal serves
    since REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS repo_baseline (
    url TEXT NOT NULL,               -- a repository configured after these were handled
    abs_folder TEXT NOT NULL,
    fingerprint TEXT NOT NULL,       -- handled elsewhere as it is: not a request for url
    PRIMARY KEY (url, abs_folder)
);
"""


class WatchTables:
    """Methods over the watch tables; ``Journal`` provides the connections."""

    _local: threading.local

    def _conn(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _watch_db(self) -> sqlite3.Connection:
        conn = self._conn()
        if not getattr(self._local, "watch_schema", False):
            conn.executescript(WATCH_SCHEMA)
            self._local.watch_schema = True
        return conn

    def storage_known(self, root: Path) -> bool:
        """True once a baseline was taken for ``root`` (the daemon watched it before)."""
        root_s = str(Path(root).absolute())
        cur = self._watch_db().execute("SELECT 1 FROM storages WHERE root = ?", (root_s,))
        return cur.fetchone() is not None

    def known_folders(self) -> set[str]:
        """The absolute folders the workflow's table has a row for."""
        cur = self._watch_db().execute("SELECT DISTINCT abs_folder FROM datasets")
        return {row[0] for row in cur.fetchall()}

    def record_baseline(self, root: Path, semaphores: list[tuple[Path, str]]) -> None:
        """Remember ``root`` as watched, and each ``(folder, fingerprint)`` already there."""
        now = time.time()
        root_s = str(Path(root).absolute())
        self._watch_db()  # before the transaction: executescript() would commit it
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO storages (root, baselined, semaphores) VALUES (?, ?, ?)",
                (root_s, now, len(semaphores)),
            )
            db.executemany(
                "INSERT OR REPLACE INTO baseline (abs_folder, root, fingerprint, since) "
                "VALUES (?, ?, ?, ?)",
                [(str(Path(f).absolute()), root_s, fp, now) for f, fp in semaphores],
            )

    def is_baselined(self, folder: Path, fingerprint: str) -> bool:
        """True when the semaphore of ``folder`` is, unchanged, one found at the first start."""
        cur = self._watch_db().execute(
            "SELECT 1 FROM baseline WHERE abs_folder = ? AND fingerprint = ? LIMIT 1",
            (str(Path(folder).absolute()), fingerprint),
        )
        return cur.fetchone() is not None

    def baselined(self) -> dict[str, str]:
        """``{absolute folder: fingerprint}`` of every baselined semaphore."""
        cur = self._watch_db().execute("SELECT abs_folder, fingerprint FROM baseline")
        return {row[0]: row[1] for row in cur.fetchall()}

    def add_repository(self, url: str, *, handled_are_old: bool) -> int | None:
        """Remember ``url`` as a repository this site publishes to; None when it already was.

        A repository configured on a site that already ran (``handled_are_old``) must not
        receive every dataset handled before it came (#9's first-start rule, per repository):
        each semaphore some row handled, as it is now, is recorded as not a request for it.
        Returns how many were so recorded (0 when ``url`` has rows of its own: an upgrade)."""
        now = time.time()
        db = self._watch_db()
        if db.execute("SELECT 1 FROM repositories WHERE url = ?", (url,)).fetchone():
            return None
        with self._tx() as tx:
            tx.execute("INSERT OR IGNORE INTO repositories (url, since) VALUES (?, ?)", (url, now))
            own = tx.execute("SELECT 1 FROM datasets WHERE zenodo_url = ? LIMIT 1", (url,))
            if own.fetchone() is not None or not handled_are_old:
                return 0
            cur = tx.execute(
                "INSERT OR IGNORE INTO repo_baseline (url, abs_folder, fingerprint) "
                "SELECT ?, abs_folder, fp FROM (SELECT abs_folder, handled_fingerprint AS fp, "
                "MAX(updated) FROM datasets WHERE handled_fingerprint IS NOT NULL "
                "GROUP BY abs_folder)",
                (url,),
            )
            return int(cur.rowcount)

    def known_repositories(self) -> set[str]:
        """The repositories ``add_repository`` recorded."""
        cur = self._watch_db().execute("SELECT url FROM repositories")
        return {row[0] for row in cur.fetchall()}

    def handled_by(self, folder: Path, fingerprint: str) -> set[str]:
        """The repositories for which the semaphore ``fingerprint`` of ``folder`` needs
        nothing more: handled by their row, or older than the repository (``add_repository``)."""
        cur = self._watch_db().execute(
            "SELECT zenodo_url FROM datasets WHERE abs_folder = ?1 AND handled_fingerprint = ?2 "
            "UNION SELECT url FROM repo_baseline WHERE abs_folder = ?1 AND fingerprint = ?2",
            (str(Path(folder).absolute()), fingerprint),
        )
        return {row[0] for row in cur.fetchall()}

    def dataset_counts(self) -> dict[str, int]:
        """Datasets by state, one per folder (its latest row): ``queued``, ``publishing``,
        ``draft``, ``published``, ``failed``, and ``baselined`` (baselined semaphores whose
        folder has no row)."""
        db = self._watch_db()
        cur = db.execute(
            "SELECT status, COUNT(*) FROM (SELECT abs_folder, status, MAX(updated) "
            "FROM datasets GROUP BY abs_folder) GROUP BY status"
        )
        counts = {row[0]: int(row[1]) for row in cur.fetchall()}
        row = db.execute(
            "SELECT COUNT(*) FROM baseline WHERE abs_folder NOT IN "
            "(SELECT abs_folder FROM datasets)"
        ).fetchone()
        counts["baselined"] = int(row[0])
        return counts
