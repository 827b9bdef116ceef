"""Zenodo as a :class:`~maggot_zenodo.publish.repository.Repository`: the client's calls, its
errors in a researcher's words, nothing of the exactly-once logic.

The adapter lives in publish/ (not zenodo/) so that zenodo/ never imports upward.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from maggot_zenodo.publish.explain import explain_http
from maggot_zenodo.publish.repository import (
    Denied,
    Gone,
    ProgressCallback,
    Unconfirmed,
    Undeletable,
)
from maggot_zenodo.zenodo import errors as zenodo
from maggot_zenodo.zenodo.client import ZenodoClient
from maggot_zenodo.zenodo.entities import Deposition

#: How many pages of the newest depositions a marker search walks.
RECENT_PAGES = 3


@contextlib.contextmanager
def _explained() -> Iterator[None]:
    try:
        yield
    except zenodo.ZenodoError as exc:
        raise explain_http(exc) from None


def created_at(dep: Deposition) -> float | None:
    """When Zenodo created ``dep`` (seconds since the epoch), if it says."""
    text = dep.raw.get("created")
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


class ZenodoRepository:
    """A Zenodo account through one :class:`ZenodoClient` (closed with the repository)."""

    label = "Zenodo"
    auth_setting = "zenodo.token"

    def __init__(self, client: ZenodoClient, url: str) -> None:
        self.client = client
        self.url = url

    def get(self, deposition_id: int) -> Deposition:
        try:
            return self.client.get(deposition_id)
        except (zenodo.NotFound, zenodo.Gone):
            raise Gone(deposition_id) from None
        except zenodo.PermissionDenied:
            raise Denied(deposition_id) from None
        except zenodo.ZenodoError as exc:
            raise explain_http(exc) from None

    def create(self, title: str, marker: str) -> Deposition:
        try:
            return self.client.create({"title": title, "notes": marker, "upload_type": "dataset"})
        except zenodo.ZenodoError as exc:
            if exc.maybe_committed:
                raise Unconfirmed(str(exc)) from None
            raise explain_http(exc) from None

    def find_titled(self, text: str) -> list[Deposition]:
        with _explained():
            phrase = " ".join(text.replace('"', " ").split())  # a phrase query holds no quote
            return self.client.list(q=f'title:"{phrase}"', max_pages=1)

    def recent(self, since: float) -> list[Deposition]:
        with _explained():
            deps = self.client.list(sort="mostrecent", max_pages=RECENT_PAGES)
        return [d for d in deps if (when := created_at(d)) is None or when >= since]

    def update_metadata(self, deposition: Deposition, metadata: Mapping[str, Any]) -> None:
        with _explained():
            self.client.update(deposition.id, dict(metadata))

    def upload(
        self, deposition: Deposition, path: Path, key: str, progress: ProgressCallback | None
    ) -> str:
        bucket = deposition.bucket
        with _explained():
            if bucket is None:
                bucket = self.get(deposition.id).bucket
            if bucket is None:
                raise zenodo.ZenodoError("the deposition has no file bucket")
            return self.client.upload(bucket, path, key, progress=progress).md5

    def delete_file(self, deposition: Deposition, file_id: str) -> None:
        try:
            self.client.delete_file(deposition.id, file_id)
        except zenodo.NotFound:
            return
        except zenodo.TransientRefusal as exc:
            if exc.kind != "file_delete":
                raise explain_http(exc) from None
            raise Undeletable(exc.message) from None
        except zenodo.ZenodoError as exc:
            raise explain_http(exc) from None

    def new_version(self, deposition: Deposition) -> Deposition:
        with _explained():
            return self.client.new_version(deposition.id)

    def publish(self, deposition: Deposition) -> Deposition:
        with _explained():
            return self.client.publish(deposition.id)

    def delete_draft(self, deposition: Deposition) -> None:
        with _explained(), contextlib.suppress(zenodo.NotFound, zenodo.Gone):
            self.client.delete(deposition.id)

    def close(self) -> None:
        self.client.close()
