"""The HTTP layer under the Zenodo client: sessions, one retry loop, deadlines, capped answers.

What it promises the client: a request is re-sent only when that is safe (a read, a replacing
write, or a request that surely never reached the server); every attempt has an overall
deadline; an answer body is read whole only up to a cap; the token travels only in the
``Authorization`` header, and no raised error is chained to a requests exception (which holds
the prepared request, headers included).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from maggot_zenodo import __version__, metrics
from maggot_zenodo.backoff import full_jitter
from maggot_zenodo.httpfailure import Failure, classify
from maggot_zenodo.logs import get_logger, register_secret
from maggot_zenodo.zenodo.deadline import GuardedAdapter, guarded
from maggot_zenodo.zenodo.errors import (
    AnswerTooLarge,
    TransientRefusal,
    ZenodoError,
    ZenodoUnavailable,
    error_from_answer,
)
from maggot_zenodo.zenodo.ratelimit import Interrupted, limiter_for, parse_retry_after
from maggot_zenodo.zenodo.wire import (
    Answer,
    BearerAuth,
    Call,
    clean_token,
)

USER_AGENT = f"maggot-zenodo/{__version__}"
RETRYABLE_5XX = frozenset({500, 502, 503, 504})
SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_ANSWER = 16 * 1024 * 1024  # no answer of the deposit API comes near this
READ_BLOCK = 64 * 1024

log = get_logger("maggot_zenodo.zenodo.client")


@dataclass
class _Tries:
    """What the attempts of one call have learnt so far."""

    ambiguous: bool = False
    reason: str = ""
    status: int | None = None
    refused: str | None = None


@dataclass(frozen=True)
class _Retry:
    reason: str
    maybe_sent: bool
    wait: float | None = None
    status: int | None = None
    refused: str | None = None


class Transport:
    """Sessions (one per thread), the shared rate limiter and the retry loop of one site."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 300.0,
        request_deadline: float | None = None,
        rate_limit: int = 90,
        max_retries: int = 8,
        backoff_base: float = 0.5,
        backoff_max: float = 60.0,
        retry_after_max: float = 900.0,
        rate_window: float = 60.0,
        max_answer: int = MAX_ANSWER,
        stop: threading.Event | None = None,
    ) -> None:
        token = clean_token(token)
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
        self._auth = BearerAuth(token)
        self.timeout = (float(connect_timeout), float(read_timeout))
        # A JSON answer that takes longer than both timeouts together is not coming.
        self.request_deadline = float(request_deadline or connect_timeout + read_timeout)
        self.max_retries = max(0, int(max_retries))
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.retry_after_max = max(0.0, float(retry_after_max))
        self.max_answer = int(max_answer)
        self._limiter = limiter_for(self.base_url, rate_limit, rate_window)
        self._stop = stop or threading.Event()
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._sessions_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.base_url!r})"

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every session this client opened (any thread)."""
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, []
            self._local = threading.local()
        for session in sessions:
            session.close()

    # ----------------------------------------------------------------- sessions

    def _new_session(self) -> requests.Session:
        session = requests.Session()
        session.auth = self._auth
        session.headers["User-Agent"] = USER_AGENT
        session.headers["Accept"] = "application/json"
        adapter = GuardedAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self._new_session()
            with self._sessions_lock:
                self._sessions.append(session)
        return session

    def same_site(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme.lower(), parts.netloc.lower()) == self._origin and not parts.query

    # ----------------------------------------------------------------- the retry loop

    def _call(self, method: str, url: str, *, expect: tuple[int, ...], **kwargs: Any) -> Answer:
        return self.send(Call(method, url, expect, **kwargs))

    def send(self, call: Call) -> Answer:
        """Send ``call``, retrying what is safe to retry; return the expected answer."""
        attempts = self.max_retries + 1
        tries = _Tries()
        for attempt in range(1, attempts + 1):
            self._wait_turn(call, tries)
            outcome = self._attempt(call, attempt)
            if isinstance(outcome, Answer):
                if outcome.status in call.expect:
                    return outcome
                verdict = self._judge(call, outcome, tries)
            else:
                verdict = _Retry(outcome.reason, outcome.maybe_sent)
            self._learn(call, verdict, tries)
            if attempt == attempts:
                break
            self._pause(call, attempt, verdict, tries)
        return self._give_up(call, tries, attempts)

    def _wait_turn(self, call: Call, tries: _Tries) -> None:
        try:
            self._limiter.acquire(self._stop.wait)
        except Interrupted:
            interrupted = True
        else:
            interrupted = False
        if interrupted:
            raise self._interrupted(call, tries.ambiguous)

    def _attempt(self, call: Call, attempt: int) -> Answer | Failure:
        """One send; the answer, or why there is none."""
        data = call.body_factory() if call.body_factory else None
        seconds = call.deadline or self.request_deadline
        started = time.monotonic()
        with guarded(seconds) as guard:
            outcome: Answer | Failure | None = None
            try:
                response = (call.session or self._session()).request(
                    call.method,
                    call.url,
                    params=call.params,
                    json=call.json_body,
                    data=data,
                    headers=call.headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                    stream=True,
                )
                outcome = self._read(call, response)
            except requests.RequestException as exc:
                outcome = classify(exc)
            if guard.expired:  # what was read before the cut may look whole: it is not
                outcome = Failure(f"no complete answer within {seconds:g} s", True)
        assert outcome is not None
        status = outcome.status if isinstance(outcome, Answer) else None
        log.debug(
            "zenodo request",
            method=call.method,
            path=call.path,
            http_status=status,
            **({} if status else {"error": getattr(outcome, "reason", "")}),
            duration_ms=round((time.monotonic() - started) * 1000, 1),
            attempt=attempt,
        )
        if isinstance(outcome, Answer):
            metrics.count_answer(outcome.status)
            self._limiter.observe(outcome.headers, max_pause=self.retry_after_max)
        return outcome

    def _read(self, call: Call, response: requests.Response) -> Answer | Failure:
        """The whole body, or an error when it is larger than :attr:`max_answer`."""
        too_large = False
        body = bytearray()
        try:
            length = response.headers.get("Content-Length", "")
            too_large = length.isdigit() and int(length) > self.max_answer
            for block in () if too_large else response.iter_content(READ_BLOCK):
                body += block
                if len(body) > self.max_answer:
                    too_large = True
                    break
        finally:
            response.close()
        if too_large:
            raise AnswerTooLarge(
                f"the answer is larger than {self.max_answer // (1024 * 1024)} MiB; "
                "this is not Zenodo's deposit API (check zenodo.url)",
                status=response.status_code,
                method=call.method,
                path=call.path,
            )
        reason = response.reason if isinstance(response.reason, str) else ""
        return Answer(response.status_code, reason, response.headers, bytes(body))

    def _judge(self, call: Call, answer: Answer, tries: _Tries) -> _Retry:
        """For an unexpected answer: how to retry it, or raise its typed error."""
        status = answer.status
        header = parse_retry_after(answer.headers.get("Retry-After"))
        if header is not None:
            header = min(header, self.retry_after_max)
        if status == 429:  # Zenodo applies nothing on 429
            if header is not None:
                self._limiter.pause(header)  # every thread waits, not only this one
            return _Retry("429 too many requests", False, header, status)
        if status in RETRYABLE_5XX:
            # Zenodo sends Retry-After on every answer (its rate-limit window): on a 503 it is
            # honoured only up to our own backoff ceiling, on other 5xx not at all.
            wait = min(header, self.backoff_max) if status == 503 and header is not None else None
            return _Retry(f"HTTP {status}", True, wait, status)
        kind = call.refusal(answer) if call.refusal else None
        if kind is not None:
            # A refused request took no effect: nothing becomes ambiguous.
            return _Retry(
                f"HTTP {status} ({kind}, a passing fault of Zenodo)", False, None, status, kind
            )
        body = answer.json_or_none()
        error = error_from_answer(call.method, call.path, status, answer.reason, body)
        error.after_ambiguous = tries.ambiguous
        raise error

    def _learn(self, call: Call, verdict: _Retry, tries: _Tries) -> None:
        tries.reason, tries.status, tries.refused = verdict.reason, verdict.status, verdict.refused
        if not verdict.maybe_sent:
            return
        tries.ambiguous = True
        if not call.resend_when_ambiguous:
            raise ZenodoUnavailable(
                f"{verdict.reason}; the request may have taken effect, so it was not sent again",
                maybe_committed=True,
                status=verdict.status,
                method=call.method,
                path=call.path,
            )

    def _pause(self, call: Call, attempt: int, verdict: _Retry, tries: _Tries) -> None:
        delay = full_jitter(attempt, self.backoff_base, self.backoff_max)
        if verdict.wait is not None:
            delay = max(delay, verdict.wait)
        log.warning(
            "zenodo retry",
            method=call.method,
            path=call.path,
            reason=verdict.reason,
            attempt=attempt,
            delay=round(delay, 3),
        )
        if self._stop.wait(delay):
            raise self._interrupted(call, tries.ambiguous)

    def _give_up(self, call: Call, tries: _Tries, attempts: int) -> Answer:
        message = f"{tries.reason} (gave up after {attempts} attempts)"
        if tries.refused is not None:
            raise TransientRefusal(
                message,
                kind=tries.refused,
                attempts=attempts,
                status=tries.status,
                method=call.method,
                path=call.path,
            )
        raise ZenodoUnavailable(
            message,
            maybe_committed=tries.ambiguous and call.method not in SAFE_METHODS,
            status=tries.status,
            method=call.method,
            path=call.path,
        )

    def _interrupted(self, call: Call, ambiguous: bool) -> ZenodoUnavailable:
        return ZenodoUnavailable(
            "interrupted: the daemon is stopping",
            maybe_committed=ambiguous and call.method not in SAFE_METHODS,
            method=call.method,
            path=call.path,
        )

    def json(self, call: Call) -> Any:
        """Send ``call`` and decode its JSON answer."""
        answer = self.send(call)
        try:
            return answer.json()
        except ValueError:
            pass
        raise ZenodoError(
            f"unexpected answer (not JSON, status {answer.status})",
            status=answer.status,
            method=call.method,
            path=call.path,
        )
