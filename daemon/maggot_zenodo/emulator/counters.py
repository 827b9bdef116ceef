"""Request counts for ``/_emulator/state``: /api/ requests only (thread-safe)."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any


class Counters:
    """Request counts for ``/_emulator/state``: /api/ requests only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.total, self.writes = 0, 0
            self.by_status: Counter[str] = Counter()
            self.by_method: Counter[str] = Counter()

    def request(self, method: str) -> None:
        with self._lock:
            self.total += 1
            self.by_method[method] += 1
            if method not in ("GET", "HEAD"):
                self.writes += 1

    def status(self, code: int) -> None:
        with self._lock:
            self.by_status[str(code)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_status": dict(self.by_status),
                "by_method": dict(self.by_method),
                "writes": self.writes,
            }
