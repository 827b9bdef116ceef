"""The remote half of a publication: bring a repository's deposition in line with a Plan.

Each request is journaled before (intent) and after (result), through the :class:`Session`.
Decisions worth knowing:

- A deposition that is ``inprogress`` (a published record someone is editing on zenodo.org)
  is left alone: the dataset fails with a message asking to finish or discard that edit.
- A published deposition is only versioned when something changed (metadata or files).
- Without the semaphore only the metadata file goes, and data files uploaded earlier are
  kept (an absent semaphore is no request to delete data).
- Only files this tool uploaded are ever deleted; files others added are not ours.
- When Zenodo keeps failing to delete a file of a new-version draft (its own passing fault),
  the draft is discarded and the version started again, at most :data:`DRAFT_ROUNDS` times
  per attempt. The discard is journaled (intent, then result) and the row points back at the
  published version before the next new version, so a crash in between stays exactly-once:
  the next attempt finishes the discard first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from maggot_zenodo.publish import adoption, markers
from maggot_zenodo.publish.explain import Failure, transient_failure
from maggot_zenodo.publish.prepare import Plan, metadata_hash
from maggot_zenodo.publish.repository import Denied, Gone, Undeletable
from maggot_zenodo.publish.session import Session
from maggot_zenodo.publish.uploads import (
    Progress,
    ProgressFactory,
    digest_ahead,
    remote_files,
    upload_missing,
)
from maggot_zenodo.zenodo.entities import Deposition

__all__ = ["Progress", "ProgressFactory", "deposit", "remote_files"]


#: How many new-version drafts one attempt may discard because Zenodo could not delete a file.
DRAFT_ROUNDS = 3


def deposit(
    plan: Plan,
    s: Session,
    *,
    publish: bool,
    adopt: bool = True,
    progress: ProgressFactory | None = None,
    concurrency: int = 1,
) -> Deposition:
    """Create, adopt, version, update, upload and publish as needed; exactly once.
    ``adopt``: look for this dataset's deposition by title before creating one;
    ``concurrency``: how many files upload at once."""
    for rounds_left in range(DRAFT_ROUNDS, -1, -1):
        _finish_discard(s)
        dep = _deposition(s, plan, adopt)
        if dep.state != "unsubmitted":
            break
        try:
            dep = _sync(s, dep, plan, publish, progress, concurrency)
            break
        except Undeletable as exc:
            origin = _version_origin(s, dep.id)
            if origin is None or rounds_left == 0:
                raise transient_failure(str(exc)) from None
            _discard(s, dep, origin, str(exc))
    markers.cleanup(s)
    return dep


def _sync(
    s: Session,
    dep: Deposition,
    plan: Plan,
    publish: bool,
    progress: ProgressFactory | None,
    concurrency: int,
) -> Deposition:
    """Bring a draft in line with the plan, then publish it when asked."""
    _put_metadata(s, dep, plan.metadata)
    upload_missing(s, dep, plan, progress, concurrency)
    if plan.with_files:
        _delete_undeclared(s, dep, plan)
    return _publish(s, dep) if publish else dep


def _details(s: Session, name: str) -> list[tuple[str, dict[str, Any]]]:
    """The journaled ``name`` steps of this dataset, newest first: (phase, detail)."""
    out = []
    for step, phase, detail in reversed(s.journal.steps(s.row.id)):
        if step != name:
            continue
        try:
            info = json.loads(detail or "{}")
        except ValueError:
            info = None
        out.append((phase, info if isinstance(info, dict) else {}))
    return out


def _version_origin(s: Session, draft_id: int) -> int | None:
    """The published deposition the journal says ``draft_id`` is a new version of."""
    for phase, info in _details(s, "newversion"):
        if phase == "result" and info.get("id") == draft_id and isinstance(info.get("from"), int):
            return int(info["from"])
    return None


def _discard(s: Session, draft: Deposition, origin: int, why: str) -> None:
    """Discard a new-version draft Zenodo cannot delete a file of; back to ``origin``."""
    s.checkpoint()
    s.log.warning(
        f"{s.row.folder}: discarding new-version draft {draft.id} ({why}); versioning again",
        deposition_id=draft.id,
    )
    s.step("discard", "intent", {"id": draft.id, "from": origin})
    s.repo.delete_draft(draft)
    _back_to(s, draft.id, origin)


def _finish_discard(s: Session) -> None:
    """A discard journaled but not finished (a crash in between): finish it now. Only a
    draft is ever deleted; a token that may not see it is left to :func:`_known` to say."""
    found = _details(s, "discard")
    if not found or found[0][0] != "intent":
        return
    info = found[0][1]
    draft_id, origin = int(info["id"]), int(info["from"])
    if s.refresh().deposition_id == draft_id:
        try:
            draft: Deposition | None = s.repo.get(draft_id)
        except Gone:
            draft = None
        except Denied:
            return
        if draft is not None and draft.state == "unsubmitted":
            s.repo.delete_draft(draft)
    _back_to(s, draft_id, origin)


def _back_to(s: Session, draft_id: int, origin: int) -> None:
    """The row names the published version again; its metadata is sent anew next draft."""
    if s.refresh().deposition_id == draft_id:
        s.update(deposition_id=origin, bucket_url=None, metadata_hash=None)
    s.step("discard", "result", {"id": draft_id, "from": origin})


def _known(s: Session) -> Deposition | None:
    """The deposition the journal remembers, if the repository still has it."""
    row = s.refresh()
    if not row.deposition_id:
        return None
    try:
        return s.repo.get(row.deposition_id)
    except Denied:
        name = s.repo.label
        raise Failure(
            f"{name} refused access to this dataset's deposition {row.deposition_id}: the "
            f"site's {name} token was probably revoked or replaced by one of another account.",
            "Nothing to change in the dataset: tell the site administrator, who must renew "
            f"the {name} token ({s.repo.auth_setting}); it will be tried again automatically.",
            retryable=True,
        ) from None
    except Gone:
        s.step("get", "result", {"id": row.deposition_id, "gone": True})
        s.log.warning(
            f"{row.folder}: deposition {row.deposition_id} gone from the repository; creating anew",
            deposition_id=row.deposition_id,
        )
        s.journal.forget_uploaded(row.id)
        s.update(
            deposition_id=None,
            bucket_url=None,
            metadata_hash=None,
            doi=None,
            concept_doi=None,
            record_url=None,
            deposit_url=None,
        )
        return None


def _deposition(s: Session, plan: Plan, adopt: bool) -> Deposition:
    """The deposition to work on: the known one, the one an unanswered create made, the one
    with this dataset's title (``adopt``), or a new one; versioned when needed."""
    dep = (
        _known(s)
        or markers.adopt_unanswered(s)
        or (adoption.adopt_by_title(s, plan.metadata) if adopt else None)
        or markers.create(s, plan.metadata)
    )
    s.remember(dep)
    if dep.state == "inprogress":
        raise Failure(
            f"The published record is being edited on {s.repo.label} right now; "
            "maggot-zenodo leaves it alone.",
            f"On {s.repo.label}, save (publish) or discard the edit, then touch the semaphore.",
        )
    if dep.state == "unsubmitted":
        return dep
    # published (done): new version only when something changed
    if s.refresh().metadata_hash == metadata_hash(plan.metadata) and not _files_differ(
        s, dep, plan
    ):
        return dep
    return _new_version(s, dep)


