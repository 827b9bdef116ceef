"""Per-token request budget over a one-minute window, with Zenodo's rate-limit headers."""

from __future__ import annotations

import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_PER_MINUTE = 1000  # what zenodo.org announced in x-ratelimit-limit in 2023-2025
WINDOW = 60.0


def parse_rate(text: str | int | None) -> int:
    """``"100/min"``, ``"100"`` or ``100`` → 100; None → the generous default."""
    if text is None:
        return DEFAULT_PER_MINUTE
    if isinstance(text, int):
        value = text
    else:
        m = re.fullmatch(r"\s*(\d+)\s*(?:/\s*(?:m|min|minute))?\s*", text)
        if not m:
            raise ValueError(f"rate limit must look like 100/min, got {text!r}")
        value = int(m.group(1))
    if value < 1:
        raise ValueError("rate limit must be at least 1 per minute")
    return value


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    headers: dict[str, str]


class RateLimiter:
    """Fixed one-minute windows, each starting at a key's first request after the last one ended.

    Anchoring the window at the first request (not at a wall-clock minute) keeps tests that
    send N+1 quick requests deterministic.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.time) -> None:
        self.limit = per_minute
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str) -> Verdict:
        now = self._clock()
        with self._lock:
            start, used = self._windows.get(key, (now, 0))
            if now >= start + WINDOW:
                start, used = now, 0
            used += 1
            self._windows[key] = (start, used)
        reset = start + WINDOW
        allowed = used <= self.limit
        retry = max(1, math.ceil(reset - now))
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, self.limit - used)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
            "Retry-After": str(retry),
        }
        return Verdict(allowed, headers)

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()
