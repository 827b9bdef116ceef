"""HTTP client for Zenodo's deposit API (``/api/deposit/depositions`` and file buckets).

The caller (``publish``) promises "exactly one deposition per dataset", so this client is strict
about what it re-sends: reads and replacing writes are retried with backoff, but a ``create``
that may have reached the server is never sent twice — the caller is told
(``maybe_committed=True``) and looks for the deposition instead. The token travels only in the
``Authorization`` header and never appears in a message, a log line, a repr or a URL.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, ReadTimeoutError

from maggot_zenodo import __version__
from maggot_zenodo.logs import get_logger, register_secret
from maggot_zenodo.zenodo.entities import Deposition, DepositionFile
from maggot_zenodo.zenodo.errors import (
    BadRequest,
    ChecksumMismatch,
    FileChanged,
    Gone,
    NotFound,
    PermissionDenied,
    TooLarge,
    UnsupportedMediaType,
    ZenodoError,
    ZenodoHTTPError,
    ZenodoUnavailable,
    error_from_response,
)
from maggot_zenodo.zenodo.ratelimit import Interrupted, limiter_for, parse_retry_after
from maggot_zenodo.zenodo.upload import (
    HashingBody,
    ShrankWhileReading,
    UploadResult,
    file_changed,
    upload_answer,
)

__all__ = [
    "BadRequest",
    "ChecksumMismatch",
    "Deposition",
    "DepositionFile",
    "FileChanged",
    "Gone",
    "NotFound",
    "PermissionDenied",
    "TooLarge",
    "UnsupportedMediaType",
    "UploadResult",
    "ZenodoClient",
    "ZenodoError",
    "ZenodoHTTPError",
    "ZenodoUnavailable",
]

USER_AGENT = f"maggot-zenodo/{__version__}"
MAX_PAGE_SIZE = 100
RETRYABLE_5XX = frozenset({500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD"})
REMOVE_FILES_FIRST = "remove all files first"

log = get_logger("maggot_zenodo.zenodo.client")


# --------------------------------------------------------------------------- helpers


class _BearerAuth(requests.auth.AuthBase):
    """Adds the token header; also stops requests from consulting ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


def _clean_token(token: str) -> str:
    """The token without surrounding whitespace (token files end with a newline); refused
    when empty or holding anything that cannot go into an HTTP header."""
    if not isinstance(token, str) or not token.strip():
        raise ValueError("the Zenodo token is empty")
    token = token.strip()
    if not token.isascii() or any(c.isspace() or not c.isprintable() for c in token):
        # requests would echo the whole header value in its InvalidHeader message.
        raise ValueError(
            "the Zenodo token holds spaces, control or non-ASCII characters: "
            "check the token file or variable (it must hold the token alone)"
        )
    return token


