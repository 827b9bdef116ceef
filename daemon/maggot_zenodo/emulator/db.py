"""The emulator's persistence: one SQLite file, one row per deposition.

A change writes the one row it touches (plus, for a new deposition, the id counter), so its cost
does not grow with the number of depositions; lookups by id, bucket, concept and owner go
through indexes. A row holds the deposition as JSON plus the columns that queries need. The
caller (:class:`~maggot_zenodo.emulator.store.Store`) serialises access with its lock; the
connection is shared by the server's threads under that lock.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FILE_NAME = "emulator.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS deps (
    id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, conceptrecid INTEGER NOT NULL,
    bucket TEXT NOT NULL, state TEXT NOT NULL, submitted INTEGER NOT NULL,
    deleted INTEGER NOT NULL, modified TEXT NOT NULL, title TEXT NOT NULL, doc TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deps_owner ON deps (owner, deleted, modified);
CREATE INDEX IF NOT EXISTS deps_concept ON deps (conceptrecid, owner, deleted);
CREATE UNIQUE INDEX IF NOT EXISTS deps_bucket ON deps (bucket);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS communities (slug TEXT PRIMARY KEY, curators TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inclusions (
    conceptrecid INTEGER NOT NULL, slug TEXT NOT NULL, record INTEGER NOT NULL,
    status TEXT NOT NULL, PRIMARY KEY (conceptrecid, slug)
);
"""
_SORTS = {
    "newest": "id DESC",
    "oldest": "id ASC",
    "mostrecent": "modified DESC, id DESC",
    "-mostrecent": "modified ASC, id ASC",
    "bestmatch": "modified DESC, id DESC",
}
SORTS = frozenset(_SORTS)


@dataclass(frozen=True)
class Query:
    """A listing: the owner's live depositions, filtered, sorted and paged."""

    owner: int
    sort: str = "mostrecent"
    size: int = 10
    page: int = 1
    ids: tuple[int, ...] = ()  # any of these ids (recid:, doi:)
    concept: int | None = None  # conceptrecid:, conceptdoi:
    phrase: str = ""  # title:"..."
    words: tuple[str, ...] = ()  # free text: every word in the title
    nothing: bool = False  # a query that can match nothing (a doi of another registry)
    created_by: str = ""  # only depositions created at or before this ISO time (index delay)


class Database:
    """Rows of depositions, the id counter, communities and inclusion requests."""

    def __init__(self, root: Path) -> None:
        self.path = root / FILE_NAME
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA cache_size=-65536")  # 64 MiB of pages: lookups stay in memory
        self.conn.execute("PRAGMA mmap_size=268435456")
        self.conn.executescript(_SCHEMA)

    def close(self) -> None:
        self.conn.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes that land together or not at all."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def import_state_json(self, old: Path) -> None:
        """Take over the ``state.json`` of an emulator before 0.2 once, then set it aside."""
        if not old.exists() or self.count():
            return
        raw = json.loads(old.read_text(encoding="utf-8"))
        with self.transaction():
            for dep in raw["depositions"]:
                dep.setdefault("removed", False)
                dep["metadata"].pop("doi", None)  # the DOI is shown from the record now
                self.put(dep)
            self.set_next_id(raw["next_id"])
        old.rename(old.with_name("state.json.imported"))

    # ----- depositions -------------------------------------------------------------------
    def put(self, dep: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO deps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                dep["id"],
                dep["owner"],
                dep["conceptrecid"],
                dep["bucket"],
                dep["state"],
                int(dep["submitted"]),
                int(dep["deleted"]),
                dep["modified"],
                str(dep["metadata"].get("title") or "").lower(),
                json.dumps(dep),
                dep["created"],
            ),
        )

    def _docs(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return [json.loads(row[0]) for row in self.conn.execute(sql, args)]

    def get(self, dep_id: int) -> dict[str, Any] | None:
        found = self._docs("SELECT doc FROM deps WHERE id = ?", (dep_id,))
        return found[0] if found else None

    def by_bucket(self, bucket: str) -> dict[str, Any] | None:
        found = self._docs("SELECT doc FROM deps WHERE bucket = ?", (bucket,))
        return found[0] if found else None

    def concept(self, conceptrecid: int) -> list[dict[str, Any]]:
        """Every version and draft of a concept, oldest first."""
        sql = "SELECT doc FROM deps WHERE conceptrecid = ? ORDER BY id"
        return self._docs(sql, (conceptrecid,))

    def latest_published(self, conceptrecid: int) -> int | None:
        row = self.conn.execute(
            "SELECT max(id) FROM deps WHERE conceptrecid = ? AND submitted = 1 AND deleted = 0",
            (conceptrecid,),
        ).fetchone()
        return None if row[0] is None else int(row[0])

    def all(self) -> list[dict[str, Any]]:
        return self._docs("SELECT doc FROM deps ORDER BY id")

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM deps").fetchone()[0])

    def search(self, q: Query) -> list[dict[str, Any]]:
        where, args = ["owner = ?", "deleted = 0"], list[Any]([q.owner])
        if q.nothing:
            return []
        if q.ids:
            where.append(f"id IN ({', '.join('?' * len(q.ids))})")
            args += q.ids
        if q.concept is not None:
            where.append("conceptrecid = ?")
            args.append(q.concept)
        if q.created_by:
            where.append("created <= ?")
            args.append(q.created_by)
        for text in ([q.phrase] if q.phrase else []) + list(q.words):
            where.append("instr(title, ?) > 0")
            args.append(text.lower())
        # a concept holds a few rows: its index beats the owner's, which only saves the sort
        table = "deps INDEXED BY deps_concept" if q.concept is not None and not q.ids else "deps"
        sql = (
            f"SELECT doc FROM {table} WHERE {' AND '.join(where)} "  # noqa: S608 (fixed fragments)
            f"ORDER BY {_SORTS[q.sort]} LIMIT ? OFFSET ?"
        )
        return self._docs(sql, (*args, q.size, (q.page - 1) * q.size))

    # ----- counter -----------------------------------------------------------------------
    def next_id(self, first: int) -> int:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'next_id'").fetchone()
        return first if row is None else int(row[0])

    def set_next_id(self, value: int) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta VALUES ('next_id', ?)", (str(value),))

    # ----- communities -------------------------------------------------------------------
    def set_community(self, slug: str, curators: list[int] | str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO communities VALUES (?, ?)", (slug, json.dumps(curators))
        )

    def communities(self) -> dict[str, Any]:
        rows = self.conn.execute("SELECT slug, curators FROM communities ORDER BY slug")
        return {slug: json.loads(curators) for slug, curators in rows}

    def inclusion(self, conceptrecid: int, slug: str) -> str | None:
        row = self.conn.execute(
            "SELECT status FROM inclusions WHERE conceptrecid = ? AND slug = ?",
            (conceptrecid, slug),
        ).fetchone()
        return None if row is None else str(row[0])

    def set_inclusion(self, conceptrecid: int, slug: str, record: int, status: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO inclusions VALUES (?, ?, ?, ?)",
            (conceptrecid, slug, record, status),
        )

    def accepted(self, conceptrecid: int) -> list[str]:
        rows = self.conn.execute(
            "SELECT slug FROM inclusions WHERE conceptrecid = ? AND status = 'accepted' "
            "ORDER BY slug",
            (conceptrecid,),
        )
        return [str(r[0]) for r in rows]

    def inclusions(self, slug: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT conceptrecid, slug, record, status FROM inclusions"
        rows = self.conn.execute(
            sql + (" WHERE slug = ?" if slug else "") + " ORDER BY conceptrecid, slug",
            (slug,) if slug else (),
        )
        keys = ("conceptrecid", "slug", "record", "status")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def include(self, conceptrecid: int, record: int, owner: int, slugs: list[str]) -> None:
        """At publish, an inclusion request per known community slug: accepted at once when
        the owner curates the community, else waiting; unknown slugs are ignored (as Zenodo
        swallows a failed inclusion)."""
        known = self.communities()
        for slug in slugs:
            curators = known.get(slug)
            if curators is None or self.inclusion(conceptrecid, slug) == "accepted":
                continue
            curated = curators == "all" or owner in curators
            self.set_inclusion(conceptrecid, slug, record, "accepted" if curated else "submitted")

    def decide(self, slug: str, status: str) -> int:
        with self.transaction():
            waiting = [r for r in self.inclusions(slug) if r["status"] == "submitted"]
            for r in waiting:
                self.set_inclusion(r["conceptrecid"], slug, r["record"], status)
            return len(waiting)

    def clear(self) -> None:
        """Forget depositions and inclusion requests; the communities (configuration) stay."""
        with self.transaction():
            for table in ("deps", "meta", "inclusions"):
                self.conn.execute(f"DELETE FROM {table}")  # noqa: S608 (fixed names)
