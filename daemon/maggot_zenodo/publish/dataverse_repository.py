"""Dataverse as a :class:`~maggot_zenodo.publish.repository.Repository`, so that the one
exactly-once deposit (journal, create markers, versioning decision) serves it too.

What differs from Zenodo is absorbed here:

- a dataset cannot be created empty: ``create`` sends the dataset's whole converted version
  (given at construction), with the create marker as a second ``otherId``;
- a deposition's ``notes`` are its ``otherId`` values, so :func:`markers.marker_of` finds the
  marker; its ``doi`` is the persistent id (``doi:10.…``), its ``html`` the dataset page;
- a published dataset gets its draft at the first edit: ``new_version`` only says so;
- a changed file is deleted, then added (Dataverse would rename a second one ``name-1``);
  a file already there with the same checksum (in the site's algorithm) is not sent again;
- ``publish`` is ``major`` the first time, then as configured (``minor`` falls back to
  ``major`` when Dataverse requires it), and waits for the finalisation lock.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from maggot_zenodo.convert.dataverse.crosswalk import MARKER_AGENCY
from maggot_zenodo.dataverse import errors as dv
from maggot_zenodo.dataverse.client import EDIT_LOCKS, DataverseClient
from maggot_zenodo.dataverse.entities import DatasetVersion
from maggot_zenodo.dataverse.upload import file_checksum
from maggot_zenodo.publish.explain import Failure
from maggot_zenodo.publish.repository import Gone, ProgressCallback, Unconfirmed
from maggot_zenodo.zenodo.entities import Deposition, DepositionFile

#: How many of the collection's newest datasets a marker search reads.
RECENT = 20


@contextlib.contextmanager
def explained() -> Iterator[None]:
    """Dataverse's errors as a dataset's Failure (their words are already a person's)."""
    try:
        yield
    except dv.DataverseError as exc:
        raise Failure(exc.message, exc.hint, retryable=exc.retryable, detail=exc.detail) from None


def dataset_page(base_url: str, pid: str) -> str:
    return f"{base_url}/dataset.xhtml?persistentId={quote(pid, safe=':/')}"


def _file(remote: Any) -> DepositionFile:
    checksum = (
        remote.checksum
        if remote.checksum_type in ("MD5", "")
        else (f"{remote.checksum_type}:{remote.checksum}")
    )
    return DepositionFile(str(remote.id), remote.path, remote.size, checksum)


def as_deposition(version: DatasetVersion, base_url: str) -> Deposition:
    """A Dataverse dataset in the workflow's terms (``state``: unsubmitted or done)."""
    page = dataset_page(base_url, version.ref.persistent_id)
    released = version.state == "RELEASED"
    notes = "\n".join(value for _, value in version.other_ids)
    return Deposition(
        id=version.ref.id,
        state="done" if released else "unsubmitted",
        submitted=version.released_before,
        title=version.title,
        bucket=None,
        html=page,
        record=page if version.released_before else None,
        doi=version.ref.persistent_id,
        concept_doi=None,
        concept_id=None,
        files=tuple(_file(f) for f in version.files),
        metadata={"title": version.title, "notes": notes, "version": version.number},
        raw={
            "persistent_id": version.ref.persistent_id,
            "version": version.number,
            "other_ids": version.other_ids,
            "license": version.license_name,
        },
    )


class DataverseRepository:
    """One collection on one Dataverse, through one client (closed with the repository)."""

    label = "Dataverse"
    auth_setting = "dataverse.token"

    def __init__(
        self,
        client: DataverseClient,
        collection: str,
        create_body: Mapping[str, Any],
        *,
        release: str = "major",
    ) -> None:
        self.client = client
        self.url = client.base_url
        self.collection = collection
        self.create_body = create_body
        self.release = release
        self.algorithm = "MD5"

    def get(self, deposition_id: int) -> Deposition:
        try:
            version = self.client.dataset(deposition_id)
        except dv.NotFound:
            raise Gone(deposition_id) from None
        except (dv.BadApiKey, dv.NotPermitted) as exc:
            raise Failure(
                f"Dataverse refused access to this dataset's Dataverse dataset {deposition_id} "
                f"({exc.server_message}): the site's Dataverse token was probably revoked, "
                "expired or replaced by one of another account.",
                "Nothing to change in the dataset: tell the site administrator, who must renew "
                "dataverse.token; it will be tried again automatically.",
                retryable=True,
            ) from None
        except dv.DataverseError as exc:
            raise Failure(exc.message, exc.hint, retryable=exc.retryable) from None
        types = {f.checksum_type for f in version.files if f.checksum_type}
        if len(types) == 1:
            self.algorithm = types.pop()
        return as_deposition(version, self.url)

    def create(self, title: str, marker: str) -> Deposition:
        body = copy.deepcopy(dict(self.create_body))
        _add_other_id(body["datasetVersion"], marker)
        try:
            ref = self.client.create_dataset(self.collection, body)
        except dv.DataverseError as exc:
            if exc.maybe_committed:
                raise Unconfirmed(exc.message) from None
            raise Failure(exc.message, exc.hint, retryable=exc.retryable) from None
        page = dataset_page(self.url, ref.persistent_id)
        # built from the answer alone: a failing read now would lose the created id
        return Deposition(
            ref.id,
            "unsubmitted",
            False,
            title,
            None,
            page,
            None,
            ref.persistent_id,
            None,
            None,
            (),
            {"notes": marker},
        )

    def _read_all(self, refs: list[Any]) -> list[Deposition]:
        out = []
        for ref in refs[:RECENT]:
            with contextlib.suppress(Gone):
                out.append(self.get(ref.id))
        return out

    def find_titled(self, text: str) -> list[Deposition]:
        with explained():
            return self._read_all(self.client.find_by_marker(text, self.collection))

    def recent(self, since: float) -> list[Deposition]:
        with explained():
            return self._read_all(self.client.recent(self.collection, RECENT))

    def find_maggot(self, short_title: str) -> list[Deposition]:
        """Datasets Maggot's web page made for this record: otherId agency ``Maggot``, value
        ``<short title without '-'>@<year>`` (any year: Maggot's own search missed those)."""
        value = short_title.replace("-", "")
        with explained():
            found = self._read_all(self.client.search(f'otherIdValue:"{value}"', self.collection))
        return [
            d
            for d in found
            if any(_maggot_marker(a, v, value) for a, v in d.raw.get("other_ids", ()))
        ]

    def update_metadata(self, deposition: Deposition, metadata: Mapping[str, Any]) -> None:
        with explained():
            self.client.wait_unlocked(deposition.id, EDIT_LOCKS)
            self.client.replace_metadata(deposition.id, dict(metadata))

    def upload(
        self, deposition: Deposition, path: Path, key: str, progress: ProgressCallback | None
    ) -> str:
        directory, _, name = key.rpartition("/")
        with explained():
            for have in deposition.files:
                if have.filename != key:
                    continue
                kind, _, value = have.checksum.rpartition(":")
                if value == file_checksum(path, kind or "MD5"):
                    return file_checksum(path, "MD5")  # already there (any algorithm)
                self.client.delete_file(int(have.id))  # else Dataverse would add name-1
            _remote, md5 = self.client.add_file(
                deposition.id,
                path,
                name=name,
                directory=directory,
                progress=progress,
                algorithm=self.algorithm,
            )
            return md5

    def delete_file(self, deposition: Deposition, file_id: str) -> None:
        with explained():
            self.client.delete_file(int(file_id))

    def new_version(self, deposition: Deposition) -> Deposition:
        """Dataverse makes the draft at the first edit; the workflow's next PUT is that edit."""
        return Deposition(
            deposition.id,
            "unsubmitted",
            True,
            deposition.title,
            None,
            deposition.html,
            deposition.record,
            deposition.doi,
            None,
            None,
            deposition.files,
            deposition.metadata,
            deposition.raw,
        )

    def publish(self, deposition: Deposition) -> Deposition:
        kind = self.release if deposition.submitted else "major"
        with explained():
            try:
                self.client.publish(deposition.id, kind)
            except dv.Refused as exc:
                if kind != "minor" or "major" not in exc.server_message:
                    raise
                self.client.publish(deposition.id, "major")
        return self.get(deposition.id)

    def delete_draft(self, deposition: Deposition) -> None:
        with explained():
            if deposition.submitted:
                self.client.discard_draft(deposition.id)
            else:
                self.client.delete_dataset(deposition.id)

    def close(self) -> None:
        self.client.close()


def _maggot_marker(agency: str, value: str, short_title: str) -> bool:
    head, at, year = value.rpartition("@")
    return agency == "Maggot" and at == "@" and head == short_title and year.isdigit()


def _add_other_id(version: dict[str, Any], marker: str) -> None:
    """Append the create marker to the version's otherId field (made if absent)."""
    fields = version["metadataBlocks"]["citation"]["fields"]
    item = {
        "otherIdAgency": {
            "typeName": "otherIdAgency",
            "multiple": False,
            "typeClass": "primitive",
            "value": MARKER_AGENCY,
        },
        "otherIdValue": {
            "typeName": "otherIdValue",
            "multiple": False,
            "typeClass": "primitive",
            "value": marker,
        },
    }
    for field in fields:
        if field.get("typeName") == "otherId":
            field["value"].append(item)
            return
    fields.append(
        {"typeName": "otherId", "multiple": True, "typeClass": "compound", "value": [item]}
    )
