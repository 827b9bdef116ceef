"""HTTP client for Zenodo's deposit API (``/api/deposit/depositions`` and file buckets).

The caller (``publish``) promises "exactly one deposition per dataset", so this client is strict
about what it re-sends: reads and replacing writes are retried with backoff, but a ``create``
that may have reached the server is never sent twice — the caller is told
(``maybe_committed=True``) and looks for the deposition instead. Zenodo's passing faults that
come back as a 4xx are retried too, and told from true refusals by the facts (sizes, quota,
token). The token travels only in the ``Authorization`` header and never appears in a message,
a log line, a repr or a URL.
"""

from __future__ import annotations

import builtins
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from maggot_zenodo.zenodo import refusals
from maggot_zenodo.zenodo.account import Account
from maggot_zenodo.zenodo.entities import Deposition, DepositionFile
from maggot_zenodo.zenodo.errors import (
    AnswerTooLarge,
    BadRequest,
    ChecksumMismatch,
    FileChanged,
    Gone,
    NotFound,
    PermissionDenied,
    TooLarge,
    TransientRefusal,
    UnsupportedMediaType,
    ZenodoError,
    ZenodoHTTPError,
    ZenodoUnavailable,
)
from maggot_zenodo.zenodo.transport import Transport, log
from maggot_zenodo.zenodo.upload import Upload, UploadResult, bucket_key_url, send_file
from maggot_zenodo.zenodo.versions import open_new_version
from maggot_zenodo.zenodo.wire import Call

__all__ = [
    "AnswerTooLarge",
    "BadRequest",
    "ChecksumMismatch",
    "Deposition",
    "DepositionFile",
    "FileChanged",
    "Gone",
    "NotFound",
    "PermissionDenied",
    "TooLarge",
    "TransientRefusal",
    "UnsupportedMediaType",
    "UploadResult",
    "ZenodoClient",
    "ZenodoError",
    "ZenodoHTTPError",
    "ZenodoUnavailable",
]

MAX_PAGE_SIZE = 100
MIN_UPLOAD_RATE = 1024 * 1024  # bytes/s: an upload slower than this is taken as stuck
LIMIT_50GB = 50_000_000_000


