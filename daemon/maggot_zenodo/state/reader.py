"""The journal opened for reading only, by ``status`` and ``status --check``.

A sysadmin in the service's group may read the state files but not write them (the unit's
``UMask=0027``). SQLite then reads a WAL database through its existing ``-shm`` file while the
daemon runs; when the daemon is stopped and no ``-shm`` exists (it cannot be created in a
folder the reader may not write), the file is read as immutable: nobody writes it then, and a
rare race with a daemon starting ends in an error message, never in a write.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from dataclasses import fields
from pathlib import Path

from maggot_zenodo.state.journal import DatasetRow

_COLUMNS = [f.name for f in fields(DatasetRow)]
# The columns in DatasetRow's order, so that each row is built from a plain tuple (10 000 rows
# for ``status``: a third of the time of building each from a sqlite3.Row by name).
_ROWS = f"SELECT {', '.join(_COLUMNS)} FROM datasets ORDER BY folder, zenodo_url, account"  # noqa: S608


def _connect(path: Path, immutable: bool) -> sqlite3.Connection:
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    uri = f"file:{urllib.parse.quote(str(path.absolute()))}?{query}"
    conn = sqlite3.connect(uri, uri=True, timeout=10.0)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=10000")
    conn.execute("SELECT COUNT(*) FROM datasets").fetchone()  # fail here, not later
    return conn


class JournalReader:
    """Rows, counts by state and the oldest pending dataset, read without writing anything."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self._db = _connect(self.path, immutable=False)
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc) and "unable to open" not in str(exc):
                raise
            self._db = _connect(self.path, immutable=True)

    def rows(self) -> list[DatasetRow]:
        """Every dataset, by folder (as ``Journal.rows``)."""
        cur = self._db.cursor()
        cur.row_factory = None
        return [DatasetRow(*r) for r in cur.execute(_ROWS)]

    def counts_by_state(self) -> dict[str, int]:
        cur = self._db.execute("SELECT status, COUNT(*) FROM datasets GROUP BY status")
        return {str(r[0]): int(r[1]) for r in cur.fetchall()}

    def oldest_pending(self, states: tuple[str, ...] = ("queued", "publishing")) -> float | None:
        marks = ", ".join("?" for _ in states)
        sql = f"SELECT MIN(updated) FROM datasets WHERE status IN ({marks})"  # noqa: S608
        row = self._db.execute(sql, states).fetchone()
        return float(row[0]) if row and row[0] is not None else None

    def close(self) -> None:
        self._db.close()
