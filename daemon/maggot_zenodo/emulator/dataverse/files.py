"""``POST /api/datasets/{id}/add``: multipart upload, renaming, tabular ingest, the Ingest lock."""

from __future__ import annotations

import json
import re
import time
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from maggot_zenodo.emulator.dataverse.messages import Request, Response, ok
from maggot_zenodo.emulator.dataverse.store import DataFile, Dataset, DvError
from maggot_zenodo.emulator.httpio import (
    BodyTooLarge,
    iter_multipart,
    multipart_boundary,
    stream_to_file,
)

if TYPE_CHECKING:  # api imports this module
    from maggot_zenodo.emulator.dataverse.api import Api

MAX_FILE = 50_000_000_000
_BAD_LABEL = re.compile(r'[:<>;#/"*|?\\]')
_DIR_OK = re.compile(r"^[\w\\/. -]*$")
TABULAR = {".csv": "text/csv", ".tsv": "text/tsv", ".xlsx": "application/xlsx"}
TYPES = {
    ".txt": "text/plain",
    ".json": "application/json",
    ".pdf": "application/pdf",
    ".png": "image/png",
    ".zip": "application/zip",
    ".tab": "text/tab-separated-values",
}


def _flag(value: Any, default: bool) -> bool:
    if value is None:
        return default
    return str(value).lower() == "true" if isinstance(value, str) else bool(value)


def _unique(label: str, directory: str, taken: set[tuple[str, str]]) -> str:
    """``name-1.ext``, ``name-2.ext``... for a path already in the version."""
    if (directory, label) not in taken:
        return label
    path = PurePosixPath(label)
    for n in range(1, 10_000):
        candidate = f"{path.stem}-{n}{path.suffix}"
        if (directory, candidate) not in taken:
            return candidate
    raise DvError(400, "Failed to add file to dataset.")


def _read_parts(api: Api, req: Request, file_id: int) -> tuple[dict[str, Any], str, int, str]:
    boundary = multipart_boundary(req.headers.get("Content-Type") or "")
    if boundary is None:
        raise DvError(415, "HTTP 415 Unsupported Media Type")
    meta: dict[str, Any] = {}
    name, size, md5 = "", -1, ""
    target = api.store.files_dir / str(file_id)
    for params, chunks in iter_multipart(req.body, boundary):
        if params.get("name") == "jsonData":
            text = b"".join(chunks).decode("utf-8", "replace")
            try:
                meta = json.loads(text) if text.strip() else {}
            except ValueError:
                raise DvError(400, "Error in parsing provided json") from None
            if not isinstance(meta, dict):
                raise DvError(400, "Error in parsing provided json")
        elif params.get("name") == "file":
            name = params.get("filename", "")
            try:
                size, md5 = stream_to_file(chunks, target, MAX_FILE)
            except BodyTooLarge:
                raise DvError(
                    400,
                    "There was an error when trying to add the new file. This "
                    "file size exceeds the size limit.",
                ) from None
    if size < 0:
        raise DvError(400, "No file was uploaded")
    return meta, name, size, md5


def add_file(api: Api, req: Request, ds: Dataset) -> Response:
    from maggot_zenodo.emulator.dataverse.views import file_metadata

    file_id = api.store.new_id()
    meta, name, size, md5 = _read_parts(api, req, file_id)
    target = api.store.files_dir / str(file_id)
    label = PurePosixPath(name.replace("\\", "/")).name
    directory = str(meta.get("directoryLabel") or "").strip("/-. ")
    if not label or _BAD_LABEL.search(label):
        target.unlink(missing_ok=True)
        raise DvError(400, f"Invalid file name: {name}")
    if not _DIR_OK.match(directory):
        target.unlink(missing_ok=True)
        raise DvError(400, f"Invalid directory label: {directory}")
    draft = api.store.edit_version(ds)
    taken = {(f.directory, f.label) for f in draft.files}
    same = next((f for f in draft.files if f.md5 == md5), None)
    suffix = PurePosixPath(label).suffix.lower()
    ingest = _flag(meta.get("tabIngest"), True) and suffix in TABULAR
    content_type = TABULAR.get(suffix) or TYPES.get(suffix, "application/octet-stream")
    df = DataFile(
        file_id,
        _unique(label, directory, taken),
        directory,
        str(meta.get("description") or ""),
        list(meta.get("categories") or []),
        content_type,
        size,
        md5,
        target,
    )
    draft.files.append(df)
    draft.updated = time.time()
    linger = "lingering_lock" in req.behaviours
    if ingest or linger:
        seconds = api.timing.lingering_lock if linger else api.timing.ingest
        ds.locks["Ingest"] = max(ds.locks.get("Ingest", 0.0), time.monotonic() + seconds)
    if ingest:  # the .tab conversion happens "later"; the answer shows the upload
        taken.add((directory, df.label))
        original = df.label
        df.label = _unique(PurePosixPath(original).stem + ".tab", directory, taken)
        df.original_name, df.original_size = original, size
        df.content_type = "text/tab-separated-values"
    api._index(ds, req)
    extra: dict[str, Any] = {}
    if same is not None:
        extra["message"] = f"This file has the same content as {same.label} that is in the dataset."
    return ok({"files": [file_metadata(df, draft)]}, **extra)
