"""The deposit API's routes: one request in, one :class:`Response` out (or :class:`ApiError`).

HTTP plumbing (sockets, faults, rate limits, counters) lives in ``server.py``; this module only
maps method + path to store operations and JSON views.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from maggot_zenodo.emulator import listing, validation, views
from maggot_zenodo.emulator.errors import DENIED, INVALID, NO_FILE, NOT_FOUND, ApiError
from maggot_zenodo.emulator.httpio import (
    BodyReader,
    BodyTooLarge,
    iter_multipart,
    multipart_boundary,
    secure_filename,
    stream_to_file,
)
from maggot_zenodo.emulator.store import Store

JSON_LIMIT = 10_000_000
MULTIPART_LIMIT = 100 * 1024 * 1024
BAD_JSON = "Unable to decode JSON data in request body."
UNSUPPORTED_JSON = "Invalid 'Content-Type' header. Expected one of: application/json."
UNSUPPORTED_BYTES = "Invalid 'Content-Type' header. Expected one of: application/octet-stream."
NO_URL = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: Message
    body: BodyReader
    owner: int | None
    base: str

    @property
    def user(self) -> int:
        """The caller's owner id (routes that need one are only reached with one)."""
        if self.owner is None:
            raise ApiError(403, DENIED)
        return self.owner


@dataclass
class Response:
    status: int
    payload: Any = None
    body: bytes = b""
    content_type: str = "application/json"
    file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Response]


