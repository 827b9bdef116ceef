"""JSON shapes of the native API (``JsonPrinter``), nulls omitted."""

from __future__ import annotations

import time
from typing import Any

from maggot_zenodo.emulator.dataverse.parse import other_ids, title_of
from maggot_zenodo.emulator.dataverse.schema import license_view
from maggot_zenodo.emulator.dataverse.store import DataFile, Dataset, Version


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def file_metadata(df: DataFile, version: Version) -> dict[str, Any]:
    data_file: dict[str, Any] = {
        "id": df.id,
        "persistentId": "",
        "filename": df.label,
        "contentType": df.content_type,
        "filesize": df.size,
        "description": df.description,
        "categories": df.categories,
        "storageIdentifier": f"file://{df.id:012x}",
        "rootDataFileId": -1,
        "md5": df.md5,
        "checksum": {"type": "MD5", "value": df.md5},
        "tabularData": df.original_name is not None,
        "creationDate": _iso(version.updated)[:10],
    }
    if df.directory:
        data_file["directoryLabel"] = df.directory
    if df.original_name is not None:
        data_file.update(
            originalFileName=df.original_name,
            originalFileSize=df.original_size,
            originalFileFormat="text/csv",
        )
    out: dict[str, Any] = {
        "description": df.description,
        "label": df.label,
        "restricted": False,
        "version": 1,
        "categories": df.categories,
        "dataFile": data_file,
    }
    if df.directory:
        out["directoryLabel"] = df.directory
    return out


def version_json(ds: Dataset, version: Version, *, files: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": ds.id * 1000 + ds.versions.index(version),
        "datasetId": ds.id,
        "datasetPersistentId": ds.pid,
        "storageIdentifier": f"file://{ds.pid.split(':', 1)[1]}",
        "versionState": version.state,
        "lastUpdateTime": _iso(version.updated),
        "createTime": _iso(ds.created),
        "metadataBlocks": version.blocks,
    }
    if version.major is not None:
        out["versionNumber"], out["versionMinorVersionNumber"] = version.major, version.minor
        out["releaseTime"] = _iso(version.updated)
    lic = license_view(version.license)
    if lic is not None:
        out["license"] = lic
    if version.terms:
        out["termsOfUse"] = version.terms
    if files:
        out["files"] = [file_metadata(df, version) for df in version.files]
    return out


def dataset_json(ds: Dataset, locks: list[str], base_url: str) -> dict[str, Any]:
    protocol, rest = ds.pid.split(":", 1)
    authority, identifier = rest.rsplit("/", 1) if rest.count("/") == 1 else rest.split("/", 1)
    out: dict[str, Any] = {
        "id": ds.id,
        "identifier": identifier,
        "persistentUrl": f"https://doi.org/{rest}",
        "protocol": protocol,
        "authority": authority,
        "separator": "/",
        "publisher": "Emulated Dataverse",
        "storageIdentifier": f"file://{rest}",
        "datasetType": "dataset",
        "locks": locks,
        "latestVersion": version_json(ds, ds.latest),
    }
    released = ds.released()
    if released:
        out["publicationDate"] = _iso(released[0].updated)[:10]
    return out


def index_cards(ds: Dataset) -> list[dict[str, Any]]:
    """What Solr would hold for a dataset now: one card per published and per draft version."""
    cards = []
    released = ds.released()
    for version in ([released[-1]] if released else []) + ([ds.draft()] if ds.draft() else []):
        assert version is not None
        cards.append(
            {
                "name": title_of(version.blocks),
                "type": "dataset",
                "global_id": ds.pid,
                "entity_id": ds.id,
                "identifier_of_dataverse": ds.alias,
                "versionState": version.state,
                "majorVersion": version.major,
                "minorVersion": version.minor,
                "createdAt": _iso(ds.created),
                "publicationStatuses": ["Published"]
                if version.state == "RELEASED"
                else ["Unpublished", "Draft"],
                "_otherIds": other_ids(version.blocks),
            }
        )
    return cards
