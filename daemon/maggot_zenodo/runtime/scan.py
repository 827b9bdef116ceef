"""What awaits processing: the reconciliation behind ``scan``, ``run --once`` and the daemon."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_OK
from maggot_zenodo.semaphore import semaphore_fingerprint


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


def pending_datasets(config: Config, journal: Any | None) -> Iterator[tuple[Path, str]]:
    """Every dataset folder whose semaphore awaits processing, with the reason."""
    from maggot_zenodo.watch.rules import FolderRule
    from maggot_zenodo.watch.scanner import find_semaphores

    rows: dict[str, Any] = {}
    if journal is not None:
        rows = {row.abs_folder: row for row in journal.rows()}
    st = config.storage
    rule = FolderRule(str(st.root), st.exclude)
    for sem in find_semaphores(st.root, st.semaphore, rule):
        fingerprint = semaphore_fingerprint(sem)
        if fingerprint is None:
            continue
        folder = sem.parent
        if journal is None or journal.is_pending(folder, fingerprint):
            yield folder, pending_reason(rows.get(str(folder.absolute())))


def run_scan(config: Config) -> int:
    """``maggot-zenodo scan``: list what awaits processing; change nothing."""
    from maggot_zenodo.state.journal import Journal

    journal = Journal(config.state) if config.state.exists() else None
    try:
        for folder, reason in pending_datasets(config, journal):
            print(f"{relative(folder, config.storage.root)}\t{reason}", flush=True)
    finally:
        if journal is not None:
            journal.close()
    return EXIT_OK
