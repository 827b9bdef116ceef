"""Client-side rate limiting for the Zenodo API, shared by every thread and client of a site.

Zenodo counts requests per user per minute and answers 429 beyond its limit; staying under a
configured limit ourselves (and pausing when the server says the window is used up) costs less
than provoking 429s and backing off from them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

# A Reset or Retry-After further away than this is taken as a clock or server error.
MAX_SERVER_PAUSE = 3600.0


class Interrupted(Exception):
    """The wait was cut short by the stop event (daemon shutting down)."""


class RateLimiter:
    """A sliding-window limiter: at most ``limit`` request starts in any ``window`` seconds.

    ``clock`` and ``sleep`` are injectable so the limiter's guarantee can be checked without
    real waiting; ``sleep(seconds)`` returns True when it was interrupted.
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if limit < 1:
            raise ValueError("rate limit must be at least 1 request per window")
        if window <= 0:
            raise ValueError("rate-limit window must be positive")
        self.limit = int(limit)
        self.window = float(window)
        self._clock = clock
        self._wall_clock = wall_clock
        self._starts: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RateLimiter(limit={self.limit}, window={self.window})"

    def delay(self) -> float:
        """Seconds to wait before the next request may start (0: it may start now)."""
        with self._lock:
            return self._delay_locked(self._clock())

    def _delay_locked(self, now: float) -> float:
        horizon = now - self.window
        while self._starts and self._starts[0] <= horizon:
            self._starts.popleft()
        wait = max(0.0, self._blocked_until - now)
        if len(self._starts) >= self.limit:
            wait = max(wait, self._starts[0] + self.window - now)
        return wait

    def try_acquire(self) -> float:
        """Take a slot and return 0.0, or return the seconds to wait without taking one."""
        with self._lock:
            now = self._clock()
            wait = self._delay_locked(now)
            if wait <= 0:
                self._starts.append(now)
            return wait

    def acquire(self, sleep: Callable[[float], bool] | None = None) -> float:
        """Block until a request may start; return the seconds spent waiting.

        ``sleep`` defaults to ``time.sleep``; pass e.g. ``stop_event.wait`` to make the wait
        interruptible, in which case :class:`Interrupted` is raised when it returns True.
        """
        waited = 0.0
        while True:
            wait = self.try_acquire()
            if wait <= 0:
                return waited
            if sleep is None:
                time.sleep(wait)
            elif sleep(wait):
                raise Interrupted
            waited += wait

    def pause(self, seconds: float) -> None:
        """Let no request start for ``seconds`` (the server asked us to wait)."""
        seconds = min(max(0.0, seconds), MAX_SERVER_PAUSE)
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + seconds)

    def observe(self, headers: Mapping[str, str], max_pause: float = MAX_SERVER_PAUSE) -> float:
        """Follow the server's rate-limit headers; return the pause imposed (0 if none).

        When ``X-RateLimit-Remaining`` reaches 0 nothing more is sent until the window resets:
        ``Retry-After`` (relative, immune to clock skew) when present, else ``X-RateLimit-Reset``
        (epoch seconds).
        """
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        if remaining is None or remaining > 0:
            return 0.0
        pause = parse_retry_after(headers.get("Retry-After"), self._wall_clock)
        if pause is None:
            reset = _number(headers.get("X-RateLimit-Reset"))
            if reset is None:
                return 0.0
            pause = reset - self._wall_clock()
        pause = min(max(0.0, pause), max_pause, MAX_SERVER_PAUSE)
        self.pause(pause)
        return pause


def _number(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def parse_retry_after(
    value: str | None, wall_clock: Callable[[], float] = time.time
) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date), or None."""
    if value is None or not value.strip():
        return None
    seconds = _number(value)
    if seconds is not None:
        return max(0.0, seconds)
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - wall_clock())


_REGISTRY: dict[tuple[str, float], RateLimiter] = {}
_REGISTRY_LOCK = threading.Lock()


def limiter_for(base_url: str, limit: int, window: float = 60.0) -> RateLimiter:
    """The process-wide limiter of a site: every client of ``base_url`` shares it.

    When clients ask for different limits, the strictest one wins.
    """
    key = (base_url.rstrip("/").lower(), float(window))
    with _REGISTRY_LOCK:
        limiter = _REGISTRY.get(key)
        if limiter is None:
            limiter = _REGISTRY[key] = RateLimiter(limit, window)
        elif limit < limiter.limit:
            if limit < 1:
                raise ValueError("rate limit must be at least 1 request per window")
            limiter.limit = int(limit)
        return limiter
