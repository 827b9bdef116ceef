"""A dataset folder moved or renamed inside the storage keeps its deposition.

The folder's own ``META_zenodo.txt`` names a deposition the journal knows for another folder:
when that folder no longer holds a ``META_*.json`` (moved away), the journal row moves here.
When it still does, this folder is a copy, starting a new dataset: nothing is adopted. A
deposition the journal does not know (journal lost) is never adopted from a status file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from maggot_zenodo.constants import METADATA_PREFIX, METADATA_SUFFIX
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow, Journal


def holds_dataset(folder: Path) -> bool:
    """Does ``folder`` (still) hold a Maggot metadata file?"""
    try:
        with os.scandir(folder) as entries:
            return any(
                e.name.startswith(METADATA_PREFIX) and e.name.endswith(METADATA_SUFFIX)
                for e in entries
            )
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume it does (never share a deposition by mistake)


def follow_move(journal: Journal, row: DatasetRow, folder: Path, log: Any) -> DatasetRow:
    """``row`` (a dataset with no deposition yet) or, when ``folder`` is a moved dataset,
    the row of its old folder now keyed by ``folder``."""
    previous = statusfile.read(folder)
    dep_id = previous.get("deposition_id") if previous else None
    if not isinstance(dep_id, int) or isinstance(dep_id, bool):
        return row
    candidates = [
        r for r in journal.with_deposition(row.zenodo_url, row.account, dep_id) if r.id != row.id
    ]
    if len(candidates) != 1:
        return row
    [old] = candidates
    if holds_dataset(Path(old.abs_folder)):
        log.info(
            f"{row.folder}: copied status file names deposition {dep_id} of {old.folder}; "
            "not adopting it",
            deposition_id=dep_id,
            other=old.folder,
        )
        return row
    moved = journal.rekey(old.id, row.id)
    journal.step(moved.id, "moved", "result", {"from": old.folder, "id": dep_id})
    log.info(
        f"{row.folder}: dataset folder moved from {old.folder}; keeping deposition {dep_id}",
        deposition_id=dep_id,
        moved_from=old.folder,
    )
    return moved
