"""Helpers for the ZenodoClient tests: emulator control over HTTP, fast clients, md5."""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from maggot_zenodo.zenodo.client import ZenodoClient

TOKEN = "tok-CLIENT-s3cr3t-4242"


def base_of(emulator: Any) -> str:
    """The emulator fixture's base URL, whatever attribute it is under."""
    for name in ("url", "base_url", "base"):
        value = getattr(emulator, name, None)
        if isinstance(value, str):
            return value.rstrip("/")
    return str(emulator).rstrip("/")


def emu_state(base: str) -> dict[str, Any]:
    response = requests.get(f"{base}/_emulator/state", timeout=10)
    response.raise_for_status()
    return response.json()


def set_faults(base: str, spec: dict[str, Any]) -> None:
    response = requests.put(f"{base}/_emulator/faults", json=spec, timeout=10)
    response.raise_for_status()


def clear_faults(base: str) -> None:
    set_faults(base, {"rate": 0.0, "kinds": []})


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
