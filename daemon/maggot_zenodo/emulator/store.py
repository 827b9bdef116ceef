"""Depositions, buckets, files and communities of the emulator, with Zenodo's rules.

State lives in SQLite (``db.py``: one row per deposition, so a change costs the same at 10 000
depositions as at 100); file contents live in ``files/<version_id>``. Uploads are written to
``tmp/`` first and renamed into place only once complete, so an interrupted upload leaves the
previous version of a key intact. Every operation checks ownership and state the way Zenodo
does and raises :class:`ApiError`. One re-entrant lock serialises all access.
"""

from __future__ import annotations

import copy
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maggot_zenodo.emulator import legacy, validation
from maggot_zenodo.emulator.db import Database, Query
from maggot_zenodo.emulator.errors import (
    DELETED,
    DENIED,
    INVALID,
    NO_BUCKET,
    NO_FILE,
    NOT_FOUND,
    ApiError,
)
from maggot_zenodo.emulator.legacy import doi_of, now_iso

FIRST_ID = 100_000
Dep = dict[str, Any]


class Store:
    """All depositions of all users; thread-safe."""

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
        self.db = Database(self.root)
        self.db.import_state_json(self.root / "state.json")
        self._next_id = self.db.next_id(FIRST_ID)

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def clear(self) -> None:
        """Forget every deposition and file (``POST /_emulator/reset``)."""
        with self.lock:
            self.db.clear()
            self._next_id = FIRST_ID
            shutil.rmtree(self.files_dir, ignore_errors=True)
            self.files_dir.mkdir(parents=True, exist_ok=True)

    def _alloc(self) -> int:
        self._next_id += 1
        self.db.set_next_id(self._next_id)
        return self._next_id - 1

    # ----- lookups -----------------------------------------------------------------------
    def _get(self, dep_id: int, owner: int) -> Dep:
        dep = self.db.get(dep_id)
        if dep is None or (dep["deleted"] and not dep.get("removed")):
            raise ApiError(404, NOT_FOUND)  # a deleted draft is gone, as if never made
        if dep["deleted"]:
            raise ApiError(410, DELETED)
        if dep["owner"] != owner:
            raise ApiError(403, DENIED)
        return dep

    def get(self, dep_id: int, owner: int) -> Dep:
        with self.lock:
            return self._get(dep_id, owner)

    def peek(self, dep_id: int) -> Dep | None:
        """Any live deposition, whoever owns it (for the read-only HTML pages)."""
        with self.lock:
            dep = self.db.get(dep_id)
            return None if dep is None or dep["deleted"] else dep

    def get_record(self, recid: int) -> Dep:
        """A published record, for anyone (``GET /api/records/<id>``)."""
        with self.lock:
            dep = self.db.get(recid)
            if dep is None or not dep["submitted"]:
                raise ApiError(404, NOT_FOUND)
            if dep["deleted"]:
                raise ApiError(410, DELETED)
            return dep

    def by_bucket(self, bucket: str, owner: int) -> Dep:
        with self.lock:
            return self._bucket(bucket, owner)

    def _bucket(self, bucket: str, owner: int) -> Dep:
        dep = self.db.by_bucket(bucket)
        if dep is None or dep["deleted"]:
            raise ApiError(404, NO_BUCKET)
        if dep["owner"] != owner:
            raise ApiError(403, DENIED)
        return dep

    def search(self, query: Query) -> list[Dep]:
        with self.lock:
            return self.db.search(query)

    def all(self) -> list[Dep]:
        with self.lock:
            return self.db.all()

    def latest_published(self, conceptrecid: int) -> int | None:
        with self.lock:
            return self.db.latest_published(conceptrecid)

    def accepted_communities(self, conceptrecid: int) -> list[str]:
        with self.lock:
            return self.db.accepted(conceptrecid)

    def is_version_draft(self, *, dep_id: int | None = None, bucket: str | None = None) -> bool:
        """Whether the id or bucket names an unpublished new-version draft (for faults)."""
        with self.lock:
            dep = self.db.get(dep_id) if dep_id is not None else self.db.by_bucket(bucket or "")
            return bool(
                dep and not dep["deleted"] and dep["state"] == "unsubmitted" and dep["parent"]
            )

    def blob(self, file: dict[str, Any]) -> Path:
        return self.files_dir / str(file["version_id"])

    # ----- depositions -------------------------------------------------------------------
    def create(self, owner: int, metadata: dict[str, Any]) -> Dep:
        with self.lock, self.db.transaction():
            concept, dep_id, stamp = self._alloc(), self._alloc(), now_iso()
            dep: Dep = {
                "id": dep_id,
                "conceptrecid": concept,
                "owner": owner,
                "created": stamp,
                "modified": stamp,
                "metadata": legacy.stored(metadata),
                "state": "unsubmitted",
                "submitted": False,
                "deleted": False,
                "removed": False,
                "bucket": str(uuid.uuid4()),
                "files": [],
                "doi": None,
                "published_metadata": None,
                "parent": None,
            }
            self.db.put(dep)
            return dep

    def update(self, dep_id: int, owner: int, metadata: dict[str, Any]) -> Dep:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                raise ApiError(404, NOT_FOUND)
            dep["metadata"] = legacy.stored(metadata)  # a PUT replaces, it does not merge
            return self._touch(dep)

    def _touch(self, dep: Dep) -> Dep:
        dep["modified"] = now_iso()
        self.db.put(dep)
        return dep

    def delete(self, dep_id: int, owner: int) -> None:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] != "unsubmitted":
                raise ApiError(404, NOT_FOUND)
            self._drop(dep)

    def _drop(self, dep: Dep) -> None:
        for f in dep["files"]:
            self.blob(f).unlink(missing_ok=True)
        dep["files"], dep["deleted"] = [], True
        self._touch(dep)

    def remove_record(self, recid: int) -> None:
        """Zenodo's staff remove a published record: 410 from then on (a test endpoint)."""
        with self.lock:
            dep = self.db.get(recid)
            if dep is None or not dep["submitted"] or dep["deleted"]:
                raise ApiError(404, NOT_FOUND)
            dep["deleted"], dep["removed"] = True, True
            self._touch(dep)

    def publish(self, dep_id: int, owner: int) -> Dep:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                raise ApiError(404, NOT_FOUND)
            errors = validation.check_publish(dep["metadata"], len(dep["files"]))
            if errors:
                raise ApiError(400, INVALID, errors)
            with self.db.transaction():
                slugs = [c["identifier"] for c in dep["metadata"].get("communities") or []]
                self.db.include(dep["conceptrecid"], dep["id"], dep["owner"], slugs)
                dep["metadata"].pop("communities", None)  # now held by inclusion requests
                dep["doi"] = dep["doi"] or doi_of(dep["id"])
                dep["state"], dep["submitted"] = "done", True
                dep["published_metadata"] = copy.deepcopy(dep["metadata"])
                return self._touch(dep)

    def edit(self, dep_id: int, owner: int) -> Dep:
        with self.lock:
            dep = self._get(dep_id, owner)
            if dep["state"] == "done":
                dep["state"] = "inprogress"
                self._touch(dep)
            return dep

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
                self._touch(dep)
            else:
                self._drop(dep)

    def new_version(self, dep_id: int, owner: int) -> Dep:
        """A new-version draft built from the concept's latest published version (see the
        package docs for a second call while the draft is open)."""
        with self.lock:
            dep = self._get(dep_id, owner)
            if not dep["submitted"]:
                raise ApiError(404, NOT_FOUND)
            versions = self.db.concept(dep["conceptrecid"])
            latest = max(
                (d for d in versions if d["submitted"] and not d["deleted"]),
                key=lambda d: d["id"],
            )
            draft = next(
                (d for d in versions if d["state"] == "unsubmitted" and not d["deleted"]), None
            )
            if draft is not None:
                if draft["files"]:
                    message = "Please remove all files first."
                    raise ApiError(400, INVALID, [validation.error("files.enabled", message)])
                draft["files"] = [self._copy_file(f) for f in latest["files"]]
                return self._touch(draft)
            with self.db.transaction():
                return self._version_draft(latest)

    def _version_draft(self, latest: Dep) -> Dep:
        stamp = now_iso()
        draft = {
            **latest,
            "id": self._alloc(),
            "created": stamp,
            "modified": stamp,
            "metadata": legacy.for_new_version(latest["published_metadata"]),
            "state": "unsubmitted",
            "submitted": False,
            "bucket": str(uuid.uuid4()),
            "files": [self._copy_file(f) for f in latest["files"]],
            "doi": None,
            "published_metadata": None,
            "parent": latest["id"],
        }
        self.db.put(draft)
        return draft

    def _copy_file(self, f: dict[str, Any]) -> dict[str, Any]:
        new = {**f, "id": str(uuid.uuid4()), "version_id": str(uuid.uuid4())}
        try:
            os.link(self.blob(f), self.blob(new))
        except OSError:
            shutil.copyfile(self.blob(f), self.blob(new))
        return new

    # ----- files -------------------------------------------------------------------------
    @staticmethod
    def _writable(dep: Dep, status: int = 403) -> None:
        """Files change only on an unpublished draft; Zenodo answers 403 (bucket writes,
        deletions) or 404 (a multipart upload) on a published record."""
        if dep["state"] != "unsubmitted":
            raise ApiError(status, DENIED if status == 403 else NOT_FOUND)

    def check_upload(self, dep: Dep, key: str, size: int | None, *, locked: int = 403) -> None:
        """Refuse an upload before reading its body (state, file count, size, quota)."""
        self._writable(dep, locked)
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
            return int(dep["id"])

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
            self._touch(dep)
            return entry

    def delete_file(self, dep_id: int, owner: int, file_id: str) -> None:
        with self.lock:
            dep = self._get(dep_id, owner)
            self._remove(dep, lambda f: f["id"] == file_id)

    def delete_key(self, bucket: str, owner: int, key: str) -> None:
        with self.lock:
            dep = self._bucket(bucket, owner)
            self._remove(dep, lambda f: f["key"] == key)

    def _remove(self, dep: Dep, match: Callable[[dict[str, Any]], bool]) -> None:
        found = next((f for f in dep["files"] if match(f)), None)
        if found is None:
            raise ApiError(404, NO_FILE)
        self._writable(dep)
        dep["files"].remove(found)
        self.blob(found).unlink(missing_ok=True)
        self._touch(dep)

    # ----- communities (configured by the tests or the command line) --------------------
    def set_community(self, slug: str, curators: list[int] | str) -> None:
        with self.lock:
            self.db.set_community(slug, curators)

    def communities(self) -> dict[str, Any]:
        with self.lock:
            return {"communities": self.db.communities(), "requests": self.db.inclusions()}

    def decide(self, slug: str, status: str) -> int:
        """A curator accepts or declines the waiting requests of a community; how many."""
        with self.lock:
            return self.db.decide(slug, status)
