"""``POST .../actions/:publish``: the version rules and the asynchronous finalisation."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from maggot_zenodo.emulator.dataverse import views
from maggot_zenodo.emulator.dataverse.messages import Request, Response, ok
from maggot_zenodo.emulator.dataverse.store import PUBLISH_BLOCKING, Dataset, DvError, Version

if TYPE_CHECKING:  # api imports this module
    from maggot_zenodo.emulator.dataverse.api import Api


def publish(api: Api, req: Request, ds: Dataset) -> Response:
    """Checks, then a finalizePublication lock; the version is released when it ends."""
    kind = req.param("type")
    if kind not in ("major", "minor", "updatecurrent"):
        raise DvError(400, "Missing 'type' parameter (either 'major','minor', or 'updatecurrent').")
    if kind == "updatecurrent":
        raise DvError(403, "Only superusers can update the current version")
    blocking = [lk for lk in api.store.active_locks(ds) if lk in PUBLISH_BLOCKING]
    if blocking:
        raise DvError(
            403, f"This dataset is locked. Reason: {blocking[0]}. Please try publishing later."
        )
    draft = ds.draft()
    if draft is None:
        raise DvError(
            403,
            f"Latest version of dataset {ds.pid} is already released. Only "
            "draft versions can be released.",
        )
    if draft.license is None and not draft.terms:
        raise DvError(
            409,
            "Dataset must have a valid license or Custom Terms Of Use "
            "configured before it can be published.",
        )
    released = ds.released()
    major, minor = _next_number(released, draft, kind)
    delay = api.timing.finalize
    if "async_publish" in req.behaviours:
        delay = api.timing.async_publish
    if "lingering_lock" in req.behaviours:
        delay = api.timing.lingering_lock
    when = time.monotonic() + delay
    ds.locks["finalizePublication"] = when
    ds.pending_release = (when, major, minor)
    _index_after_release(api, ds, when, req)
    return ok(views.dataset_json(ds, api.store.active_locks(ds), req.base_url))


def _index_after_release(api: Api, ds: Dataset, when: float, req: Request) -> None:
    """The cards as they will be once finalised (the index learns of it after the lag)."""
    lag = api.timing.lagging_index if "lagging_index" in req.behaviours else 0.0
    draft = ds.draft()
    if draft is None or ds.pending_release is None:
        return
    _, major, minor = ds.pending_release
    future = Version("RELEASED", draft.blocks, draft.license, draft.files, major, minor)
    shadow = Dataset(ds.id, ds.pid, ds.alias, ds.owner, [*ds.released(), future])
    ds.index.append((when + api.timing.index_lag + lag, views.index_cards(shadow)))


def _next_number(released: list[Version], draft: Version, kind: str) -> tuple[int, int]:
    if not released:
        if kind == "minor":
            raise DvError(403, "Cannot publish as minor version. Re-try as major release.")
        return 1, 0
    last = released[-1]
    assert last.major is not None and last.minor is not None
    if kind == "minor":
        if [f.id for f in last.files] != [f.id for f in draft.files]:
            raise DvError(403, "Cannot release as minor version. Re-try as major release.")
        return last.major, last.minor + 1
    return last.major + 1, 0


def pid_suffix(n: int) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    value, out = n * 7919 + 104729, ""
    for _ in range(6):
        value, digit = divmod(value, len(alphabet))
        out += alphabet[digit]
    return out


def _ok(data: object) -> Response:
    return ok(data)
