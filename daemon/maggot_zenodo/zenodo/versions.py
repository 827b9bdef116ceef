"""New versions of a published deposition, as Zenodo really serves them.

``newversion`` answers 201 with the new draft (its own id); on a concept whose open draft
already holds files it always fails with 400 "Please remove all files first." (it tries to import
the files again), so that draft is found by ``conceptrecid`` instead of asking twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from maggot_zenodo.zenodo.entities import Deposition
from maggot_zenodo.zenodo.errors import BadRequest, ZenodoError
from maggot_zenodo.zenodo.transport import log
from maggot_zenodo.zenodo.wire import Call

if TYPE_CHECKING:  # the client passes itself; importing it here would be a cycle
    from maggot_zenodo.zenodo.client import ZenodoClient

REMOVE_FILES_FIRST = "remove all files first"


def open_new_version(client: ZenodoClient, deposition_id: int) -> Deposition:
    """The new-version draft of ``deposition_id``, opened or reopened, GET'd in full (the 201
    body's id is the draft's; ``links.latest_draft`` of the published record would point at
    the record itself). When Zenodo answers "Please remove all files first" and the open draft
    cannot be found, the :class:`BadRequest` is raised with a message saying so."""
    url = client._dep_url(deposition_id, "actions", "newversion")
    try:
        draft = client.json(
            Call("POST", url, (200, 201), refusal=client.account.forbidden(deposition_id))
        )
    except BadRequest as error:
        if not mentions(error, REMOVE_FILES_FIRST):
            raise
        pending: BadRequest = error
    else:
        draft_id = draft.get("id") if isinstance(draft, dict) else None
        if isinstance(draft_id, int):
            client.account.own(draft_id)
            return client.get(draft_id)
        found = find_open_draft(client, deposition_id)
        if found is None:
            raise ZenodoError(
                "newversion answered without the new draft's id, and no open draft was found",
                method="POST",
                path=Call("POST", url, ()).path,
            )
        return found
    found = find_open_draft(client, deposition_id)
    if found is not None:
        log.info(
            "zenodo reusing open new-version draft",
            deposition_id=int(deposition_id),
            draft_id=found.id,
        )
        return found
    raise BadRequest(
        "a new-version draft with files already exists but could not be found; "
        f"open it on Zenodo and remove its files or discard it ({pending.message})",
        status=pending.status,
        errors=pending.errors,
        method=pending.method,
        path=pending.path,
    )


def find_open_draft(client: ZenodoClient, deposition_id: int) -> Deposition | None:
    """The newest unsubmitted draft sharing the record's conceptrecid, GET'd in full."""
    record = client.get(deposition_id)
    concept = record.concept_id
    if concept is None:
        return None
    candidates = [
        d
        for d in client.list(q=f"conceptrecid:{concept}", sort="mostrecent")
        if d.concept_id == concept
        and d.state == "unsubmitted"
        and not d.submitted
        and d.id != record.id
    ]
    if not candidates:
        return None
    newest = max(candidates, key=lambda d: (str(d.raw.get("created") or ""), d.id))
    client.account.own(newest.id)
    return client.get(newest.id)


def mentions(error: ZenodoError, needle: str) -> bool:
    texts = [error.message, *(m for e in error.errors for m in e["messages"])]
    return any(needle in t.lower() for t in texts)
