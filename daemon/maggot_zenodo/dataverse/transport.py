"""The transport under the Dataverse client: token header, retries, answers decoded.

Reads and replacing writes are retried with capped exponential backoff on connection errors,
timeouts, 429 and the gateway errors; a ``create`` that may have reached the server is never
sent twice (the caller is told ``maybe_committed=True`` and looks for the dataset by its
marker); an ambiguous ``add`` or ``publish`` is checked by reading the dataset before it is
sent again. The token goes only in the ``X-Dataverse-key`` header; redirects are not followed
(requests would carry that custom header to another host).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from maggot_zenodo import __version__, backoff
from maggot_zenodo.dataverse.errors import DataverseError, DataverseUnavailable, from_answer
from maggot_zenodo.httpfailure import classify
from maggot_zenodo.logs import get_logger, register_secret
from maggot_zenodo.tokens import header_token

RETRYABLE = frozenset({429, 500, 502, 503, 504})
log = get_logger("maggot_zenodo.dataverse")


class _KeyHeader(requests.auth.AuthBase):
    """Adds ``X-Dataverse-key``; an auth object also stops requests from reading ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["X-Dataverse-key"] = self._token
        return request

    def __repr__(self) -> str:
        return "_KeyHeader(***)"


def clean_token(token: str) -> str:
    """The Dataverse token as it goes into the header (see :func:`tokens.header_token`)."""
    return header_token(token, "Dataverse")


class Transport:
    """Requests to one Dataverse installation, thread-safe (one HTTP session per thread)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        max_retries: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        rate_limit_base: float = 60.0,
        lock_timeout: float = 600.0,
        lock_poll_max: float = 10.0,
        stop: threading.Event | None = None,
    ) -> None:
        token = clean_token(token)
        register_secret(token)
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("the Dataverse URL must be http:// or https:// with a host name")
        if parts.query or parts.username or parts.password:
            raise ValueError("the Dataverse URL must not hold credentials or a query string")
        self.base_url = base_url.rstrip("/")
        self.api_url = self.base_url + "/api"
        self._auth = _KeyHeader(token)
        self.timeout = (float(connect_timeout), float(read_timeout))
        self.max_retries = max(0, int(max_retries))
        self.backoff_base, self.backoff_max = float(backoff_base), float(backoff_max)
        self.rate_limit_base = float(rate_limit_base)
        self.lock_timeout, self.lock_poll_max = float(lock_timeout), float(lock_poll_max)
        self._stop = stop or threading.Event()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"DataverseClient({self.base_url!r})"

    # ----- transport -----------------------------------------------------------------------
    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.headers["User-Agent"] = f"maggot-zenodo/{__version__}"
            session.auth = self._auth
            self._local.session = session
        return session

    def close(self) -> None:
        """Close this thread's HTTP session (others close with their threads)."""
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None

    def _sleep(self, seconds: float) -> None:
        if self._stop.wait(seconds):
            raise DataverseUnavailable("stopped while waiting for Dataverse", retryable=True)

    def _delay(self, attempt: int, status: int | None) -> float:
        """Exponential, capped, jittered in [½, 1]; 429 starts from ``rate_limit_base`` since
        Dataverse's limiter refills per minute and sends no Retry-After."""
        base = self.rate_limit_base if status == 429 else self.backoff_base
        full = backoff.exponential(attempt, base, max(self.backoff_max, base))
        return full / 2 + backoff.full_jitter(1, full / 2, full / 2)

    def request(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        body: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = True,
    ) -> dict[str, Any]:
        """One API call, retried as its kind allows; the decoded answer (``status`` OK)."""
        last = ""
        for attempt in range(1, self.max_retries + 2):
            status: int | None = None
            try:
                response = self._session().request(
                    method,
                    self.api_url + path,
                    params=params,
                    json=json_body,
                    data=body() if body is not None else None,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failure = classify(exc)
                last, reached = failure.reason, failure.maybe_sent
                if reached and not idempotent:
                    raise self._unavailable(what, last, maybe=True) from None
            else:
                status = response.status_code
                if status not in RETRYABLE:
                    return self._decode(response, what)
                last = f"HTTP {status}"
                if status != 429 and not idempotent:
                    raise self._unavailable(what, last, maybe=True)
            if attempt <= self.max_retries:
                log.info("dataverse_retry", what=what, reason=last, attempt=attempt)
                self._sleep(self._delay(attempt, status))
        raise self._unavailable(what, last, maybe=not idempotent)

    def _unavailable(self, what: str, reason: str, *, maybe: bool) -> DataverseUnavailable:
        return DataverseUnavailable(
            f"Dataverse did not answer to {what} ({reason})",
            "nothing to do: it is retried later; check the Dataverse site if this lasts",
            retryable=True,
            maybe_committed=maybe,
        )

    def _decode(self, response: requests.Response, what: str) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = None
        status = response.status_code
        if 300 <= status < 400:
            raise DataverseError(
                f"Dataverse answered {what} with a redirect (HTTP {status})",
                "set dataverse.url to the site's final address (https://...)",
                status=status,
            )
        if not isinstance(payload, dict):
            if status >= 400:
                raise from_answer(status, f"HTTP {status}", what)
            raise DataverseError(
                f"Dataverse's answer to {what} is not JSON (HTTP {status})",
                "check dataverse.url: it must be the Dataverse site's root",
                status=status,
            )
        if status >= 400 or payload.get("status") == "ERROR":
            raise from_answer(status, str(payload.get("message") or ""), what)
        return payload