class ZenodoClient(Transport):
    """One site's deposit API, thread-safe (one HTTP session per thread)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        upload_attempts: int = 3,
        min_upload_rate: float = MIN_UPLOAD_RATE,
        max_file_size: int = LIMIT_50GB,
        max_record_size: int = LIMIT_50GB,
        stop: threading.Event | None = None,
        **transport: Any,
    ) -> None:
        super().__init__(base_url, token, stop=stop, **transport)
        self.upload_attempts = max(1, int(upload_attempts))
        self.min_upload_rate = max(1.0, float(min_upload_rate))
        self.max_file_size = int(max_file_size)
        self.max_record_size = int(max_record_size)
        # What this token has been answered: it tells Zenodo's passing 403s from true ones.
        self.account = Account(lambda q: self.list(q=q, page_size=10, max_pages=1))

    @classmethod
    def from_config(cls, zenodo: Any, token: str, **overrides: Any) -> ZenodoClient:
        """A client from a ``config.ZenodoConfig`` and the token resolved for it."""
        kwargs: dict[str, Any] = {
            "connect_timeout": zenodo.connect_timeout,
            "read_timeout": zenodo.read_timeout,
            "rate_limit": zenodo.rate_limit,
            "max_retries": zenodo.max_retries,
            "min_upload_rate": zenodo.min_upload_rate,
            "max_file_size": zenodo.max_file_size,
            "max_record_size": zenodo.max_record_size,
        }
        kwargs.update(overrides)
        return cls(zenodo.url, token, **kwargs)

    def __enter__(self) -> ZenodoClient:
        return self

    # ----------------------------------------------------------------- plumbing

    def _dep_url(self, deposition_id: int, *rest: str) -> str:
        url = f"{self.api_url}/deposit/depositions/{int(deposition_id)}"
        return "/".join([url, *rest]) if rest else url

    def _json_call(self, method: str, url: str, **kwargs: Any) -> Any:
        return self.json(Call(method, url, **kwargs))

    def _dep_call(self, method: str, url: str, **kwargs: Any) -> Deposition:
        """A call answered by one deposition."""
        body = self._json_call(method, url, **kwargs)
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            call = Call(method, url, ())
            raise ZenodoError("unexpected answer (not a deposition)", method=method, path=call.path)
        return self.account.seen(Deposition.from_json(body))

    # ----------------------------------------------------------------- depositions

    def create(self, metadata: dict[str, Any] | None = None) -> Deposition:
        """POST a new deposition. Sent again only when it surely did not reach the server
        (connection not established, or 429); otherwise ``ZenodoUnavailable`` with
        ``maybe_committed=True``. A fresh connection is used so that a stale keep-alive
        connection cannot make a harmless failure look ambiguous."""
        body = {"metadata": metadata} if metadata else {}
        session = self._new_session()
        try:
            return self._dep_call(
                "POST",
                f"{self.api_url}/deposit/depositions",
                expect=(201,),
                json_body=body,
                resend_when_ambiguous=False,
                session=session,
            )
        finally:
            session.close()

    def get(self, deposition_id: int) -> Deposition:
        """GET one deposition (the only way to see ``links.bucket``)."""
        return self._dep_call(
            "GET",
            self._dep_url(deposition_id),
            expect=(200,),
            refusal=self.account.forbidden(deposition_id),
        )

    def list(
        self,
        q: str | None = None,
        sort: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        max_pages: int | None = None,
    ) -> list[Deposition]:
        """Every deposition matching ``q``, page after page until a short page.

        Entries are deduplicated by id (pages shift when records change meanwhile); a page
        that brings nothing new ends the walk, so a server ignoring ``page`` cannot loop us.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        url = f"{self.api_url}/deposit/depositions"
        results: list[Deposition] = []
        seen: set[int] = set()
        page = 1
        while max_pages is None or page <= max_pages:
            params: dict[str, Any] = {"page": page, "size": page_size}
            if q is not None:
                params["q"] = q
            if sort is not None:
                params["sort"] = sort
            items = self._json_call("GET", url, expect=(200,), params=params)
            if not isinstance(items, list):
                raise ZenodoError(
                    "unexpected answer to a listing (not a JSON array)", method="GET", path=url
                )
            fresh = [
                Deposition.from_json(d)
                for d in items
                if isinstance(d, dict) and isinstance(d.get("id"), int) and d["id"] not in seen
            ]
            seen.update(d.id for d in fresh)
            results.extend(fresh)
            if len(items) < page_size or not fresh:
                break
            page += 1
        return results

    def update(self, deposition_id: int, metadata: dict[str, Any]) -> Deposition:
        """PUT the full metadata (Zenodo replaces, it does not merge)."""
        return self._dep_call(
            "PUT",
            self._dep_url(deposition_id),
            expect=(200,),
            json_body={"metadata": metadata},
            refusal=self.account.forbidden(deposition_id),
        )

    def delete(self, deposition_id: int) -> None:
        """DELETE an unpublished deposition; a 404/410 after an ambiguous try means done."""
        try:
            self._call(
                "DELETE",
                self._dep_url(deposition_id),
                expect=(200, 202, 204),
                refusal=self.account.forbidden(deposition_id),
            )
        except (NotFound, Gone) as error:
            if not error.after_ambiguous:
                raise

    def publish(self, deposition_id: int) -> Deposition:
        """Publish; safe to call again. Zenodo answers 404 when the record is already
        published (e.g. an earlier attempt took effect but its answer was lost): the
        deposition is then fetched and returned if its state is ``done``."""
        url = self._dep_url(deposition_id, "actions", "publish")
        try:
            return self._dep_call(
                "POST", url, expect=(200, 201, 202), refusal=self.account.forbidden(deposition_id)
            )
        except NotFound as error:
            pending: ZenodoError = error
        current = self.get(deposition_id)
        if current.state == "done":
            log.info("zenodo already published", deposition_id=int(deposition_id))
            return current
        raise pending

    def edit(self, deposition_id: int) -> Deposition:
        """Unlock a published deposition for metadata edits (state ``inprogress``)."""
        try:
            return self._dep_call(
                "POST",
                self._dep_url(deposition_id, "actions", "edit"),
                expect=(200, 201),
                refusal=self.account.forbidden(deposition_id),
            )
        except ZenodoHTTPError as error:
            if not error.after_ambiguous:
                raise
            pending: ZenodoError = error
        current = self.get(deposition_id)
        if current.state == "inprogress":
            return current
        raise pending

    def discard(self, deposition_id: int) -> None:
        """Discard the edits of a deposition in edit mode (or a new-version draft)."""
        try:
            self._call(
                "POST",
                self._dep_url(deposition_id, "actions", "discard"),
                expect=(200, 201, 202, 204),
                refusal=self.account.forbidden(deposition_id),
            )
            return
        except (NotFound, Gone) as error:
            if not error.after_ambiguous:
                raise
            return
        except ZenodoHTTPError as error:
            if not error.after_ambiguous:
                raise
            pending: ZenodoError = error
        if self.get(deposition_id).state != "inprogress":
            return
        raise pending

    def new_version(self, deposition_id: int) -> Deposition:
        """Open (or reopen) the new-version draft of a published deposition, GET'd in full
        (see :func:`versions.open_new_version`)."""
        return self.account.seen(open_new_version(self, int(deposition_id)))

    # ----------------------------------------------------------------- files

    def list_files(self, deposition_id: int) -> builtins.list[DepositionFile]:
        """The deposition's files (``checksum`` is a bare md5 here)."""
        files = self._json_call(
            "GET",
            self._dep_url(deposition_id, "files"),
            expect=(200,),
            refusal=self.account.forbidden(deposition_id),
        )
        if not isinstance(files, list):
            raise ZenodoError("unexpected answer to a file listing", method="GET")
        return [DepositionFile.from_json(f) for f in files if isinstance(f, dict)]

    def delete_file(self, deposition_id: int, file_id: str) -> None:
        """Delete one file of a draft; a 404 after an ambiguous try means done. Zenodo's
        lasting 500 on a file of a new-version draft becomes a :class:`TransientRefusal` of
        kind ``file_delete`` (the caller discards the draft and versions again)."""
        url = self._dep_url(deposition_id, "files", quote(str(file_id), safe=""))
        try:
            self._call(
                "DELETE",
                url,
                expect=(200, 202, 204),
                refusal=self.account.forbidden(deposition_id, files=True),
            )
        except (NotFound, Gone) as error:
            if not error.after_ambiguous:
                raise
            return
        except ZenodoUnavailable as error:
            if error.status != 500 or isinstance(error, TransientRefusal):
                raise
            failed = error
        else:
            return
        raise refusals.file_delete(failed, int(deposition_id), self.max_retries + 1)

    def upload(
        self,
        bucket_url: str,
        path: Path,
        key: str,
        progress: Any = None,
        expected_md5: str | None = None,
    ) -> UploadResult:
        """Stream ``path`` to ``bucket_url/key`` and make sure Zenodo holds exactly its bytes.

        The md5 is computed while the bytes are sent (one read of the file, constant memory,
        off the sending thread) and checked against the checksum Zenodo reports: a first
        upload needs no hashing ahead, the result's ``md5`` is the file's. With
        ``expected_md5`` (a hash taken earlier), a file that no longer has it is refused
        (:class:`FileChanged`). The upload starts over from the first byte after a transport
        failure (up to ``max_retries``), a size/md5 disagreement with the server, or a change
        of the file while it was read (up to ``upload_attempts``). Each attempt has a deadline
        that grows with the size at ``min_upload_rate``. ``progress(n)`` receives the bytes
        sent so far in the current attempt; each attempt starts again at 0.
        """
        url = bucket_key_url(self, bucket_url, key)
        path = Path(path)
        size = path.stat().st_size
        job = Upload(
            url=url,
            path=path,
            key=key,
            rounds=self.upload_attempts,
            deadline=self.upload_deadline(size),
            refusal=refusals.first(
                refusals.upload_refusal, self.account.forbidden(bucket=bucket_url, files=True)
            ),
            progress=progress,
            expected_md5=expected_md5,
        )
        try:
            return send_file(self, job)
        except TransientRefusal as refusal:
            raise self._judge_refusal(refusal, bucket_url, key, size) from None

    def upload_deadline(self, size: int) -> float:
        """Seconds one upload attempt of ``size`` bytes may take in all: the request deadline
        plus the time to send it at ``min_upload_rate``."""
        return self.request_deadline + size / self.min_upload_rate

    def _judge_refusal(
        self, refusal: TransientRefusal, bucket_url: str, key: str, size: int
    ) -> ZenodoError:
        bucket = None
        if refusal.kind == "quota":  # the record's size and quota, to check the claim
            try:
                bucket = self._json_call("GET", bucket_url.rstrip("/"), expect=(200,))
            except ZenodoError:
                bucket = None
        limits = refusals.Limits(self.max_file_size, self.max_record_size)
        return refusals.judge_upload(refusal, key=key, size=size, limits=limits, bucket=bucket)