class Api:
    """Routes of ``/api/``; every handler but the public record ones needs an owner."""

    def __init__(self, store: Store, *, index_delay: float = 0.0) -> None:
        self.store = store
        self.index_delay = index_delay
        dep = r"/api/deposit/depositions"
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler], bool]] = [
            (re.compile(rf"{dep}/?"), {"GET": self.list, "POST": self.create}, True),
            (
                re.compile(rf"{dep}/([^/]+)"),
                {"GET": self.get, "PUT": self.update, "DELETE": self.delete},
                True,
            ),
            (re.compile(rf"{dep}/([^/]+)/actions/(\w+)"), {"POST": self.action}, True),
            (
                re.compile(rf"{dep}/([^/]+)/files/?"),
                {"GET": self.list_files, "POST": self.post_file},
                True,
            ),
            (
                re.compile(rf"{dep}/([^/]+)/files/([^/]+)"),
                {"GET": self.get_file, "DELETE": self.delete_file},
                True,
            ),
            (re.compile(r"/api/files/([^/]+)/?"), {"GET": self.get_bucket}, True),
            (
                re.compile(r"/api/files/([^/]+)/([^/]+)"),
                {"GET": self.download, "PUT": self.put_object, "DELETE": self.delete_object},
                True,
            ),
            (re.compile(r"/api/records/(\d+)"), {"GET": self.get_record}, False),
            (re.compile(r"/api/records/(\d+)/versions/latest"), {"GET": self.latest}, False),
            (re.compile(r"/api/records/(\d+)/versions/?"), {"POST": self.versions}, True),
            (re.compile(r"/api/records/(\d+)/files/?"), {"GET": self.record_files}, False),
            (
                re.compile(r"/api/records/(\d+)/files/([^/]+)/content"),
                {"GET": self.record_content},
                False,
            ),
            (
                re.compile(r"/api/records/(\d+)/draft/files/([^/]+)/content"),
                {"GET": self.draft_content},
                True,
            ),
        ]

    def handle(self, req: Request) -> Response:
        for pattern, methods, needs_owner in self.routes:
            m = pattern.fullmatch(req.path)
            if not m:
                continue
            handler = methods.get(req.method)
            if handler is None:
                raise ApiError(405, "The method is not allowed for the requested URL.")
            if needs_owner and req.owner is None:
                raise ApiError(403, DENIED)
            return handler(req, *(unquote(g) for g in m.groups()))
        raise ApiError(404, NO_URL)

    # ----- helpers -----------------------------------------------------------------------
    @staticmethod
    def _id(text: str) -> int:
        if not text.isdigit():
            raise ApiError(404, NOT_FOUND)
        return int(text)

    @staticmethod
    def _json(req: Request) -> Any:
        """A JSON body. Zenodo compares the raw Content-Type header: none (then JSON is
        assumed) or exactly ``application/json``; ``application/json; charset=utf-8`` is
        refused. An empty body is not JSON."""
        ctype = req.headers.get("Content-Type")
        if ctype is not None and ctype.strip() != "application/json":
            raise ApiError(415, UNSUPPORTED_JSON)
        try:
            raw = req.body.read_all(JSON_LIMIT)
        except BodyTooLarge:
            raise ApiError(413, "Request entity too large.") from None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise ApiError(400, BAD_JSON) from None

    def _view(self, req: Request, dep: dict[str, Any], *, with_bucket: bool = True) -> Any:
        concept = dep["conceptrecid"]
        return views.deposition(
            req.base,
            dep,
            concept_published=self.store.latest_published(concept) is not None,
            accepted=self.store.accepted_communities(concept),
            with_bucket=with_bucket,
        )

    def _metadata(self, req: Request) -> dict[str, Any]:
        metadata, errors = validation.check_body(self._json(req))
        if errors:
            raise ApiError(400, INVALID, errors)
        return metadata

    # ----- depositions -------------------------------------------------------------------
    def list(self, req: Request) -> Response:
        query = listing.query(req.user, req.params)
        if self.index_delay > 0:  # Zenodo lists from a search index that lags behind
            cutoff = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(
                seconds=self.index_delay
            )
            query = replace(query, created_by=cutoff.isoformat())
        found = self.store.search(query)
        return Response(200, [self._view(req, d, with_bucket=False) for d in found])

    def create(self, req: Request) -> Response:
        dep = self.store.create(req.user, self._metadata(req))
        return Response(201, self._view(req, dep))

    def get(self, req: Request, dep_id: str) -> Response:
        return Response(200, self._view(req, self.store.get(self._id(dep_id), req.user)))

    def update(self, req: Request, dep_id: str) -> Response:
        rid = self._id(dep_id)
        self.store.get(rid, req.user)  # 404/410/403 before looking at the body
        dep = self.store.update(rid, req.user, self._metadata(req))
        return Response(200, self._view(req, dep))

    def delete(self, req: Request, dep_id: str) -> Response:
        self.store.delete(self._id(dep_id), req.user)
        return Response(204)

    def action(self, req: Request, dep_id: str, name: str) -> Response:
        rid, owner = self._id(dep_id), req.user
        if name == "publish":
            return Response(202, self._view(req, self.store.publish(rid, owner)))
        if name == "edit":
            return Response(201, self._view(req, self.store.edit(rid, owner)))
        if name == "discard":
            self.store.discard(rid, owner)
            return Response(204)
        if name == "newversion":
            return Response(201, self._view(req, self.store.new_version(rid, owner)))
        raise ApiError(404, NO_URL)

    # ----- deposition files (old API) ----------------------------------------------------
    def list_files(self, req: Request, dep_id: str) -> Response:
        dep = self.store.get(self._id(dep_id), req.user)
        return Response(200, [views.deposition_file(req.base, dep, f) for f in dep["files"]])

    def get_file(self, req: Request, dep_id: str, file_id: str) -> Response:
        dep = self.store.get(self._id(dep_id), req.user)
        for f in dep["files"]:
            if f["id"] == file_id:
                return Response(200, views.deposition_file(req.base, dep, f))
        raise ApiError(404, NO_FILE)

    def delete_file(self, req: Request, dep_id: str, file_id: str) -> Response:
        self.store.delete_file(self._id(dep_id), req.user, file_id)
        return Response(204)

    def post_file(self, req: Request, dep_id: str) -> Response:
        """Old multipart upload: fields ``name`` (optional) and ``file``; at most 100 MB."""
        dep = self.store.get(self._id(dep_id), req.user)
        if req.body.length is not None and req.body.length > MULTIPART_LIMIT:
            raise ApiError(413, "Request entity too large.")
        boundary = multipart_boundary(req.headers.get("Content-Type", ""))
        if boundary is None:
            raise ApiError(415, "Expected a multipart/form-data body.")
        self.store.check_upload(dep, "", None, locked=404)  # state and file count
        name, temp, received = None, None, None
        try:
            for params, chunks in iter_multipart(req.body, boundary):
                if params.get("name") == "name":
                    name = b"".join(chunks)[:4096].decode("utf-8", "replace")
                elif params.get("name") == "file" and temp is None:
                    temp = self.store.new_temp()
                    received = stream_to_file(chunks, temp, MULTIPART_LIMIT)
                    name = name or params.get("filename")
            name = secure_filename(name or "")
            if temp is None or received is None or not name:
                raise ApiError(400, INVALID, [validation.error("file", "Missing file.")])
            if any(f["key"] == name for f in dep["files"]):
                raise ApiError(400, "Filename already exists.")
            size, md5 = received
            entry = self.store.commit_file(dep["id"], req.user, name, temp, size, md5)
        except BodyTooLarge:
            raise ApiError(413, "Request entity too large.") from None
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)
        dep = self.store.get(dep["id"], req.user)
        return Response(201, views.deposition_file(req.base, dep, entry))

    # ----- buckets -----------------------------------------------------------------------
    def get_bucket(self, req: Request, bucket: str) -> Response:
        dep = self.store.by_bucket(bucket, req.user)
        store = self.store
        return Response(200, views.bucket(req.base, dep, store.quota, store.max_file_size))

    def put_object(self, req: Request, bucket: str, key: str) -> Response:
        """Raw-body upload, streamed to a temp file with its md5; replaces an existing key."""
        if not key or "/" in key:
            raise ApiError(400, "Invalid file key.")
        dep_id = self.store.upload_target(bucket, req.user, key, req.body.length)
        ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype not in ("", "application/octet-stream"):
            raise ApiError(415, UNSUPPORTED_BYTES)
        temp = self.store.new_temp()
        try:
            size, md5 = stream_to_file(iter(req.body), temp, self.store.max_file_size)
        except BodyTooLarge:
            raise ApiError(400, "Maximum file size exceeded.") from None
        entry = self.store.commit_file(dep_id, req.user, key, temp, size, md5)
        dep = self.store.get(dep_id, req.user)
        return Response(201, views.bucket_object(req.base, dep, entry))

    def delete_object(self, req: Request, bucket: str, key: str) -> Response:
        self.store.delete_key(bucket, req.user, key)
        return Response(204)

    def download(self, req: Request, bucket: str, key: str) -> Response:
        dep = self.store.by_bucket(bucket, req.user)
        return self._content(dep, key)

    def _content(self, dep: dict[str, Any], key: str) -> Response:
        for f in dep["files"]:
            if f["key"] == key:
                return Response(
                    200, content_type="application/octet-stream", file=self.store.blob(f)
                )
        raise ApiError(404, NO_FILE)

    # ----- records -----------------------------------------------------------------------
    def get_record(self, req: Request, recid: str) -> Response:
        dep = self.store.get_record(int(recid))
        accepted = self.store.accepted_communities(dep["conceptrecid"])
        return Response(200, views.record(req.base, dep, accepted=accepted))

    def latest(self, req: Request, recid: str) -> Response:
        """The concept's latest published version, as a redirect (as Zenodo answers)."""
        dep = self.store.get_record(int(recid))
        newest = self.store.latest_published(dep["conceptrecid"]) or dep["id"]
        return Response(302, headers={"Location": f"{req.base}/api/records/{newest}"})

    def versions(self, req: Request, recid: str) -> Response:
        """The native route for a new version: the same draft as ``actions/newversion``."""
        return Response(201, self._view(req, self.store.new_version(int(recid), req.user)))

    def record_files(self, req: Request, recid: str) -> Response:
        return Response(200, views.record_files(req.base, self.store.get_record(int(recid))))

    def record_content(self, req: Request, recid: str, key: str) -> Response:
        """A published file: public, as on Zenodo for open records."""
        return self._content(self.store.get_record(int(recid)), key)

    def draft_content(self, req: Request, recid: str, key: str) -> Response:
        return self._content(self.store.get(int(recid), req.user), key)
