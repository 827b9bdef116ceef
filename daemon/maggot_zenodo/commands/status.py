"""``maggot-zenodo status``: what the journal knows, a dataset a row, and counts by state.

The table shows each error whole: wrapped to the terminal's width under its column, or on
one line with ``--wide`` (for grep). ``--json`` prints ``{"summary": {...}, "datasets": [...]}``.
``--check`` (a Nagios plugin) lives in :mod:`maggot_zenodo.commands.status_check`.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from maggot_zenodo.config import ACCESS_HINT, Config
from maggot_zenodo.constants import EXIT_OK, EXIT_USAGE
from maggot_zenodo.errors import UserError
from maggot_zenodo.repositories import name_of
from maggot_zenodo.state.journal import DatasetRow
from maggot_zenodo.state.reader import JournalReader
from maggot_zenodo.state.summary import Summary, summarize

_COLUMNS = ("folder", "status", "deposition_id", "deposit_url", "doi", "files", "updated", "error")
# Columns before the error keep the old cap; only the error, last, is shown whole.
_MAX_CELL = 60
# Below this many columns left for the error, it goes on lines of its own under the row.
_MIN_ERROR_WIDTH = 30


class StateAccessDenied(UserError):
    """The state database exists but this user may not read it (not root, not in the group)."""

    def __init__(self, state: Path) -> None:
        super().__init__(f"{state}: permission denied", ACCESS_HINT)
        self.state = state

    def __str__(self) -> str:
        return f"{self.message}: {self.hint}"


class StateUnreadable(UserError):
    """The state file is there and readable, but SQLite cannot read it as a journal."""

    def __init__(self, state: Path, reason: str) -> None:
        super().__init__(
            f"{state}: cannot be read as the journal ({reason})",
            "point 'state:' in the configuration at the daemon's journal",
        )

    def __str__(self) -> str:
        return f"{self.message}. Fix: {self.hint}"


@dataclass(frozen=True)
class Snapshot:
    """The journal's rows and their summary, read in one go."""

    rows: tuple[DatasetRow, ...]
    summary: Summary


def read_state(state: Path) -> Snapshot:
    """Rows and summary of the journal at ``state``; empty when there is no journal yet.

    Read only (:class:`JournalReader`): a member of the service's group may run it. Raises
    StateAccessDenied when the file or its folder may not be read by this user.
    """
    try:
        exists = Path(state).exists()
    except PermissionError:
        raise StateAccessDenied(state) from None
    if not exists:
        return Snapshot((), Summary())
    if not os.access(state, os.R_OK) or not os.access(Path(state).parent, os.X_OK):
        raise StateAccessDenied(state)
    try:
        journal = JournalReader(state)
        try:
            return Snapshot(tuple(journal.rows()), summarize(journal))
        finally:
            journal.close()
    except sqlite3.DatabaseError as exc:
        if not os.access(state, os.R_OK):
            raise StateAccessDenied(state) from None
        raise StateUnreadable(state, str(exc)) from None


def status_rows(
    rows: tuple[DatasetRow, ...] | list[DatasetRow], config: Config | None = None
) -> list[dict[str, Any]]:
    """One dict per dataset and repository, as `status --json` prints them. ``repository``
    names it (``zenodo``, ``dataverse``); ``zenodo_url`` is its base URL, by its 0.1.0 name."""
    return [
        {
            "folder": r.folder,
            "repository": name_of(config, r.zenodo_url) if config else "zenodo",
            "zenodo_url": r.zenodo_url,
            "account": r.account,
            "status": r.status,
            "deposition_id": r.deposition_id,
            "deposit_url": r.deposit_url,
            "doi": r.doi,
            "concept_doi": r.concept_doi,
            "files": len(r.file_list),
            "updated": _iso_utc(r.updated),
            "error": r.error,
        }
        for r in rows
    ]


def _iso_utc(timestamp: float) -> str:
    """``2026-12-04T18:00:00+00:00``, to the second (what ``datetime.isoformat`` gives, at a
    fraction of its cost for 10 000 rows)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(timestamp))


def status(
    config: Config,
    as_json: bool = False,
    *,
    wide: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Print what the journal knows: a table (or JSON) and the counts by state."""
    out = out or sys.stdout
    try:
        snap = read_state(config.state)
    except UserError as exc:
        print(f"maggot-zenodo: {exc}", file=err or sys.stderr)
        return EXIT_USAGE
    rows = status_rows(snap.rows, config)
    if as_json:
        json.dump(
            {"summary": snap.summary.as_dict(), "datasets": rows}, out, indent=2, ensure_ascii=False
        )
        out.write("\n")
        return EXIT_OK
    if not rows:
        print(f"no dataset in the journal yet ({config.state})", file=out)
        return EXIT_OK
    width = None if wide else shutil.get_terminal_size(fallback=(100, 24)).columns
    repositories = len({r["repository"] for r in rows}) > 1
    out.write("\n".join(render_table(rows, width, repositories=repositories)) + "\n")
    print(snap.summary.text(), file=out)
    return EXIT_OK


def render_table(
    rows: list[dict[str, Any]], width: int | None, *, repositories: bool = False
) -> list[str]:
    """The table's lines. Every column but the error is cut at 60 characters; the error is
    whole: on one line when ``width`` is None, else wrapped within ``width`` columns (a word
    longer than that, such as a path, stays whole so that it can be copied). A site with two
    repositories gets a REPOSITORY column after the folder (a row per repository)."""
    names = (_COLUMNS[0], "repository", *_COLUMNS[1:]) if repositories else _COLUMNS
    # One comprehension, no call per cell: 80 000 cells for 10 000 datasets.
    table = [
        ["-" if (v := row[c]) is None else " ".join(str(v).split()) for c in names] for row in rows
    ]
    columns = list(zip(*table, strict=True)) or [()] * len(names)
    widths = [max(len(c), *map(len, col)) for c, col in zip(names, columns, strict=True)]
    widths = [min(w, _MAX_CELL) for w in widths[:-1]]
    indent = sum(w + 2 for w in widths)
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(names, widths, strict=False))]
    lines[0] += "  " + names[-1].upper()
    for t in table:
        head = "  ".join(v[:w].ljust(w) for v, w in zip(t, widths, strict=False)) + "  "
        error = t[-1]
        if width is None or len(head) + len(error) <= width or error == "-":  # "-": no error
            lines.append((head + error).rstrip())
        elif len(error) <= width - indent:  # fits under its column: no wrapping to do
            lines.append(head + error)
        elif width - indent >= _MIN_ERROR_WIDTH:
            parts = textwrap.wrap(
                error, width - indent, break_long_words=False, break_on_hyphens=False
            )
            lines.append(head + parts[0])
            lines.extend(" " * indent + part for part in parts[1:])
        else:  # a narrow terminal: the error on lines of its own, indented
            lines.append(head.rstrip())
            lines.extend(
                textwrap.wrap(
                    error,
                    max(_MIN_ERROR_WIDTH, width),
                    initial_indent="    ",
                    subsequent_indent="    ",
                    break_long_words=False,
                    break_on_hyphens=False,
                )
            )
    return lines
