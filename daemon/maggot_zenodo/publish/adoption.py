"""Adopt what Maggot's own web publisher made, instead of creating a second deposition.

Maggot's "Publish into Zenodo" page refuses to create a deposition when one with the same
title exists in the account. So before creating one for a dataset the journal does not know,
the account is searched for depositions whose title equals the converted title and whose
creators match, and that no other dataset of the journal owns (nor any version of it).
Exactly one → adopted (a draft is updated, a published record gets a new version, as for any
known deposition). Several → the dataset fails listing them, and ``maggot-zenodo adopt``
settles it. Config ``zenodo.adopt: never`` turns this off.

Adoption comes after the create-marker search (an unanswered create of ours wins) and is
recorded in the journal before any other request, like a create.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maggot_zenodo.publish.explain import Failure
from maggot_zenodo.publish.moves import matches, same_metadata
from maggot_zenodo.publish.prepare import metadata_hash
from maggot_zenodo.publish.session import Session
from maggot_zenodo.zenodo.entities import Deposition


def _owned_elsewhere(s: Session) -> tuple[set[int], set[str]]:
    """Deposition ids and concept DOIs other datasets of this account already own."""
    ids: set[int] = set()
    concepts: set[str] = set()
    for r in s.journal.rows():
        if (r.zenodo_url, r.account) != (s.row.zenodo_url, s.row.account) or r.id == s.row.id:
            continue
        if r.deposition_id is not None:
            ids.add(r.deposition_id)
        if r.concept_doi:
            concepts.add(r.concept_doi)
    return ids, concepts


def candidates(s: Session, metadata: Mapping[str, Any]) -> list[Deposition]:
    """This dataset's depositions in the account, one per record (its newest version)."""
    title = str(metadata.get("title") or "").strip()
    if not title:
        return []
    ids, concepts = _owned_elsewhere(s)
    found = [d for d in s.repo.find_titled(title) if matches(d, metadata)]
    taken = {d.concept_id for d in found if d.id in ids or (d.concept_doi in concepts)}
    newest: dict[str, Deposition] = {}
    for d in found:
        if d.id in ids or (d.concept_doi and d.concept_doi in concepts) or d.concept_id in taken:
            continue
        key = d.concept_id or f"id:{d.id}"
        if key not in newest or d.id > newest[key].id:
            newest[key] = d
    return sorted(newest.values(), key=lambda d: d.id)


def ambiguous(found: list[Deposition], folder: str) -> Failure:
    listed = "; ".join(f"{d.id} ({d.html or 'no link'})" for d in found)
    return Failure(
        f"Zenodo already holds {len(found)} depositions with this dataset's title and "
        f"creators: {listed}. maggot-zenodo does not guess which one is this dataset's.",
        "Ask the site administrator to choose one: maggot-zenodo adopt "
        f"{folder} DEPOSITION_ID; then touch the semaphore file again.",
    )


def adopt_by_title(s: Session, metadata: Mapping[str, Any]) -> Deposition | None:
    """The one deposition of this dataset the account already holds, adopted; None if none."""
    found = candidates(s, metadata)
    if not found:
        return None
    if len(found) > 1:
        raise ambiguous(found, s.row.abs_folder)
    [dep] = found
    s.record(dep, None)
    if same_metadata(dep, metadata):  # nothing to update: a published record stays as it is
        s.update(metadata_hash=metadata_hash(metadata))
    s.step("adopt", "result", {"id": dep.id, "by": "title"})
    s.log.info(
        f"{s.row.folder}: adopted deposition {dep.id} with the same title and creators "
        "(made before, e.g. by Maggot's Publish page)",
        deposition_id=dep.id,
        status="publishing",
    )
    return s.repo.get(dep.id)


def adopt_chosen(s: Session, metadata: Mapping[str, Any], deposition_id: int) -> Deposition:
    """``maggot-zenodo adopt``: tie this dataset to ``deposition_id``, when it is verifiably
    a deposition of this dataset (this account, same title and creators, nobody else's)."""
    ids, concepts = _owned_elsewhere(s)
    dep = s.repo.get(deposition_id)
    if dep.id in ids or (dep.concept_doi and dep.concept_doi in concepts):
        raise Failure(
            f"Deposition {deposition_id} belongs to another dataset of this journal.",
            "Choose a deposition no other dataset owns (maggot-zenodo status lists them).",
        )
    if not matches(dep, metadata):
        raise Failure(
            f"Deposition {deposition_id} has another title or other creators than this "
            "dataset; it is not adopted.",
            "Choose the deposition whose title and creators are the dataset's.",
        )
    s.record(dep, None)
    s.step("adopt", "result", {"id": dep.id, "by": "command"})
    s.log.info(
        f"{s.row.folder}: tied to deposition {dep.id} by maggot-zenodo adopt",
        deposition_id=dep.id,
    )
    return dep
