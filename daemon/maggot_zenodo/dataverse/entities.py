"""Typed views of Dataverse answers: what the deposit needs, nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetRef:
    """The two stable identifiers of a dataset (both are recorded in the journal)."""

    id: int
    persistent_id: str


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset version, as Dataverse lists it."""

    id: int
    label: str
    directory: str
    size: int
    checksum_type: str
    checksum: str
    original_name: str | None = None

    @property
    def path(self) -> str:
        """``directoryLabel/label``: the place of the file in the dataset."""
        return f"{self.directory}/{self.label}" if self.directory else self.label

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> RemoteFile:
        data = item.get("dataFile") or {}
        checksum = data.get("checksum") or {}
        return cls(
            id=int(data["id"]),
            label=str(item.get("label") or data.get("filename") or ""),
            directory=str(item.get("directoryLabel") or data.get("directoryLabel") or ""),
            size=int(data.get("filesize") or 0),
            checksum_type=str(checksum.get("type") or ("MD5" if data.get("md5") else "")),
            checksum=str(checksum.get("value") or data.get("md5") or ""),
            original_name=data.get("originalFileName"),
        )


@dataclass(frozen=True)
class DatasetVersion:
    """The latest version the token may see (the draft when there is one)."""

    ref: DatasetRef
    state: str  # DRAFT | RELEASED | ...
    number: str | None  # "1.0" once released
    released_before: bool  # some version of the dataset is published
    title: str
    license_name: str | None
    other_ids: tuple[tuple[str, str], ...]
    files: tuple[RemoteFile, ...]
    persistent_url: str


def other_ids(blocks: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """(agency, value) of every ``otherId`` in a version's citation block."""
    out: list[tuple[str, str]] = []
    for item in (blocks.get("citation") or {}).get("fields", []):
        if item.get("typeName") != "otherId":
            continue
        for comp in item.get("value") or []:
            agency = (comp.get("otherIdAgency") or {}).get("value", "")
            value = (comp.get("otherIdValue") or {}).get("value", "")
            out.append((str(agency), str(value)))
    return tuple(out)


def title_of(blocks: dict[str, Any]) -> str:
    for item in (blocks.get("citation") or {}).get("fields", []):
        if item.get("typeName") == "title":
            return str(item.get("value") or "")
    return ""


def version_from_json(dataset: dict[str, Any]) -> DatasetVersion:
    """From ``GET /api/datasets/{id}`` (``data``)."""
    latest = dataset.get("latestVersion") or {}
    blocks = latest.get("metadataBlocks") or {}
    major, minor = latest.get("versionNumber"), latest.get("versionMinorVersionNumber")
    number = f"{major}.{minor}" if major is not None else None
    lic = latest.get("license")
    pid = latest.get("datasetPersistentId") or (
        f"{dataset['protocol']}:{dataset['authority']}/{dataset['identifier']}"
    )
    return DatasetVersion(
        ref=DatasetRef(int(dataset["id"]), pid),
        state=str(latest.get("versionState") or ""),
        number=number,
        released_before=bool(dataset.get("publicationDate")),
        title=title_of(blocks),
        license_name=lic.get("name") if isinstance(lic, dict) else lic,
        other_ids=other_ids(blocks),
        files=tuple(RemoteFile.from_json(f) for f in latest.get("files") or []),
        persistent_url=str(dataset.get("persistentUrl") or ""),
    )
