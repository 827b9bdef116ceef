"""Create markers and adoption: how a lost create answer never makes a second deposition.

Creating a deposition is the one request no repository makes idempotent. So each create
carries a unique marker, recorded in the journal *before* the request and put into the new
deposition (its title and notes). The created (or adopted) deposition's id is recorded in the
same journal transaction that resolves the marker, before any other request. When the answer
is lost (a 502 after commit, a crash, a ``kill -9``), the next attempt searches the account and
adopts the deposition holding the oldest open marker, deleting the drafts of younger ones. The
marker disappears at the metadata update that follows (it replaces all metadata).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Mapping
from typing import Any

from maggot_zenodo.publish.explain import Failure
from maggot_zenodo.publish.repository import Unconfirmed
from maggot_zenodo.publish.session import Session
from maggot_zenodo.zenodo.entities import Deposition

MARKER_PREFIX = "maggot-zenodo create marker "
#: An open marker whose deposition was never found is ruled out after this long.
MARKER_FORGET_AFTER = 24 * 3600.0
CREATE_ATTEMPTS = 3
#: Markers searched by title, newest first, before falling back to the newest depositions.
TITLE_SEARCHES = 3

_TITLE_MARKER = re.compile(r"\[maggot-zenodo ([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})\]")

Hit = tuple[str, Deposition]


def marker_title(title: str, uid: str) -> str:
    """The title a new deposition carries until the metadata update: the dataset's real title
    (recognisable to a researcher if that update fails) with the marker's uuid (searchable)."""
    tag = f"[maggot-zenodo {uid}]"
    return f"{title.strip()} {tag}" if title.strip() else tag


def marker_of(dep: Deposition) -> str | None:
    """The create marker a deposition carries (in its notes or its title), if any."""
    title = str(dep.metadata.get("title") or dep.title or "")
    text = f"{dep.metadata.get('notes') or ''}\n{title}"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(MARKER_PREFIX):
            return line
    m = _TITLE_MARKER.search(title)
    return f"{MARKER_PREFIX}{m.group(1)}" if m else None


def _candidates(s: Session, markers: Mapping[str, float]) -> list[Deposition]:
    """Depositions that may carry one of ``markers``: found by title, else the newest."""
    found: list[Deposition] = []
    for marker in sorted(markers, key=markers.__getitem__, reverse=True)[:TITLE_SEARCHES]:
        found += s.repo.find_titled(marker.removeprefix(MARKER_PREFIX))
    if any(marker_of(d) in markers for d in found):
        return found
    return s.repo.recent(min(markers.values()) - 300)


def carrying(s: Session, markers: Mapping[str, float]) -> list[Deposition]:
    """The depositions in the account that carry one of ``markers`` (unanswered creates)."""
    return [d for d in _candidates(s, markers) if marker_of(d) in markers] if markers else []


def search(s: Session) -> tuple[str, Deposition, list[Hit]] | None:
    """The deposition an unanswered create made (oldest marker first), with the duplicates
    other unanswered creates made; None if not listed. Resolves nothing found."""
    markers = dict(s.journal.open_markers(s.row.id))
    if not markers:
        return None
    unique = {d.id: d for d in _candidates(s, markers)}.values()
    hits = [(marker, d) for d in unique if (marker := marker_of(d)) in markers]
    if not hits:
        now = time.time()
        for marker, since in markers.items():
            if now - since > MARKER_FORGET_AFTER:
                s.journal.resolve_marker(marker)
        return None
    hits.sort(key=lambda h: markers[h[0]])
    marker, chosen = hits[0]
    return marker, chosen, hits[1:]


def adopt(s: Session, marker: str, found: Deposition, others: list[Hit]) -> Deposition:
    # recorded (and the marker resolved) before the GET: an outage now loses nothing
    s.record(found, marker)
    s.step("create", "result", {"marker": marker, "id": found.id, "adopted": True})
    dep = s.repo.get(found.id)
    s.log.info(
        f"{s.row.folder}: adopted deposition {dep.id} of an unanswered create",
        deposition_id=dep.id,
        status="publishing",
    )
    for other_marker, orphan in others:
        delete_orphan(s, orphan)
        s.journal.resolve_marker(other_marker)
    return dep


def cleanup(s: Session) -> None:
    """Delete drafts of earlier unanswered creates that show up only now."""
    markers = dict(s.journal.open_markers(s.row.id))
    if not markers:
        return
    current = s.refresh().deposition_id
    for d in _candidates(s, markers):
        marker = marker_of(d)
        if marker is not None and marker in markers and d.id != current:
            delete_orphan(s, d)
            s.journal.resolve_marker(marker)


def delete_orphan(s: Session, dep: Deposition) -> None:
    if dep.submitted or dep.state != "unsubmitted":
        return
    s.step("delete-orphan", "intent", {"id": dep.id})
    s.repo.delete_draft(dep)
    s.step("delete-orphan", "result", {"id": dep.id})
    s.log.warning(f"{s.row.folder}: deleted duplicate draft {dep.id}", deposition_id=dep.id)


def adopt_unanswered(s: Session) -> Deposition | None:
    """The deposition an earlier unanswered create made, when it shows up (adopted)."""
    found = search(s)
    return adopt(s, *found) if found else None


def create(s: Session, metadata: Mapping[str, Any]) -> Deposition:
    """A new deposition, marked; when the answer is lost, the one it made: exactly one."""
    for _attempt in range(CREATE_ATTEMPTS):
        s.checkpoint()
        uid = str(uuid.uuid4())
        marker = f"{MARKER_PREFIX}{uid}"
        s.journal.add_marker(s.row.id, marker)
        s.step("create", "intent", {"marker": marker})
        try:
            dep = s.repo.create(marker_title(str(metadata.get("title") or ""), uid), marker)
        except Unconfirmed:
            s.step("create", "error", {"marker": marker, "maybe_committed": True})
            found = search(s)
            if found:
                return adopt(s, *found)
            continue  # it did not reach the server (or is not listed yet: cleaned up later)
        except Failure:
            s.journal.resolve_marker(marker)  # refused: surely not created
            raise
        # the id and the marker's end go to the journal together, before any other request
        s.record(dep, marker)
        s.step("create", "result", {"marker": marker, "id": dep.id})
        s.log.info(
            f"{s.row.folder}: created deposition {dep.id}",
            deposition_id=dep.id,
            status="publishing",
        )
        # a create's answer may lack what only the deposition's own GET shows (Zenodo's bucket)
        return s.repo.get(dep.id) if dep.bucket is None else dep
    raise Failure(
        f"{s.repo.label} did not confirm the creation of the deposition.",
        "Nothing to do: it will be tried again automatically.",
        retryable=True,
    )
