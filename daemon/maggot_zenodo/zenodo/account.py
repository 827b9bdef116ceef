"""What the client knows of its account, to tell Zenodo's passing 403s from true ones.

Zenodo sometimes refuses a request on a fresh new-version draft with 403 although nothing is
wrong (ZENODO-API.md). A 403 is taken as that passing fault only when the facts say so: the
token works (a listing answers), the deposition is this account's (seen answered, or found by
``recid:``), and the request is not a file change on a published record (which Zenodo refuses
for good). Anything else stays the true :class:`PermissionDenied`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from maggot_zenodo.zenodo import refusals
from maggot_zenodo.zenodo.entities import Deposition
from maggot_zenodo.zenodo.errors import PermissionDenied
from maggot_zenodo.zenodo.wire import Refusal

# search(q) -> the first page of depositions matching q (None: any), as the client lists them
Search = Callable[["str | None"], Sequence[Deposition]]


class Account:
    """The depositions and buckets seen answered, and which of them are published."""

    def __init__(self, search: Search) -> None:
        self._search = search
        self._lock = threading.Lock()
        self._ours: set[int] = set()
        self._bucket_of: dict[int, str] = {}
        self._published: set[int] = set()

    def seen(self, dep: Deposition) -> Deposition:
        """Remember a deposition Zenodo answered to this token."""
        with self._lock:
            self._ours.add(dep.id)
            if dep.bucket:
                self._bucket_of[dep.id] = dep.bucket.rstrip("/")
            if dep.published:
                self._published.add(dep.id)
            else:
                self._published.discard(dep.id)
        return dep

    def own(self, deposition_id: int) -> None:
        """Remember an id Zenodo answered (a new draft, before it is fetched)."""
        with self._lock:
            self._ours.add(deposition_id)

    def forbidden(
        self, deposition_id: int | None = None, bucket: str | None = None, *, files: bool = False
    ) -> Refusal:
        """The 403 rule for one request on a deposition or bucket (``files``: it changes
        files), checked at most once per call."""
        return refusals.forbidden(lambda: self._passing(deposition_id, bucket, files))

    def _passing(self, deposition_id: int | None, bucket: str | None, files: bool) -> bool:
        bucket = bucket.rstrip("/") if bucket else None
        with self._lock:
            published_buckets = {self._bucket_of.get(i) for i in self._published}
            if files and (deposition_id in self._published or bucket in published_buckets):
                return False  # the files of a published record cannot change: a true 403
            known = deposition_id is None or deposition_id in self._ours
            ours_bucket = bucket is None or bucket in self._bucket_of.values()
        try:
            if not known:
                return any(d.id == deposition_id for d in self._search(f"recid:{deposition_id}"))
            self._search(None)  # does the token work at all?
        except PermissionDenied:
            return False
        return ours_bucket