def _classify(exc: requests.RequestException) -> tuple[str, bool]:
    """(reason, may have reached the server) for a transport failure."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connection timed out", False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer before the read timeout", True
    if isinstance(exc, requests.exceptions.ConnectionError):
        inner = exc.args[0] if exc.args else None
        reason = inner.reason if isinstance(inner, MaxRetryError) else inner
        if isinstance(reason, ConnectTimeoutError):  # includes NewConnectionError (refused, DNS)
            return "could not connect", False
        if isinstance(reason, ReadTimeoutError):  # while reading the answer's body
            return "no answer before the read timeout", True
        return f"connection lost ({_innermost_name(exc)})", True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection lost while reading the answer", True
    return f"request failed ({type(exc).__name__})", True


def _innermost_name(exc: BaseException) -> str:
    """The class name of the deepest wrapped error (e.g. ConnectionResetError)."""
    seen = 0
    current: Any = exc
    while seen < 6:
        seen += 1
        nxt = getattr(current, "reason", None)
        if nxt is None and getattr(current, "args", None):
            args = [a for a in current.args if isinstance(a, BaseException)]
            nxt = args[0] if args else None
        if not isinstance(nxt, BaseException):
            break
        current = nxt
    return type(current).__name__


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
    return random.uniform(0.0, min(cap, base * (2 ** max(0, attempt - 1))))


def _json(response: requests.Response, method: str, path: str) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ZenodoError(
            f"unexpected answer (not JSON, status {response.status_code})",
            status=response.status_code,
            method=method,
            path=path,
        ) from None


# --------------------------------------------------------------------------- the client


class ZenodoClient:
    """One site's deposit API, thread-safe (one HTTP session per thread)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        rate_limit: int = 90,
        max_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        upload_attempts: int = 3,
        retry_after_max: float = 900.0,
        rate_window: float = 60.0,
        stop: threading.Event | None = None,
    ) -> None:
        token = _clean_token(token)
        register_secret(token)
        register_secret(f"Bearer {token}")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the Zenodo URL must be http:// or https:// with a host name")
        if parts.query or parts.username or parts.password:
            raise ValueError("the Zenodo URL must not hold credentials or a query string")
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/api"
        self._origin = (parts.scheme.lower(), parts.netloc.lower())
        self._auth = _BearerAuth(token)
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retries = max(0, int(max_retries))
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.upload_attempts = max(1, int(upload_attempts))
        self.retry_after_max = max(0.0, float(retry_after_max))
        self._limiter = limiter_for(self.base_url, rate_limit, rate_window)
        self._stop = stop or threading.Event()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    @classmethod
    def from_config(cls, zenodo: Any, token: str, **overrides: Any) -> ZenodoClient:
        """A client from a ``config.ZenodoConfig`` and the token resolved for it."""
        kwargs: dict[str, Any] = {
            "connect_timeout": zenodo.connect_timeout,
            "read_timeout": zenodo.read_timeout,
            "rate_limit": zenodo.rate_limit,
            "max_retries": zenodo.max_retries,
        }
        kwargs.update(overrides)
        return cls(zenodo.url, token, **kwargs)

    def __repr__(self) -> str:
        return f"ZenodoClient({self.base_url!r})"

    def __enter__(self) -> ZenodoClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every session this client opened (any thread)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()

    # ----------------------------------------------------------------- transport

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.auth = self._auth
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def _dep_url(self, deposition_id: int, *rest: str) -> str:
        url = f"{self.api_url}/deposit/depositions/{int(deposition_id)}"
        return "/".join([url, *rest]) if rest else url

    def _interrupted(self, method: str, path: str, ambiguous: bool) -> ZenodoUnavailable:
        return ZenodoUnavailable(
            "interrupted: the daemon is stopping",
            maybe_committed=ambiguous and method not in SAFE_METHODS,
            method=method,
            path=path,
        )

    def _call(
        self,
        method: str,
        url: str,
        *,
        expect: tuple[int, ...],
        json_body: Any = None,
        params: dict[str, Any] | None = None,
        body_factory: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        resend_when_ambiguous: bool = True,
        session: requests.Session | None = None,
    ) -> requests.Response:
        """Send one request, retrying what is safe to retry; return the expected answer.

        Raised errors are built outside ``except`` blocks so that no requests exception (which
        holds the prepared request and its headers) is chained to them.
        """
        path = urlsplit(url).path
        attempts = self.max_retries + 1
        ambiguous = False
        reason = ""
        for attempt in range(1, attempts + 1):
            try:
                self._limiter.acquire(self._stop.wait)
            except Interrupted:
                interrupted = True
            else:
                interrupted = False
            if interrupted:
                raise self._interrupted(method, path, ambiguous)
            data = body_factory() if body_factory else None
            started = time.monotonic()
            response: requests.Response | None = None
            failure: tuple[str, bool] | None = None
            try:
                response = (session or self._session()).request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failure = _classify(exc)
            duration_ms = round((time.monotonic() - started) * 1000, 1)
            retry_after: float | None = None
            if response is None:
                assert failure is not None
                reason, maybe_sent = failure
                log.debug(
                    "zenodo request",
                    method=method,
                    path=path,
                    http_status=None,
                    error=reason,
                    duration_ms=duration_ms,
                    attempt=attempt,
                )
            else:
                status = response.status_code
                log.debug(
                    "zenodo request",
                    method=method,
                    path=path,
                    http_status=status,
                    duration_ms=duration_ms,
                    attempt=attempt,
                )
                self._limiter.observe(response.headers, max_pause=self.retry_after_max)
                if status in expect:
                    return response
                reason, maybe_sent, retry_after = self._judge(method, path, response, ambiguous)
            if maybe_sent:
                ambiguous = True
                if not resend_when_ambiguous:
                    raise ZenodoUnavailable(
                        f"{reason}; the request may have taken effect, so it was not sent again",
                        maybe_committed=True,
                        method=method,
                        path=path,
                    )
            if attempt == attempts:
                break
            delay = backoff_delay(attempt, self.backoff_base, self.backoff_max)
            if retry_after is not None:
                delay = max(delay, retry_after)
            log.warning(
                "zenodo retry",
                method=method,
                path=path,
                reason=reason,
                attempt=attempt,
                delay=round(delay, 3),
            )
            if self._stop.wait(delay):
                raise self._interrupted(method, path, ambiguous)
        raise ZenodoUnavailable(
            f"{reason} (gave up after {attempts} attempts)",
            maybe_committed=ambiguous and method not in SAFE_METHODS,
            method=method,
            path=path,
        )

    def _judge(
        self, method: str, path: str, response: requests.Response, ambiguous: bool
    ) -> tuple[str, bool, float | None]:
        """For an unexpected answer: (reason, may have taken effect, wait asked by the server)
        when it is worth retrying; otherwise raise its typed error."""
        status = response.status_code
        header = parse_retry_after(response.headers.get("Retry-After"))
        if header is not None:
            header = min(header, self.retry_after_max)
        if status == 429:  # Zenodo applies nothing on 429
            if header is not None:
                self._limiter.pause(header)  # every thread waits, not only this one
            return "429 too many requests", False, header
        if status in RETRYABLE_5XX:
            # Zenodo sends Retry-After on every answer (its rate-limit window): on a 503 it is
            # honoured only up to our own backoff ceiling, on other 5xx not at all.
            wait = min(header, self.backoff_max) if status == 503 and header is not None else None
            return f"HTTP {status}", True, wait
        error = error_from_response(method, path, response)
        error.after_ambiguous = ambiguous
        raise error

    def _json_call(self, method: str, url: str, **kwargs: Any) -> Any:
        response = self._call(method, url, **kwargs)
        return _json(response, method, urlsplit(url).path)

    def _dep_call(self, method: str, url: str, **kwargs: Any) -> Deposition:
        """A call answered by one deposition."""
        body = self._json_call(method, url, **kwargs)
        if not isinstance(body, dict) or not isinstance(body.get("id"), int):
            raise ZenodoError(
                "unexpected answer (not a deposition)", method=method, path=urlsplit(url).path
            )
        return Deposition.from_json(body)

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
        return self._dep_call("GET", self._dep_url(deposition_id), expect=(200,))

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
            "PUT", self._dep_url(deposition_id), expect=(200,), json_body={"metadata": metadata}
        )

    def delete(self, deposition_id: int) -> None:
        """DELETE an unpublished deposition; a 404/410 after an ambiguous try means done."""
        try:
            self._call("DELETE", self._dep_url(deposition_id), expect=(200, 202, 204))
        except (NotFound, Gone) as error:
            if not error.after_ambiguous:
                raise

    def publish(self, deposition_id: int) -> Deposition:
        """Publish; safe to call again. Zenodo answers 404 when the record is already
        published (e.g. an earlier attempt took effect but its answer was lost): the
        deposition is then fetched and returned if its state is ``done``."""
        url = self._dep_url(deposition_id, "actions", "publish")
        try:
            return self._dep_call("POST", url, expect=(200, 201, 202))
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
                "POST", self._dep_url(deposition_id, "actions", "edit"), expect=(200, 201)
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
        """Discard the edits of a deposition in edit mode."""
        try:
            self._call(
                "POST",
                self._dep_url(deposition_id, "actions", "discard"),
                expect=(200, 201, 202, 204),
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
        """Open (or reopen) the new-version draft of a published deposition and return it
        GET'd in full (the 201 body's id is the draft's; ``links.latest_draft`` of the
        published record would point at the record itself).

        When Zenodo refuses with "Please remove all files first" (a draft with files exists
        already), that existing draft is found by ``conceptrecid`` and returned; if it cannot
        be found, the :class:`BadRequest` is raised with a message saying so.
        """
        url = self._dep_url(deposition_id, "actions", "newversion")
        try:
            draft = self._json_call("POST", url, expect=(200, 201))
        except BadRequest as error:
            if not _mentions(error, REMOVE_FILES_FIRST):
                raise
            pending: BadRequest = error
        else:
            draft_id = draft.get("id") if isinstance(draft, dict) else None
            if isinstance(draft_id, int):
                return self.get(draft_id)
            found = self._open_new_version(deposition_id)
            if found is None:
                raise ZenodoError(
                    "newversion answered without the new draft's id, and no open draft was found",
                    method="POST",
                    path=urlsplit(url).path,
                )
            return found
        found = self._open_new_version(deposition_id)
        if found is not None:
            log.info(
                "zenodo reusing open new-version draft",
                deposition_id=int(deposition_id),
                draft_id=found.id,
            )
            return found
        error = BadRequest(
            "a new-version draft with files already exists but could not be found; "
            f"open it on Zenodo and remove its files or discard it ({pending.message})",
            status=pending.status,
            errors=pending.errors,
            method=pending.method,
            path=pending.path,
        )
        raise error

    def _open_new_version(self, deposition_id: int) -> Deposition | None:
        """The newest unsubmitted draft sharing the record's conceptrecid, GET'd in full."""
        record = self.get(deposition_id)
        concept = record.concept_id
        if concept is None:
            return None
        candidates = [
            d
            for d in self.list(q=f"conceptrecid:{concept}", sort="mostrecent")
            if d.concept_id == concept
            and d.state == "unsubmitted"
            and not d.submitted
            and d.id != record.id
        ]
        if not candidates:
            return None
        newest = max(candidates, key=lambda d: (str(d.raw.get("created") or ""), d.id))
        return self.get(newest.id)

    # ----------------------------------------------------------------- files

    def list_files(self, deposition_id: int) -> list[DepositionFile]:
        """The deposition's files (``checksum`` is a bare md5 here)."""
        files = self._json_call("GET", self._dep_url(deposition_id, "files"), expect=(200,))
        if not isinstance(files, list):
            raise ZenodoError("unexpected answer to a file listing", method="GET")
        return [DepositionFile.from_json(f) for f in files if isinstance(f, dict)]

    def delete_file(self, deposition_id: int, file_id: str) -> None:
        """Delete one file of a draft; a 404 after an ambiguous try means done."""
        url = self._dep_url(deposition_id, "files", quote(str(file_id), safe=""))
        try:
            self._call("DELETE", url, expect=(200, 202, 204))
        except (NotFound, Gone) as error:
            if not error.after_ambiguous:
                raise

    def upload(
        self,
        bucket_url: str,
        path: Path,
        key: str,
        progress: Callable[[int], None] | None = None,
    ) -> UploadResult:
        """Stream ``path`` to ``bucket_url/key`` and make sure Zenodo holds exactly its bytes.

        The md5 is computed while the bytes are sent (one read of the file, constant memory).
        The upload starts over from the first byte after a transport failure (up to
        ``max_retries``), after a size/md5 disagreement with the server, or when the file
        changed while it was read (up to ``upload_attempts``). ``progress(n)`` receives the
        bytes sent so far in the current attempt; each attempt starts again at 0.
        """
        url = self._bucket_key_url(bucket_url, key)
        path = Path(path)
        method, url_path = "PUT", urlsplit(url).path
        headers = {"Content-Type": "application/octet-stream"}
        problem = ""
        for round_ in range(1, self.upload_attempts + 1):
            bodies: list[HashingBody] = []

            def make_body(bodies: list[HashingBody] = bodies) -> HashingBody | bytes:
                for old in bodies:
                    old.close()
                body = HashingBody(path, progress)
                bodies.append(body)
                if body.size:
                    return body
                body.start()
                return b""  # requests would send an empty iterable with chunked encoding

            changed_mid_read = False
            try:
                response = self._call(
                    method, url, expect=(200, 201), body_factory=make_body, headers=headers
                )
            except ShrankWhileReading:
                changed_mid_read = True
            finally:
                for body in bodies:
                    body.close()
            body = bodies[-1]
            if changed_mid_read or not body.complete or file_changed(path, body.opened):
                problem = "the file changed while it was being uploaded"
                log.warning("zenodo upload again", key=key, reason=problem, round=round_)
                continue
            answer = upload_answer(response)
            if answer == (body.size, body.md5):
                return UploadResult(key=key, size=body.size, md5=body.md5)
            problem = (
                f"Zenodo holds {answer[0]} bytes with md5 {answer[1]}, "
                f"we sent {body.size} bytes with md5 {body.md5}"
            )
            log.warning("zenodo upload again", key=key, reason=problem, round=round_)
        cls = FileChanged if problem.startswith("the file changed") else ChecksumMismatch
        raise cls(
            f"{key}: {problem} (after {self.upload_attempts} attempts)",
            method=method,
            path=url_path,
        )

    def _bucket_key_url(self, bucket_url: str, key: str) -> str:
        parts = urlsplit(bucket_url)
        if (parts.scheme.lower(), parts.netloc.lower()) != self._origin or parts.query:
            # The token must only ever go to the configured site.
            raise ValueError("the bucket URL is not on the configured Zenodo site")
        if not key or "/" in key or key in (".", "..") or any(ord(c) < 32 for c in key):
            raise ValueError("a file key must be one non-empty path segment")
        return f"{bucket_url.rstrip('/')}/{quote(key, safe='')}"


def _mentions(error: ZenodoError, needle: str) -> bool:
    texts = [error.message, *(m for e in error.errors for m in e["messages"])]
    return any(needle in t.lower() for t in texts)
