"""An overall deadline per HTTP request, on top of the connect and read timeouts.

A read timeout bounds each wait for a byte, not the whole answer: a server (or a broken proxy)
trickling one header line every few seconds would hold a worker forever. Each request runs under
a :class:`Guard`; when its deadline passes, one watchdog thread shuts the request's socket down,
which makes the blocked send or receive fail at once, and the caller reports the deadline.

The socket is found through connection classes that attach themselves to the calling thread's
guard when they send a request (a reused keep-alive connection too) or connect.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Guard:
    """The deadline of one request attempt; ``expired`` once the watchdog cut it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self.done = False
        self._conn: HTTPConnection | None = None
        self._lock = threading.Lock()

    def attach(self, conn: HTTPConnection) -> None:
        with self._lock:
            self._conn = conn
            expired = self.expired
        if expired:
            _cut(conn)

    def expire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.expired = True
            conn = self._conn
        if conn is not None:
            _cut(conn)

    def finish(self) -> None:
        with self._lock:
            self.done = True
            self._conn = None


def _cut(conn: HTTPConnection) -> None:
    """Shut the connection's socket down (the raw one: an SSL shutdown would unwrap it under
    the feet of the reading thread)."""
    sock = getattr(conn, "sock", None)
    if isinstance(sock, socket.socket):
        with suppress(OSError):
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread that expires guards in deadline order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Guard]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, guard: Guard) -> None:
        with self._cond:
            heapq.heappush(self._heap, (guard.at, next(self._seq), guard))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="zenodo-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cond.wait()
                    continue
                at, _seq, guard = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
            guard.expire()


_WATCHDOG = _Watchdog()


@contextmanager
def guarded(seconds: float) -> Iterator[Guard]:
    """Run the block's HTTP request (on this thread) under an overall deadline."""
    guard = Guard(seconds)
    _current.guard = guard
    _WATCHDOG.watch(guard)
    try:
        yield guard
    finally:
        guard.finish()
        _current.guard = None


def _attach(conn: HTTPConnection) -> None:
    guard = getattr(_current, "guard", None)
    if guard is not None:
        guard.attach(conn)


class _GuardedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _GuardedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _attach(self)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self)
        super().request(*args, **kwargs)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class GuardedAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections honour the calling thread's :func:`guarded` block."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager
