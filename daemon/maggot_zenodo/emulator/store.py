"""Depositions, buckets and files of the emulator, persisted under its data folder.

State lives in ``state.json`` (rewritten atomically under a lock after every change); file
contents live in ``files/<version_id>``. Uploads are written to ``tmp/`` first and renamed into
place only once complete, so an interrupted upload leaves the previous version of a key intact.
Every operation checks ownership and state the way Zenodo does and raises :class:`ApiError`.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

from maggot_zenodo.emulator import validation

NOT_FOUND = "The persistent identifier does not exist."
DELETED = "The record has been deleted."
DENIED = "Permission denied."
INVALID = "A validation error occurred."
FIRST_ID = 100_000


class ApiError(Exception):
    """An answer other than success: status, message and optional validation errors."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def doi_of(recid: int) -> str:
    return f"10.5281/zenodo.{recid}"


class Store:
    """All depositions of all users; thread-safe (one re-entrant lock)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        max_files: int = 100,
        max_file_size: int = 50_000_000_000,
        quota: int = 50_000_000_000,
    ) -> None:
        self.root = Path(data_dir)
        self.files_dir = self.root / "files"
        self.tmp_dir = self.root / "tmp"
        self.max_files, self.max_file_size, self.quota = max_files, max_file_size, quota
        self.lock = threading.RLock()
        for d in (self.files_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        for leftover in self.tmp_dir.iterdir():
            leftover.unlink(missing_ok=True)
        self._deps: dict[int, dict[str, Any]] = {}
        self._next_id = FIRST_ID
        self._load()

    # ----- persistence -------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    def _load(self) -> None:
        if self.state_file.exists():
            raw = json.loads(self.state_file.read_text(encoding="utf-8"))
            self._next_id = raw["next_id"]
            self._deps = {d["id"]: d for d in raw["depositions"]}

    def _save(self) -> None:
        tmp = self.state_file.with_name("state.json.tmp")
        data = {"next_id": self._next_id, "depositions": list(self._deps.values())}
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.state_file)

    def clear(self) -> None:
        """Forget everything (``POST /_emulator/reset``)."""
        with self.lock:
            self._deps.clear()
            self._next_id = FIRST_ID
            shutil.rmtree(self.files_dir, ignore_errors=True)
            self.files_dir.mkdir(parents=True, exist_ok=True)
            self._save()

    def _alloc(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    # ----- lookups -----------------------------------------------------------------------
    def _get(self, dep_id: int, owner: int) -> dict[str, Any]:
        dep = self._deps.get(dep_id)
        if dep is None:
            raise ApiError(404, NOT_FOUND)
        if dep["deleted"]:
            raise ApiError(410, DELETED)
        if dep["owner"] != owner:
            raise ApiError(403, DENIED)
        return dep

    def get(self, dep_id: int, owner: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._get(dep_id, owner))

    def get_record(self, recid: int) -> dict[str, Any]:
        """A published record, for anyone (``GET /api/records/<id>``)."""
        with self.lock:
            dep = self._deps.get(recid)
            if dep is None or not dep["submitted"]:
                raise ApiError(404, NOT_FOUND)
            if dep["deleted"]:
                raise ApiError(410, DELETED)
            return copy.deepcopy(dep)

    def by_bucket(self, bucket: str, owner: int) -> dict[str, Any]:
        with self.lock:
            return copy.deepcopy(self._bucket(bucket, owner))

    def _bucket(self, bucket: str, owner: int) -> dict[str, Any]:
        for dep in self._deps.values():
            if dep["bucket"] == bucket and not dep["deleted"]:
                if dep["owner"] != owner:
                    raise ApiError(403, DENIED)
                return dep
        raise ApiError(404, "The requested URL was not found on the server.")

    def owned(self, owner: int) -> list[dict[str, Any]]:
        with self.lock:
            return [
                copy.deepcopy(d)
                for d in self._deps.values()
                if d["owner"] == owner and not d["deleted"]
            ]

    def all(self) -> list[dict[str, Any]]:
        with self.lock:
            return copy.deepcopy(list(self._deps.values()))

    def is_version_draft(self, *, dep_id: int | None = None, bucket: str | None = None) -> bool:
        """Whether the id or bucket names an unpublished new-version draft (for faults)."""
        with self.lock:
            if dep_id is not None:
                dep = self._deps.get(dep_id)
            else:
                dep = next((d for d in self._deps.values() if d["bucket"] == bucket), None)
            return bool(
                dep and not dep["deleted"] and dep["state"] == "unsubmitted" and dep["parent"]
            )

    def latest_published(self, conceptrecid: int) -> int | None:
        with self.lock:
            ids = [
                d["id"]
                for d in self._deps.values()
                if d["conceptrecid"] == conceptrecid and d["submitted"] and not d["deleted"]
            ]
            return max(ids) if ids else None

    def concept_published(self, conceptrecid: int) -> bool:
        return self.latest_published(conceptrecid) is not None

    def blob(self, file: dict[str, Any]) -> Path:
        return self.files_dir / file["version_id"]

    # ----- depositions -------------------------------------------------------------------
    def create(self, owner: int, metadata: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            concept = self._alloc()
            dep_id = self._alloc()
            stamp = now_iso()
            dep = {
                "id": dep_id,
                "conceptrecid": concept,
                "owner": owner,
                "created": stamp,
                "modified": stamp,
                "metadata": metadata,
                "state": "unsubmitted",
                "submitted": False,
                "deleted": False,
                "bucket": str(uuid.uuid4()),
                "files": [],
                "doi": None,
                "published_metadata": None,
                "parent": None,
            }
            self._deps[dep_id] = dep
            self._save()
            return copy.deepcopy(dep)

    def update(self, dep_id: int, owner: int, metadata: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                raise ApiError(404, NOT_FOUND)
            if dep["doi"]:
                metadata = {**metadata, "doi": dep["doi"]}
            dep["metadata"] = metadata
            dep["modified"] = now_iso()
            self._save()
            return copy.deepcopy(dep)

    def delete(self, dep_id: int, owner: int) -> None:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] != "unsubmitted":
                raise ApiError(404, NOT_FOUND)
            self._drop(dep)
            self._save()

    def _drop(self, dep: dict[str, Any]) -> None:
        for f in dep["files"]:
            self.blob(f).unlink(missing_ok=True)
        dep["files"] = []
        dep["deleted"] = True
        dep["modified"] = now_iso()

    def publish(self, dep_id: int, owner: int) -> dict[str, Any]:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                raise ApiError(404, NOT_FOUND)
            errors = validation.check_publish(dep["metadata"], len(dep["files"]))
            if errors:
                raise ApiError(400, INVALID, errors)
            dep["doi"] = dep["doi"] or doi_of(dep["id"])
            dep["metadata"]["doi"] = dep["doi"]
            dep["state"], dep["submitted"] = "done", True
            dep["published_metadata"] = copy.deepcopy(dep["metadata"])
            dep["modified"] = now_iso()
            self._save()
            return copy.deepcopy(dep)

    def edit(self, dep_id: int, owner: int) -> dict[str, Any]:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                dep["state"] = "inprogress"
                dep["modified"] = now_iso()
                self._save()
            return copy.deepcopy(dep)

    def discard(self, dep_id: int, owner: int) -> None:
        """Drop the pending changes: an edit goes back to the published metadata; an
        unpublished draft (new or new-version) is deleted, as Zenodo's delete_draft does."""
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                raise ApiError(404, NOT_FOUND)
            if dep["state"] == "inprogress":
                dep["metadata"] = copy.deepcopy(dep["published_metadata"])
                dep["state"] = "done"
                dep["modified"] = now_iso()
            else:
                self._drop(dep)
            self._save()

    def new_version(self, dep_id: int, owner: int) -> dict[str, Any]:
        """Open (or return) the concept's new-version draft; see the package docs for the rule
        on an existing draft that still holds files."""
        with self.lock:
            dep = self._get(dep_id, owner)
            if not dep["submitted"]:
                raise ApiError(404, NOT_FOUND)
            draft = self._open_version_draft(dep["conceptrecid"])
            if draft is not None:
                if draft["files"]:
                    raise ApiError(
                        400,
                        INVALID,
                        [validation.error("files.enabled", "Please remove all files first.")],
                    )
                draft["files"] = [self._copy_file(f) for f in dep["files"]]
                draft["modified"] = now_iso()
                self._save()
                return copy.deepcopy(draft)
            new_id = self._alloc()
            stamp = now_iso()
            metadata = copy.deepcopy(dep["metadata"])
            for key in ("publication_date", "version", "doi"):
                metadata.pop(key, None)
            draft = {
                **copy.deepcopy(dep),
                "id": new_id,
                "created": stamp,
                "modified": stamp,
                "metadata": metadata,
                "state": "unsubmitted",
                "submitted": False,
                "bucket": str(uuid.uuid4()),
                "files": [self._copy_file(f) for f in dep["files"]],
                "doi": None,
                "published_metadata": None,
                "parent": dep["id"],
            }
            self._deps[new_id] = draft
            self._save()
            return copy.deepcopy(draft)

    def _open_version_draft(self, conceptrecid: int) -> dict[str, Any] | None:
        for d in self._deps.values():
            if (
                d["conceptrecid"] == conceptrecid
                and d["state"] == "unsubmitted"
                and not d["deleted"]
            ):
                return d
        return None

    def _copy_file(self, f: dict[str, Any]) -> dict[str, Any]:
        new = {**f, "id": str(uuid.uuid4()), "version_id": str(uuid.uuid4())}
        try:
            os.link(self.blob(f), self.blob(new))
        except OSError:
            shutil.copyfile(self.blob(f), self.blob(new))
        return new

    # ----- files -------------------------------------------------------------------------
    def _writable(self, dep: dict[str, Any]) -> None:
        if dep["state"] != "unsubmitted":
            raise ApiError(404, NOT_FOUND)

    def check_upload(self, dep: dict[str, Any], key: str, size: int | None) -> None:
        """Refuse an upload before reading its body (state, file count, size, quota)."""
        self._writable(dep)
        keys = {f["key"] for f in dep["files"]}
        if key not in keys and len(keys) >= self.max_files:
            raise ApiError(
                400,
                "Uploading selected files will result in exceeding the max amount per record.",
            )
        if size is not None:
            if size > self.max_file_size:
                raise ApiError(400, "Maximum file size exceeded.")
            used = sum(f["size"] for f in dep["files"] if f["key"] != key)
            if used + size > self.quota:
                raise ApiError(400, "Bucket quota exceeded.")

    def upload_target(self, bucket: str, owner: int, key: str, size: int | None) -> int:
        with self.lock:
            dep = self._bucket(bucket, owner)
            self.check_upload(dep, key, size)
            return dep["id"]

    def new_temp(self) -> Path:
        return self.tmp_dir / f"{uuid.uuid4()}.part"

    def commit_file(
        self, dep_id: int, owner: int, key: str, temp: Path, size: int, md5: str
    ) -> dict[str, Any]:
        """Move a completely received upload into place, replacing an existing key."""
        with self.lock:
            try:
                dep = self._get(dep_id, owner)
                self.check_upload(dep, key, size)
            except ApiError:
                temp.unlink(missing_ok=True)
                raise
            stamp = now_iso()
            old = next((f for f in dep["files"] if f["key"] == key), None)
            entry = {
                "id": old["id"] if old else str(uuid.uuid4()),
                "key": key,
                "size": size,
                "md5": md5,
                "version_id": str(uuid.uuid4()),
                "created": old["created"] if old else stamp,
                "updated": stamp,
            }
            os.replace(temp, self.blob(entry))
            if old:
                self.blob(old).unlink(missing_ok=True)
                dep["files"][dep["files"].index(old)] = entry
            else:
                dep["files"].append(entry)
            dep["modified"] = stamp
            self._save()
            return copy.deepcopy(entry)

    def delete_file(self, dep_id: int, owner: int, file_id: str) -> None:
        with self.lock:
            dep = self._get(dep_id, owner)
            self._writable(dep)
            self._remove(dep, lambda f: f["id"] == file_id)

    def delete_key(self, bucket: str, owner: int, key: str) -> None:
        with self.lock:
            dep = self._bucket(bucket, owner)
            self._writable(dep)
            self._remove(dep, lambda f: f["key"] == key)

    def _remove(self, dep: dict[str, Any], match: Any) -> None:
        found = next((f for f in dep["files"] if match(f)), None)
        if found is None:
            raise ApiError(404, "The requested file does not exist.")
        dep["files"].remove(found)
        self.blob(found).unlink(missing_ok=True)
        dep["modified"] = now_iso()
        self._save()
