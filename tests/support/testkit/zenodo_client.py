"""Helpers for the ZenodoClient tests: emulator control over HTTP, fast clients, md5."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maggot_zenodo.zenodo.client import ZenodoClient
from testkit.tokens import TOKEN


def make_client(base: str, token: str = TOKEN, **overrides: Any) -> ZenodoClient:
    """A client with tiny backoffs and timeouts so that fault tests stay fast."""
    kwargs: dict[str, Any] = {
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "max_retries": 8,
        "backoff_base": 0.01,
        "backoff_max": 0.05,
        "rate_limit": 10_000,
    }
    kwargs.update(overrides)
    return ZenodoClient(base, token, **kwargs)


def bucket_of(client: ZenodoClient, deposition_id: int) -> str:
    """The bucket URL of a draft (only a GET of the deposition shows it)."""
    bucket = client.get(deposition_id).bucket
    assert bucket is not None, f"deposition {deposition_id} has no bucket"
    return bucket


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class CorruptingRelay:
    """A loopback TCP relay that alters bytes on their way to the server.

    Not a fake server: it forwards to the real emulator, replacing the first ``times``
    occurrences of ``marker`` in what the client sends with ``replacement`` (same length), as
    a faulty proxy or NIC would. The test file holds the marker, so its upload arrives with
    other bytes than the client read.
    """

    def __init__(self, target: str, marker: bytes, replacement: bytes, times: int) -> None:
        assert len(marker) == len(replacement)
        parts = urlsplit(target)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.marker, self.replacement, self.left = marker, replacement, times
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _alter(self, data: bytes) -> bytes:
        with self._lock:
            while self.left > 0 and self.marker in data:
                data = data.replace(self.marker, self.replacement, 1)
                self.left -= 1
        return data

    def _pump(self, src: socket.socket, dst: socket.socket, outbound: bool) -> None:
        held = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if outbound:
                    data = self._alter(held + data)
                    # Keep back a tail that could be the start of a marker split across reads.
                    keep = next(
                        (
                            n
                            for n in range(len(self.marker) - 1, 0, -1)
                            if data.endswith(self.marker[:n])
                        ),
                        0,
                    )
                    data, held = (data[:-keep], data[-keep:]) if keep else (data, b"")
                dst.sendall(data)
            if held:
                dst.sendall(held)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        for s in self._sockets:
            with contextlib.suppress(OSError):
                s.close()


class LoopbackServer:
    """A real HTTP server on 127.0.0.1 that answers each connection with a script.

    ``script(conn, head, body)`` receives the socket, the request head (up to the blank line)
    and the body as read (per its Content-Length); it writes whatever answer the test needs.
    Every request head is kept in ``heads``. Connections are served one at a time, at most
    ``max_connections`` of them, so that no loop in a test is unbounded.
    """

    def __init__(self, script: Any, max_connections: int = 20) -> None:
        self.script = script
        self.heads: list[bytes] = []
        self._left = max_connections
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(30)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while self._left > 0:
            self._left -= 1
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(30)
                try:
                    head, body = read_request(conn)
                    self.heads.append(head)
                    self.script(conn, head, body)
                except OSError:
                    pass

    def close(self) -> None:
        self._left = 0
        with contextlib.suppress(OSError):
            self._listener.close()
        self._thread.join(timeout=5)


def read_request(conn: socket.socket) -> tuple[bytes, bytes]:
    """The head and the body (per Content-Length) of one HTTP request."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(min(1 << 20, length - len(body)))
        if not chunk:
            break
        body += chunk
    return head, body


def header_of(head: bytes, name: str) -> str | None:
    """The value of header ``name`` in a request head, exactly as sent."""
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode("latin-1")
    return None
