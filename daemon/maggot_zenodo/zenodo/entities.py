"""Typed views of what Zenodo answers, so nothing downstream pokes at JSON dicts.

The client builds these from Zenodo's JSON; ``raw`` keeps the whole answer for the rare reader
who needs a field not modelled here (the emulator tests, debugging).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class DepositionFile:
    """A file of a deposition: ``checksum`` is a bare md5 hex digest."""

    id: str
    filename: str
    filesize: int
    checksum: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DepositionFile:
        checksum = str(data.get("checksum") or "")
        if checksum.startswith("md5:"):
            checksum = checksum[4:]
        return cls(
            id=str(data.get("id") or ""),
            filename=str(data.get("filename") or data.get("key") or ""),
            filesize=int(data.get("filesize") or data.get("size") or 0),
            checksum=checksum,
        )


@dataclass(frozen=True)
class Deposition:
    """A deposition as the deposit API shows it.

    ``state`` is ``unsubmitted`` (never published, or a new-version draft), ``done``
    (published) or ``inprogress`` (published and being edited on zenodo.org).
    """

    id: int
    state: str
    submitted: bool
    title: str
    bucket: str | None
    html: str | None
    record: str | None
    doi: str | None
    concept_doi: str | None
    concept_id: str | None
    files: tuple[DepositionFile, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def published(self) -> bool:
        return self.submitted or self.state in ("done", "inprogress")

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Deposition:
        links = data.get("links") or {}
        metadata = data.get("metadata") or {}
        files = tuple(
            DepositionFile.from_json(f) for f in (data.get("files") or []) if isinstance(f, dict)
        )
        concept = data.get("conceptrecid")
        return cls(
            id=int(data["id"]),
            state=str(data.get("state") or ""),
            submitted=bool(data.get("submitted")),
            title=str(data.get("title") or metadata.get("title") or ""),
            bucket=_str_or_none(links.get("bucket")),
            html=_str_or_none(links.get("html")),
            record=_str_or_none(links.get("record_html") or links.get("record")),
            doi=_str_or_none(data.get("doi")),
            concept_doi=_str_or_none(data.get("conceptdoi")),
            concept_id=str(concept) if concept not in (None, "") else None,
            files=files,
            metadata=metadata,
            raw=data,
        )
