"""JSON answers built from the store's records: pure functions of a record and the base URL."""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from maggot_zenodo.emulator.legacy import doi_of

DOI_RESOLVER = "https://doi.org/"


_KEY_SAFE = "/!$&'()*+,;=:@"


def deposition_file(base: str, dep: dict[str, Any], f: dict[str, Any]) -> dict[str, Any]:
    """A file as the deposit API shows it: bare md5 checksum; the download link is always the
    draft route (as Zenodo's serializer writes it)."""
    files = _links_files(base, dep)
    return {
        "id": f["id"],
        "filename": f["key"],
        "filesize": f["size"],
        "checksum": f["md5"],
        "links": {
            "self": f"{files}/{f['id']}",
            "download": f"{base}/api/records/{dep['id']}/draft/files/"
            f"{quote(f['key'], safe=_KEY_SAFE)}/content",
        },
    }


def _links_files(base: str, dep: dict[str, Any]) -> str:
    if dep["state"] == "done":
        return f"{base}/api/records/{dep['id']}/files"
    return f"{base}/api/deposit/depositions/{dep['id']}/files"


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


def communities(dep: dict[str, Any], accepted: Sequence[str]) -> list[str]:
    """Slugs shown in ``metadata.communities``: a published record shows the accepted
    inclusions only; a draft shows what it asks for as well."""
    if dep["state"] == "done":
        return list(accepted)
    asked = [c["identifier"] for c in dep["metadata"].get("communities") or []]
    return asked + [slug for slug in accepted if slug not in asked]


def metadata_view(dep: dict[str, Any], accepted: Sequence[str]) -> dict[str, Any]:
    rid = dep["id"]
    metadata = {k: v for k, v in dep["metadata"].items() if k != "communities"}
    slugs = communities(dep, accepted)
    if slugs:
        metadata["communities"] = [{"identifier": s} for s in slugs]
    if dep["doi"]:
        metadata["doi"] = dep["doi"]
    metadata["prereserve_doi"] = {"doi": doi_of(rid), "recid": rid}
    return metadata


def _links(base: str, dep: dict[str, Any], concept_doi: str | None) -> dict[str, str]:
    """Zenodo's link set: a draft's, then what a published record adds or moves."""
    rid, doi = dep["id"], dep["doi"] or ""
    api = f"{base}/api/deposit/depositions/{rid}"
    links = {
        "self": api,
        "html": f"{base}/deposit/{rid}",
        "badge": f"{base}/badge/doi/{doi}.svg",
        "files": _links_files(base, dep),
        "bucket": f"{base}/api/files/{dep['bucket']}",
        "latest_draft": api,
        "latest_draft_html": f"{base}/deposit/{rid}",
        "publish": f"{api}/actions/publish",
        "edit": f"{api}/actions/edit",
        "discard": f"{api}/actions/discard",
        "newversion": f"{api}/actions/newversion",
    }
    if doi:
        links["doi"] = DOI_RESOLVER + doi
    if dep["state"] != "done":
        links["registerconceptdoi"] = f"{api}/actions/registerconceptdoi"
    if dep["submitted"]:
        links.update(
            record=f"{base}/api/records/{rid}",
            record_html=f"{base}/record/{rid}",
            latest=f"{base}/api/records/{rid}/versions/latest",
            latest_html=f"{base}/records/{rid}/latest",
        )
    if dep["state"] == "done":
        links.update(self=f"{base}/api/records/{rid}", html=f"{base}/records/{rid}")
        if concept_doi:
            links["parent_doi"] = DOI_RESOLVER + concept_doi
            links["conceptbadge"] = f"{base}/badge/doi/{concept_doi}.svg"
    return links


def deposition(
    base: str,
    dep: dict[str, Any],
    *,
    concept_published: bool,
    accepted: Sequence[str] = (),
    with_bucket: bool = True,
) -> dict[str, Any]:
    """The deposition JSON (legacy form); links change once published."""
    rid = dep["id"]
    concept_doi = doi_of(dep["conceptrecid"]) if concept_published else None
    out: dict[str, Any] = {
        "created": dep["created"],
        "modified": dep["modified"],
        "id": rid,
        "record_id": rid,
        "conceptrecid": str(dep["conceptrecid"]),
        "metadata": metadata_view(dep, accepted),
        "title": dep["metadata"].get("title", ""),
        "owner": dep["owner"],
        "state": dep["state"],
        "submitted": dep["submitted"],
        "files": [deposition_file(base, dep, f) for f in dep["files"]],
    }
    if dep["doi"]:
        out["doi"] = dep["doi"]
        out["doi_url"] = DOI_RESOLVER + dep["doi"]
    if concept_doi:
        out["conceptdoi"] = concept_doi
    links = _links(base, dep, concept_doi)
    if not with_bucket:
        del links["bucket"]
    out["links"] = links
    return out


def record_file(base: str, rid: int, f: dict[str, Any]) -> dict[str, Any]:
    content = f"{base}/api/records/{rid}/files/{quote(f['key'], safe=_KEY_SAFE)}/content"
    return {
        "id": f["id"],
        "key": f["key"],
        "size": f["size"],
        "checksum": f"md5:{f['md5']}",
        "links": {"self": content},
    }


def record(base: str, dep: dict[str, Any], *, accepted: Sequence[str]) -> dict[str, Any]:
    """``GET /api/records/<id>``: the published version in Zenodo's record format."""
    rid, doi = dep["id"], dep["doi"]
    published = {**dep, "metadata": dep["published_metadata"], "state": "done"}
    concept_doi = doi_of(dep["conceptrecid"])
    links = _links(base, published, concept_doi)
    for name in ("bucket", "publish", "edit", "discard", "newversion", "latest_draft_html"):
        links.pop(name, None)
    links["latest_draft"] = f"{base}/api/deposit/depositions/{rid}"
    zero = ("downloads", "unique_downloads", "views", "unique_views")
    return {
        "created": dep["created"],
        "modified": dep["modified"],
        "updated": dep["modified"],
        "id": rid,
        "recid": str(rid),
        "conceptrecid": str(dep["conceptrecid"]),
        "doi": doi,
        "conceptdoi": concept_doi,
        "doi_url": DOI_RESOLVER + doi,
        "title": published["metadata"].get("title", ""),
        "metadata": metadata_view(published, accepted),
        "links": links,
        "files": [record_file(base, rid, f) for f in dep["files"]],
        "owners": [{"id": dep["owner"]}],
        "status": "published",
        "state": "done",
        "submitted": True,
        "stats": {
            **{k: 0 for k in zero},
            **{f"version_{k}": 0 for k in zero},
        },
    }


def record_files(base: str, dep: dict[str, Any]) -> dict[str, Any]:
    rid = dep["id"]
    return {
        "enabled": True,
        "entries": [record_file(base, rid, f) for f in dep["files"]],
        "links": {"self": f"{base}/api/records/{rid}/files"},
    }


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
