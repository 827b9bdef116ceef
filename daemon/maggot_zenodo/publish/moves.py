"""A dataset folder moved or renamed keeps its deposition; a lost journal is recovered.

The folder's own ``META_zenodo.txt`` names a deposition (its ``deposition_id`` is written as
soon as it is known). That file is only a claim: anyone who can write the folder can write
it. The claim is verified against what a researcher cannot forge: the deposition must be in
the account of this dataset's token, owned by no other live dataset of the journal, and hold
this dataset's converted title and creators. Then, when the journal knows the deposition for
a folder that no longer holds a ``META_*.json`` (moved away), that row moves here; when the
journal does not know it at all (journal lost), it is adopted instead of publishing again.
A folder copied next to its original is a new dataset: nothing is adopted.

A folder renamed before its status file named the deposition (a ``kill -9`` just after the
create, or a create whose answer was lost) claims nothing; the journal alone then knows:
exactly one vanished row whose deposition (or unanswered create) carries this dataset's title
(and creators) moves here, so the rename never makes a second deposition.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from maggot_zenodo.constants import METADATA_PREFIX, METADATA_SUFFIX
from maggot_zenodo.publish import markers
from maggot_zenodo.publish.explain import Failure
from maggot_zenodo.publish.prepare import metadata_hash
from maggot_zenodo.publish.repository import Denied, Gone
from maggot_zenodo.publish.session import Session
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow
from maggot_zenodo.zenodo.entities import Deposition


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


def claimed_deposition(folder: Path) -> int | None:
    """The deposition id the folder's own status file names (anyone can write it: a claim)."""
    previous = statusfile.read(folder)
    dep_id = previous.get("deposition_id") if previous else None
    if not isinstance(dep_id, int) or isinstance(dep_id, bool):
        return None
    return dep_id


def _names(creators: Any) -> list[str]:
    if not isinstance(creators, list):
        return []
    return sorted(str(c.get("name", "")) for c in creators if isinstance(c, dict))


def matches(dep: Deposition, metadata: Mapping[str, Any]) -> bool:
    """Is ``dep`` this dataset's record: the same title and the same creators?"""
    title = str(dep.metadata.get("title") or dep.title or "").strip()
    return (
        bool(title)
        and title == str(metadata.get("title") or "").strip()
        and _names(dep.metadata.get("creators")) == _names(metadata.get("creators"))
    )


def matches_or_marked(dep: Deposition, metadata: Mapping[str, Any]) -> bool:
    """:func:`matches`, or ``dep`` still holds the title our create gave it (this dataset's
    title and a create marker): the metadata update after the create never happened."""
    marker = markers.marker_of(dep)
    if marker is None:
        return matches(dep, metadata)
    uid = marker.removeprefix(markers.MARKER_PREFIX)
    title = str(dep.metadata.get("title") or dep.title or "")
    return title == markers.marker_title(str(metadata.get("title") or ""), uid)


def same_metadata(dep: Deposition, metadata: Mapping[str, Any]) -> bool:
    """Does ``dep`` already hold this metadata (every key we send, but the day's date)?"""
    return all(dep.metadata.get(k) == v for k, v in metadata.items() if k != "publication_date")


def recognise(s: Session, metadata: Mapping[str, Any], claimed: int | None) -> None:
    """Take over the deposition the status file claims, if it is verifiably this dataset's.

    Trusted only when the deposition is in this token's account (the GET succeeds), owned by
    no other live dataset of the journal, and holds this dataset's title and creators. A row
    of a folder that moved away is rekeyed here; a deposition the journal lost is adopted."""
    if s.row.deposition_id is not None:
        return
    if claimed is None or not _claim(s, metadata, claimed):
        follow_vanished(s, metadata)


def _claim(s: Session, metadata: Mapping[str, Any], claimed: int) -> bool:
    """Take over the claimed deposition if verified (see :func:`recognise`); done or not."""
    others = [
        r for r in s.journal.with_deposition(s.row.zenodo_url, s.row.account, claimed)
        if r.id != s.row.id
    ]  # fmt: skip
    if len(others) > 1 or (others and holds_dataset(Path(others[0].abs_folder))):
        s.log.info(
            f"{s.row.folder}: status file names deposition {claimed} of another dataset; "
            "not adopting it",
            deposition_id=claimed,
        )
        return False
    try:
        dep = s.repo.get(claimed)
    except (Gone, Denied, Failure):
        return False  # not there, or not in this account: nothing to take over
    if not matches_or_marked(dep, metadata):
        s.log.warning(
            f"{s.row.folder}: status file names deposition {claimed}, whose title or creators "
            "differ from the dataset's; not adopting it",
            deposition_id=claimed,
        )
        return False
    if others:
        _moved(s, others[0], claimed)
        return True
    s.record(dep, None)
    if same_metadata(dep, metadata):
        s.update(metadata_hash=metadata_hash(metadata))
    s.step("recovered", "result", {"id": claimed})
    s.log.warning(
        f"{s.row.folder}: the journal did not know deposition {claimed}; verified and adopted "
        "(journal lost or replaced?)",
        deposition_id=claimed,
    )
    return True


def follow_vanished(s: Session, metadata: Mapping[str, Any]) -> None:
    """A row the status file never named: rekey exactly one vanished row of this dataset here.

    A vanished row (its folder holds no ``META_*.json`` now) qualifies when its deposition
    holds this dataset's title and creators, or, for a create whose answer was lost, when the
    deposition carrying its marker (a uuid only the journal knows) has this dataset's title."""
    if s.journal.open_markers(s.row.id):
        return  # this row's own unanswered create comes first
    found: list[tuple[DatasetRow, int | None]] = []
    for row in s.journal.rows():
        if (row.zenodo_url, row.account) != (s.row.zenodo_url, s.row.account):
            continue
        if row.id == s.row.id:
            continue
        if row.deposition_id is None and not s.journal.open_markers(row.id):
            continue
        if holds_dataset(Path(row.abs_folder)) or not _is_this_dataset(s, row, metadata):
            continue
        found.append((row, row.deposition_id))
    if len(found) == 1:
        _moved(s, *found[0])
    elif found:
        s.log.warning(
            f"{s.row.folder}: {len(found)} vanished folders held this dataset; adopting none",
            moved_from=",".join(row.folder for row, _ in found),
        )


def _is_this_dataset(s: Session, row: DatasetRow, metadata: Mapping[str, Any]) -> bool:
    if row.deposition_id is not None:
        try:
            return matches_or_marked(s.repo.get(row.deposition_id), metadata)
        except (Gone, Denied):
            return False
        except Failure as f:
            if f.retryable:
                raise  # unsure now: try again later rather than create a second deposition
            return False
    marks = dict(s.journal.open_markers(row.id))
    return any(matches_or_marked(dep, metadata) for dep in markers.carrying(s, marks))


def _moved(s: Session, old: DatasetRow, dep_id: int | None) -> None:
    s.row = s.journal.rekey(old.id, s.row.id)
    s.step("moved", "result", {"from": old.folder, "id": dep_id})
    kept = f"deposition {dep_id}" if dep_id is not None else "its unanswered create"
    s.log.info(
        f"{s.row.folder}: dataset folder moved from {old.folder}; keeping {kept}",
        deposition_id=dep_id,
        moved_from=old.folder,
    )
    s.known()
