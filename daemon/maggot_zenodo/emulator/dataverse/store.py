"""Datasets, versions, files, locks and a lagging search index, in memory (bytes on disk).

Time-driven behaviour (locks that expire, a publication that finalises later, an index that
catches up) is settled lazily: every read or write first brings the dataset up to ``now``.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EDIT_BLOCKING = (
    "Workflow",
    "InReview",
    "finalizePublication",
    "EditInProgress",
    "FileValidationFailed",
    "DcmUpload",
    "GlobusUpload",
)
PUBLISH_BLOCKING = (
    "Ingest",
    "Workflow",
    "finalizePublication",
    "EditInProgress",
    "FileValidationFailed",
)


class DvError(Exception):
    """An answer with an error envelope: ``status`` and ``message``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class DataFile:
    id: int
    label: str
    directory: str
    description: str
    categories: list[str]
    content_type: str
    size: int
    md5: str
    path: Path
    original_name: str | None = None
    original_size: int | None = None


@dataclass
class Version:
    state: str  # DRAFT | RELEASED
    blocks: dict[str, Any]
    license: dict[str, Any] | None
    files: list[DataFile]
    major: int | None = None
    minor: int | None = None
    updated: float = field(default_factory=time.time)
    terms: str | None = None


@dataclass
class Dataset:
    id: int
    pid: str
    alias: str
    owner: int
    versions: list[Version]
    locks: dict[str, float] = field(default_factory=dict)  # type → monotonic expiry
    pending_release: tuple[float, int, int] | None = None  # (when, major, minor)
    index: list[tuple[float, list[dict[str, Any]]]] = field(default_factory=list)
    destroyed: bool = False
    created: float = field(default_factory=time.time)

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    def draft(self) -> Version | None:
        return self.latest if self.latest.state == "DRAFT" else None

    def released(self) -> list[Version]:
        return [v for v in self.versions if v.state == "RELEASED"]


class Store:
    """Every dataset, thread-safe under one lock."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.files_dir = data_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.clear()

    def clear(self) -> None:
        with self.lock:
            self.datasets: dict[int, Dataset] = {}
            self.next_id = 1
            for path in self.files_dir.glob("*"):
                path.unlink(missing_ok=True)

    def new_id(self) -> int:
        with self.lock:
            value, self.next_id = self.next_id, self.next_id + 1
            return value

    # ----- time ------------------------------------------------------------------------
    def settle(self, ds: Dataset) -> None:
        now = time.monotonic()
        ds.locks = {k: t for k, t in ds.locks.items() if t > now}
        if ds.pending_release and ds.pending_release[0] <= now:
            _, major, minor = ds.pending_release
            ds.pending_release = None
            draft = ds.draft()
            if draft is not None:
                draft.state, draft.major, draft.minor = "RELEASED", major, minor
                draft.updated = time.time()

    def active_locks(self, ds: Dataset) -> list[str]:
        self.settle(ds)
        return sorted(ds.locks)

    # ----- lookup ----------------------------------------------------------------------
    def get(self, ref: str, pid: str | None) -> Dataset:
        with self.lock:
            if ref == ":persistentId":
                if not pid:
                    raise DvError(
                        400,
                        "When accessing a dataset based on Persistent ID, a "
                        "persistentId query parameter must be present.",
                    )
                for ds in self.datasets.values():
                    if ds.pid == pid and not ds.destroyed:
                        self.settle(ds)
                        return ds
                raise DvError(
                    404,
                    "When accessing a dataset based on Persistent ID, a "
                    "persistentId query parameter must be present.",
                )
            try:
                ds = self.datasets[int(ref)]
            except (ValueError, KeyError):
                raise DvError(404, f"Dataset with ID {ref} not found.") from None
            if ds.destroyed:
                raise DvError(404, f"Dataset with ID {ref} not found.")
            self.settle(ds)
            return ds

    def find_file(self, file_id: int) -> tuple[Dataset, DataFile]:
        with self.lock:
            for ds in self.datasets.values():
                if ds.destroyed:
                    continue
                self.settle(ds)
                for version in reversed(ds.versions):
                    for df in version.files:
                        if df.id == file_id:
                            return ds, df
        raise DvError(404, f"File with ID {file_id} not found.")

    def edit_version(self, ds: Dataset) -> Version:
        """The draft, created from the last release when there is none (getOrCreateEditVersion)."""
        draft = ds.draft()
        if draft is not None:
            return draft
        last = ds.latest
        draft = Version(
            "DRAFT",
            copy.deepcopy(last.blocks),
            copy.deepcopy(last.license),
            list(last.files),
            terms=last.terms,
        )
        ds.versions.append(draft)
        return draft

    def all(self) -> list[Dataset]:
        with self.lock:
            for ds in self.datasets.values():
                self.settle(ds)
            return list(self.datasets.values())
