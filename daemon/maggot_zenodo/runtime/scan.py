"""What awaits processing: the reconciliation behind ``scan``, ``run --once`` and the daemon."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_OK
from maggot_zenodo.repositories import configured
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile


def relative(folder: Path, root: Path) -> str:
    try:
        return folder.relative_to(root).as_posix() or "."
    except ValueError:
        return str(folder)


def pending_reason(row: Any | None) -> str:
    """Why a dataset whose semaphore is not handled awaits processing, in plain words."""
    if row is None:
        return "new semaphore, never processed"
    status = getattr(row, "status", None)
    if status == "failed":
        return f"last attempt failed: {row.error or 'unknown error'}"
    if status in ("queued", "publishing"):
        return "interrupted before it finished"
    return "semaphore touched since the last publication"


BASELINED_REASON = "baselined: already there at the first start; touch the semaphore to publish"
FIRST_START_REASON = (
    "baselined at the first start (storage.existing: ignore); touch the semaphore to publish"
)
ORPHAN_REASON = (
    "baselined at the first start: its META_zenodo.txt is unknown to the state file "
    "(a lost journal); touch the semaphore to publish"
)


def classify(config: Config, journal: Any | None) -> Iterator[tuple[Path, str, str]]:
    """``(folder, "pending" | "baselined", reason)`` for every semaphore that is not simply
    handled. Before the first start (no journal, or no baseline for the root yet) it says what
    the first start will do."""
    from maggot_zenodo.watch.rules import FolderRule
    from maggot_zenodo.watch.scanner import find_semaphores

    rows: dict[str, Any] = {}
    if journal is not None:
        rows = {row.abs_folder: row for row in journal.rows()}
    st = config.storage
    first_start = journal is None or not journal.storage_known(st.root)
    baselined = journal.baselined() if journal is not None else {}  # one query, not 10 000
    urls = _judged_repositories(config, journal)
    for sem in find_semaphores(st.root, st.semaphore, FolderRule(str(st.root), st.exclude)):
        fingerprint = semaphore_fingerprint(sem)
        if fingerprint is None:
            continue
        folder = sem.parent
        row = rows.get(str(folder.absolute()))
        if first_start and row is None:
            if statusfile.handled_here(folder):
                yield folder, "baselined", ORPHAN_REASON
            elif st.existing == "ignore":
                yield folder, "baselined", FIRST_START_REASON
            else:
                yield folder, "pending", pending_reason(None)
        elif baselined.get(str(folder.absolute())) == fingerprint:
            yield folder, "baselined", BASELINED_REASON
        elif journal is None or journal.is_pending(folder, fingerprint, urls):
            yield folder, "pending", pending_reason(row)


def _judged_repositories(config: Config, journal: Any | None) -> list[str]:
    """The repositories a semaphore must have been handled by: those the daemon registered.
    One configured since the last start is left out when the site ran before: the daemon
    will take what was handled before it came as old (``publish.targets.register``), unless
    ``storage.existing: publish``."""
    urls = list(configured(config).values())
    if journal is None or config.storage.existing == "publish":
        return urls
    known = journal.known_repositories()
    return [u for u in urls if u in known] or urls


def pending_datasets(config: Config, journal: Any | None) -> Iterator[tuple[Path, str]]:
    """Every dataset folder whose semaphore awaits processing, with the reason."""
    for folder, state, reason in classify(config, journal):
        if state == "pending":
            yield folder, reason


def run_scan(config: Config) -> int:
    """``maggot-zenodo scan``: list what awaits processing, then what is baselined; change
    nothing. The summary goes to stderr, so stdout stays one dataset a line."""
    from maggot_zenodo.state.journal import Journal

    journal = Journal(config.state) if config.state.exists() else None
    counts = {"pending": 0, "baselined": 0}
    try:
        found = sorted(classify(config, journal), key=lambda item: item[1] != "pending")
        for folder, state, reason in found:
            counts[state] += 1
            print(f"{relative(folder, config.storage.root)}\t{reason}", flush=True)
        known = len(journal.known_folders()) if journal is not None else 0
    finally:
        if journal is not None:
            journal.close()
    head = f"{counts['pending']} pending" if counts["pending"] else "nothing pending"
    print(f"{head} ({known} datasets known, {counts['baselined']} baselined)", file=sys.stderr)
    return EXIT_OK
