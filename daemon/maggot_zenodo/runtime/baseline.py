"""The baseline at first start (#9 §1): semaphores already in a storage space are not requests.

Maggot never deletes ``META_datafile_ok.txt``, so a site with years of datasets holds hundreds.
The first time the daemon watches a storage root (the journal has no baseline for it), every
semaphore there whose folder the journal does not track is recorded with its fingerprint. It
becomes a request only when created, touched or moved in again (its fingerprint changes, even
while the daemon is stopped), or by ``maggot-zenodo publish DIR``. ``storage.existing:
publish`` keeps 0.1.0's behaviour (every semaphore is a request), except for folders whose
``META_zenodo.txt`` shows they were handled by a journal since lost: a lost journal never
republishes a storage space.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from maggot_zenodo.config import Config
from maggot_zenodo.constants import STATUS_FILE
from maggot_zenodo.logs import get_logger
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state.journal import Journal

log = get_logger("maggot_zenodo.runtime.baseline")


@dataclass(frozen=True)
class BaselineResult:
    """What a first start found: semaphores recorded, and how many folders already had a
    status file the journal knew nothing of (a lost journal)."""

    recorded: int
    orphaned: int
    semaphores: int


def needs_work(journal: Journal, folder: Path, fingerprint: str) -> bool:
    """Whether the semaphore request ``fingerprint`` of ``folder`` awaits processing."""
    return journal.is_pending(folder, fingerprint) and not journal.is_baselined(folder, fingerprint)


def sort_found(
    seen: list[tuple[Path, str]], known: set[str]
) -> tuple[list[tuple[Path, str]], list[Path]]:
    """Of the semaphores ``seen``, those in folders the journal does not track, and those of
    them that hold a status file (handled by a journal since lost)."""
    found = [(f, fp) for f, fp in seen if str(f.absolute()) not in known]
    orphans = [f for f, _ in found if os.path.lexists(os.path.join(f, STATUS_FILE))]
    return found, orphans


def survey(config: Config, known: set[str]) -> tuple[list[tuple[Path, str]], list[Path]]:
    """Walk the storage: ``sort_found`` of every semaphore there."""
    from maggot_zenodo.watch.rules import FolderRule
    from maggot_zenodo.watch.scanner import find_semaphores

    st = config.storage
    seen: list[tuple[Path, str]] = []
    for sem in find_semaphores(st.root, st.semaphore, FolderRule(str(st.root), st.exclude)):
        fingerprint = semaphore_fingerprint(sem)
        if fingerprint is not None:
            seen.append((sem.parent, fingerprint))
    return sort_found(seen, known)


def ensure_baseline(config: Config, journal: Journal) -> BaselineResult | None:
    """Take the baseline of ``config.storage.root`` unless one was taken; None when there was
    nothing to do (already taken, or the root is not there yet: taken when it appears)."""
    root = config.storage.root
    if journal.storage_known(root) or not root.is_dir():
        return None
    found, orphans = survey(config, journal.known_folders())
    return record(config, journal, found, orphans)


def record(
    config: Config, journal: Journal, found: list[tuple[Path, str]], orphans: list[Path]
) -> BaselineResult:
    """Record the baseline of what a first start found (``sort_found``), and say so."""
    root = config.storage.root
    if config.storage.existing == "publish":
        orphan_set = set(orphans)
        recorded = [(f, fp) for f, fp in found if f in orphan_set]
    else:
        recorded = found
    journal.record_baseline(root, recorded)
    result = BaselineResult(len(recorded), len(orphans), len(found))
    if orphans:
        log.warning(
            f"{root}: the state file {journal.path} knows nothing of {len(orphans)} datasets "
            f"that have a {STATUS_FILE}: the journal was lost or deleted. Starting a new "
            f"baseline: {len(recorded)} semaphores already there are not published again "
            "(touch one, or run 'maggot-zenodo publish DIR', to publish it)",
            root=str(root),
            state=str(journal.path),
            baselined=len(recorded),
            orphaned=len(orphans),
        )
    else:
        log.info(
            f"{root}: first start on this storage: {len(recorded)} of {len(found)} semaphores "
            f"already there recorded as a baseline (storage.existing: {config.storage.existing})"
            "; touch one, or run 'maggot-zenodo publish DIR', to publish it",
            root=str(root),
            baselined=len(recorded),
            existing=config.storage.existing,
        )
    return result
