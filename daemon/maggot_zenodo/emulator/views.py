"""JSON answers built from the store's records: pure functions of a record and the base URL."""

from __future__ import annotations

import mimetypes
from typing import Any
from urllib.parse import quote

from maggot_zenodo.emulator.store import doi_of

DOI_RESOLVER = "https://doi.org/"


def deposition_file(base: str, dep: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    """A file as the deposit API shows it: bare md5 checksum."""
    api = f"{base}/api/deposit/depositions/{dep['id']}"
    where = f"records/{dep['id']}/files" if dep["submitted"] else f"records/{dep['id']}/draft/files"
    return {
        "id": f["id"],
        "filename": f["key"],
        "filesize": f["size"],
        "checksum": f["md5"],
        "links": {
            "self": f"{api}/files/{f['id']}",
            "download": f"{base}/api/{where}/{quote(f['key'])}/content",
        },
    }


def bucket_object(base: str, dep: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    """A file as the bucket API shows it: ``md5:`` checksum."""
    url = f"{base}/api/files/{dep['bucket']}/{quote(f['key'])}"
    return {
        "key": f["key"],
        "size": f["size"],
        "mimetype": mimetypes.guess_type(f["key"])[0] or "application/octet-stream",
        "checksum": f"md5:{f['md5']}",
        "version_id": f["version_id"],
        "created": f["created"],
        "updated": f["updated"],
        "is_head": True,
        "delete_marker": False,
        "links": {
            "self": url,
            "version": f"{url}?versionId={f['version_id']}",
            "uploads": f"{url}?uploads",
        },
    }


def bucket(base: str, dep: dict[str, Any], quota: int, max_file_size: int) -> dict[str, Any]:
    url = f"{base}/api/files/{dep['bucket']}"
    return {
        "id": dep["bucket"],
        "created": dep["created"],
        "updated": dep["modified"],
        "locked": dep["state"] != "unsubmitted",
        "size": sum(f["size"] for f in dep["files"]),
        "quota_size": quota,
        "max_file_size": max_file_size,
        "contents": [bucket_object(base, dep, f) for f in dep["files"]],
        "links": {"self": url, "versions": f"{url}?versions", "uploads": f"{url}?uploads"},
    }


def deposition(
    base: str,
    dep: dict[str, Any],
    *,
    latest: int | None,
    concept_published: bool,
    with_bucket: bool = True,
) -> dict[str, Any]:
    """The deposition JSON; links change once published (``latest`` = newest published id)."""
    rid = dep["id"]
    api = f"{base}/api/deposit/depositions/{rid}"
    metadata = {**dep["metadata"], "prereserve_doi": {"doi": doi_of(rid), "recid": rid}}
    links: dict[str, str] = {
        "self": api,
        "html": f"{base}/deposit/{rid}",
        "badge": f"{base}/badge/doi/{doi_of(rid)}.svg",
        "files": f"{api}/files",
        "bucket": f"{base}/api/files/{dep['bucket']}",
        "latest_draft": api,
        "latest_draft_html": f"{base}/deposit/{rid}",
        "publish": f"{api}/actions/publish",
        "edit": f"{api}/actions/edit",
        "discard": f"{api}/actions/discard",
        "newversion": f"{api}/actions/newversion",
    }
    out: dict[str, Any] = {
        "created": dep["created"],
        "modified": dep["modified"],
        "id": rid,
        "record_id": rid,
        "conceptrecid": str(dep["conceptrecid"]),
        "metadata": metadata,
        "title": dep["metadata"].get("title", ""),
        "owner": dep["owner"],
        "state": dep["state"],
        "submitted": dep["submitted"],
        "files": [deposition_file(base, dep, f) for f in dep["files"]],
    }
    if dep["submitted"]:
        newest = latest or rid
        links.update(
            self=f"{base}/api/records/{rid}",
            html=f"{base}/records/{rid}",
            doi=DOI_RESOLVER + dep["doi"],
            record=f"{base}/api/records/{rid}",
            record_html=f"{base}/records/{rid}",
            latest=f"{base}/api/records/{newest}",
            latest_html=f"{base}/records/{newest}",
        )
        out["doi"] = dep["doi"]
        out["doi_url"] = DOI_RESOLVER + dep["doi"]
    if concept_published:
        out["conceptdoi"] = doi_of(dep["conceptrecid"])
    if not with_bucket:
        del links["bucket"]
    out["links"] = links
    return out


def summary(dep: dict[str, Any]) -> dict[str, Any]:
    """One deposition in ``GET /_emulator/state``."""
    return {
        "id": dep["id"],
        "conceptrecid": dep["conceptrecid"],
        "state": dep["state"],
        "submitted": dep["submitted"],
        "owner": dep["owner"],
        "title": dep["metadata"].get("title", ""),
        "doi": dep["doi"],
        "bucket": dep["bucket"],
        "metadata": dep["metadata"],
        "files": [
            {"filename": f["key"], "filesize": f["size"], "checksum": f["md5"]}
            for f in dep["files"]
        ],
    }