def _files_differ(s: Session, dep: Deposition, plan: Plan) -> bool:
    """Would a sync upload or delete anything? (Files others added are not ours.)"""
    remote = remote_files(dep)
    digest_ahead(s, plan, remote)  # only the files a same-size remote one may match
    wanted = plan.wanted()
    if any(
        md5 is None or (f.checksum if (f := remote.get(k)) else None) != md5
        for k, md5 in wanted.items()
    ):
        return True
    ours = s.journal.uploaded(s.row.id) if plan.with_files else {}
    return any(k in ours and k not in wanted for k in remote)


def _new_version(s: Session, dep: Deposition) -> Deposition:
    s.checkpoint()
    s.step("newversion", "intent", {"from": dep.id})
    new = s.repo.new_version(dep)
    s.step("newversion", "result", {"from": dep.id, "id": new.id})
    s.log.info(
        f"{s.row.folder}: new version {new.id} of deposition {dep.id}",
        deposition_id=new.id,
        status="publishing",
    )
    s.update(metadata_hash=None)
    s.remember(new)
    return new


def _put_metadata(s: Session, dep: Deposition, metadata: Mapping[str, Any]) -> None:
    digest = metadata_hash(metadata)
    if s.refresh().metadata_hash == digest:
        return
    s.checkpoint()
    s.step("metadata", "intent", {"id": dep.id, "hash": digest})
    s.repo.update_metadata(dep, metadata)
    s.update(metadata_hash=digest)
    s.step("metadata", "result", {"id": dep.id, "hash": digest})


def _delete_undeclared(s: Session, dep: Deposition, plan: Plan) -> None:
    """Delete the files this tool uploaded earlier that the dataset no longer declares."""
    ours = s.journal.uploaded(s.row.id)
    wanted = plan.wanted()
    for key, info in remote_files(dep).items():
        if key in wanted or key not in ours:
            continue
        s.checkpoint()
        s.step("delete-file", "intent", {"id": dep.id, "key": key})
        s.repo.delete_file(dep, info.id)
        s.journal.forget_uploaded(s.row.id, key)
        s.step("delete-file", "result", {"id": dep.id, "key": key})
        s.log.info(
            f"{s.row.folder}: deleted {key} from deposition {dep.id}",
            deposition_id=dep.id,
            file=key,
        )


def _publish(s: Session, dep: Deposition) -> Deposition:
    s.checkpoint()
    s.step("publish", "intent", {"id": dep.id})
    done = s.repo.publish(dep)
    s.step("publish", "result", {"id": dep.id, "doi": done.doi})
    s.remember(done)
    s.log.info(
        f"{s.row.folder}: published deposition {done.id} as {done.doi}",
        deposition_id=done.id,
        doi=done.doi,
        status="published",
    )
    return done
