"""HTTP client for Dataverse's native API (``/api/...``), as DATAVERSE-API.md describes it.

Reads and replacing writes are retried (see :mod:`.transport`); a ``create`` that may have
reached the server is never sent twice (the caller is told ``maybe_committed=True`` and looks
for the dataset by its marker); an ambiguous ``add`` or ``publish`` is checked by reading the
dataset before it is sent again. The token goes only in the ``X-Dataverse-key`` header.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from maggot_zenodo import backoff
from maggot_zenodo.dataverse.entities import DatasetRef, DatasetVersion, RemoteFile
from maggot_zenodo.dataverse.entities import version_from_json as _version
from maggot_zenodo.dataverse.errors import (
    ChecksumMismatch,
    DataverseError,
    DataverseUnavailable,
    LockTimeout,
    NotFound,
    Refused,
)
from maggot_zenodo.dataverse.transport import Transport, clean_token
from maggot_zenodo.dataverse.upload import MultipartUpload, file_checksum

__all__ = ["EDIT_LOCKS", "PUBLISH_LOCKS", "DataverseClient", "clean_token"]

PUBLISH_LOCKS = frozenset(
    {"Ingest", "Workflow", "finalizePublication", "EditInProgress", "FileValidationFailed"}
)
EDIT_LOCKS = frozenset(
    {"Workflow", "InReview", "finalizePublication", "EditInProgress", "FileValidationFailed"}
)


class DataverseClient(Transport):
    """The calls the deposit makes, typed."""

    # ----- site ----------------------------------------------------------------------------
    def server_version(self) -> str:
        data = self.request("GET", "/info/version", "tell its version")["data"]
        return str(data.get("version") or "")

    def me(self) -> str:
        return str(self.request("GET", "/users/:me", "check the token")["data"]["identifier"])

    def collection(self, alias: str) -> dict[str, Any]:
        data: dict[str, Any] = self.request("GET", f"/dataverses/{alias}", "find the collection")[
            "data"
        ]
        return data

    def collection_permissions(self, alias: str) -> dict[str, Any]:
        what = "tell the permissions on the collection"
        data: dict[str, Any] = self.request("GET", f"/dataverses/{alias}/userPermissions", what)[
            "data"
        ]
        return data

    def metadata_block(self, name: str) -> dict[str, Any]:
        what = f"describe its metadata block {name}"
        data: dict[str, Any] = self.request("GET", f"/metadatablocks/{name}", what)["data"]
        return data

    def licenses(self) -> list[dict[str, Any]]:
        return list(self.request("GET", "/licenses", "list its licences")["data"])

    # ----- datasets ------------------------------------------------------------------------
    def create_dataset(self, alias: str, body: dict[str, Any]) -> DatasetRef:
        """POST once: never repeated when it may have reached the server (maybe_committed)."""
        data = self.request(
            "POST",
            f"/dataverses/{alias}/datasets",
            "create the dataset",
            json_body=body,
            idempotent=False,
        )["data"]
        return DatasetRef(int(data["id"]), str(data["persistentId"]))

    def dataset(self, dataset_id: int) -> DatasetVersion:
        what = f"read dataset {dataset_id}"
        return _version(self.request("GET", f"/datasets/{dataset_id}", what)["data"])

    def replace_metadata(self, dataset_id: int, version: dict[str, Any]) -> None:
        """PUT the whole version (licence included): fields left out are deleted."""
        self.request(
            "PUT",
            f"/datasets/{dataset_id}/versions/:draft",
            f"update the metadata of dataset {dataset_id}",
            json_body=version,
        )

    def locks(self, dataset_id: int) -> list[str]:
        data = self.request("GET", f"/datasets/{dataset_id}/locks", "list the locks")["data"]
        return [str(lock.get("lockType")) for lock in data]

    def wait_unlocked(self, dataset_id: int, blocking: Iterable[str] = PUBLISH_LOCKS) -> None:
        """Poll the locks with a growing pause until none of ``blocking`` is left (bounded)."""
        wanted = frozenset(blocking)
        deadline = time.monotonic() + self.lock_timeout
        for attempt in range(1, 10_000):
            held = [lock for lock in self.locks(dataset_id) if lock in wanted]
            if not held:
                return
            if "FileValidationFailed" in held:
                raise Refused(
                    f"Dataverse could not validate the files of dataset {dataset_id}",
                    "ask the Dataverse site's administrators: only they can clear a "
                    "FileValidationFailed lock",
                )
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self._sleep(min(left, backoff.exponential(attempt, 0.1, self.lock_poll_max)))
        raise LockTimeout(
            f"dataset {dataset_id} is still locked ({', '.join(held)})",
            "nothing to do: it is retried later",
            retryable=True,
        )

    def delete_dataset(self, dataset_id: int) -> None:
        """Destroy a never-published dataset; one already gone counts as deleted."""
        with contextlib.suppress(NotFound):
            self.request("DELETE", f"/datasets/{dataset_id}", f"delete dataset {dataset_id}")

    def discard_draft(self, dataset_id: int) -> None:
        with contextlib.suppress(NotFound):
            what = f"discard the draft of dataset {dataset_id}"
            self.request("DELETE", f"/datasets/{dataset_id}/versions/:draft", what)

    def recent(self, alias: str, count: int = 50) -> list[DatasetRef]:
        """The newest datasets of the collection the token may see (search: may lag)."""
        params = {
            "q": "*",
            "type": "dataset",
            "subtree": alias,
            "sort": "date",
            "order": "desc",
            "per_page": count,
            "show_entity_ids": "true",
        }
        return self._refs(self.request("GET", "/search", "list recent datasets", params=params))

    def search(self, query: str, alias: str) -> list[DatasetRef]:
        """Datasets matching a Solr query in the collection (loose and lagging: confirm)."""
        params = {
            "q": query,
            "type": "dataset",
            "subtree": alias,
            "per_page": 1000,
            "show_entity_ids": "true",
        }
        return self._refs(self.request("GET", "/search", "search for the dataset", params=params))

    @staticmethod
    def _refs(answer: dict[str, Any]) -> list[DatasetRef]:
        seen: dict[str, DatasetRef] = {}
        for item in answer["data"].get("items") or []:
            pid, eid = item.get("global_id"), item.get("entity_id")
            if pid and eid is not None:
                seen.setdefault(str(pid), DatasetRef(int(eid), str(pid)))
        return list(seen.values())

    def find_by_marker(self, marker: str, alias: str) -> list[DatasetRef]:
        """Datasets the search index shows with this ``otherIdValue`` (loose: confirm each)."""
        return self.search(f'otherIdValue:"{marker}"', alias)

    # ----- files and publication -----------------------------------------------------------
    def add_file(
        self,
        dataset_id: int,
        path: Path,
        *,
        name: str,
        directory: str = "",
        description: str = "",
        categories: tuple[str, ...] = (),
        progress: Callable[[int], None] | None = None,
        algorithm: str = "MD5",
    ) -> tuple[RemoteFile, str]:
        """Upload one file byte-exact (``tabIngest`` off) and check Dataverse's checksum;
        the file as Dataverse lists it and the md5 of the bytes sent.

        An upload whose answer was lost is looked for in the draft before it is sent again, so
        an ambiguous failure never leaves a second copy (Dataverse would rename it ``name-1``).
        """
        meta: dict[str, Any] = {
            "description": description,
            "categories": list(categories),
            "restrict": "false",
            "tabIngest": "false",
        }
        if directory:
            meta["directoryLabel"] = directory
        local = file_checksum(path, algorithm)
        what = f"add the file {directory + '/' if directory else ''}{name}"
        for _attempt in range(3):
            upload = MultipartUpload(path, name, meta, progress, algorithm)
            try:
                answer = self.request(
                    "POST",
                    f"/datasets/{dataset_id}/add",
                    what,
                    body=lambda u=upload: u,  # type: ignore[misc]  # default binds
                    headers={"Content-Type": upload.content_type},
                    idempotent=False,
                )
            except DataverseUnavailable as exc:
                if not exc.maybe_committed:
                    raise
                found = self._uploaded(dataset_id, name, directory, local)
                if found is not None:
                    return found, file_checksum(path, "MD5")
                continue
            remote = RemoteFile.from_json(answer["data"]["files"][0])
            return self._verified(remote, upload, local), upload.checksum("MD5") or ""
        raise DataverseUnavailable(f"Dataverse did not confirm {what}", retryable=True)

    def _uploaded(
        self, dataset_id: int, name: str, directory: str, local: str
    ) -> RemoteFile | None:
        for remote in self.dataset(dataset_id).files:
            if (remote.label, remote.directory) == (name, directory) and remote.checksum == local:
                return remote
        return None

    def _verified(self, remote: RemoteFile, upload: MultipartUpload, local: str) -> RemoteFile:
        sent = upload.checksum(remote.checksum_type or "MD5")
        if sent is not None and sent != local:
            self.delete_file(remote.id)
            raise DataverseError(
                f"{upload.path.name} changed while it was being uploaded",
                "nothing to do: it is sent again once it stops changing",
                retryable=True,
            )
        if sent is not None and remote.checksum != sent:
            self.delete_file(remote.id)
            raise ChecksumMismatch(
                f"Dataverse's {remote.checksum_type} of {remote.path} differs from the file sent",
                "nothing to do: the upload is retried",
                retryable=True,
            )
        return remote

    def delete_file(self, file_id: int) -> None:
        """Remove a file from the draft; one already gone counts as removed."""
        with contextlib.suppress(NotFound):
            self.request("DELETE", f"/files/{file_id}", f"delete file {file_id}")

    def publish(self, dataset_id: int, kind: str) -> None:
        """Ask for publication (``major`` or ``minor``), then wait for the finalisation."""
        what = f"publish dataset {dataset_id}"
        params = {"type": kind}
        self.wait_unlocked(dataset_id)  # an ingest or an earlier publication still running
        try:
            self.request(
                "POST",
                f"/datasets/{dataset_id}/actions/:publish",
                what,
                params=params,
                idempotent=False,
            )
        except DataverseUnavailable as exc:
            if not exc.maybe_committed:
                raise
            self.wait_unlocked(dataset_id)
            if self.dataset(dataset_id).state != "RELEASED":
                self.request(
                    "POST",
                    f"/datasets/{dataset_id}/actions/:publish",
                    what,
                    params=params,
                    idempotent=False,
                )
        self.wait_unlocked(dataset_id)
        if self.dataset(dataset_id).state != "RELEASED":
            raise DataverseError(
                f"Dataverse did not finish publishing dataset {dataset_id}",
                "look at the dataset on the Dataverse site; it is retried later",
                retryable=True,
            )
