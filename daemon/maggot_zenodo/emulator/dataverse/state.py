"""``GET /_emulator/state``: every dataset, its versions and files, and the request counters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from maggot_zenodo.emulator.dataverse.parse import other_ids, title_of
from maggot_zenodo.emulator.dataverse.store import Dataset, Version

if TYPE_CHECKING:
    from maggot_zenodo.emulator.dataverse.server import DataverseServer


def _version(v: Version) -> dict[str, Any]:
    return {
        "state": v.state,
        "number": None if v.major is None else f"{v.major}.{v.minor}",
        "title": title_of(v.blocks),
        "license": None if v.license is None else v.license["name"],
        "fields": sorted(f["typeName"] for f in (v.blocks.get("citation") or {}).get("fields", [])),
        "files": [
            {
                "id": f.id,
                "label": f.label,
                "directoryLabel": f.directory,
                "size": f.size,
                "md5": f.md5,
                "contentType": f.content_type,
            }
            for f in v.files
        ],
    }


def _dataset(ds: Dataset, locks: list[str]) -> dict[str, Any]:
    return {
        "id": ds.id,
        "persistentId": ds.pid,
        "collection": ds.alias,
        "owner": ds.owner,
        "otherIds": [list(pair) for pair in other_ids(ds.latest.blocks)],
        "locks": locks,
        "versions": [_version(v) for v in ds.versions],
    }


def snapshot(server: DataverseServer) -> dict[str, Any]:
    store = server.api.store
    with store.lock:
        datasets = store.all()
        live = [_dataset(ds, store.active_locks(ds)) for ds in datasets if not ds.destroyed]
        destroyed = [ds.id for ds in datasets if ds.destroyed]
    injected = server.faults.counts()
    return {
        "api": "dataverse",
        "collection": server.api.collection,
        "datasets": live,
        "destroyed": destroyed,
        "requests": server.counters.snapshot(),
        "faults": {
            "injected": injected,
            "total": sum(injected.values()),
            "spec": server.faults.spec.as_dict(),
        },
    }
