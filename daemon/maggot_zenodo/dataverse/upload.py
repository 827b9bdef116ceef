"""A streamed multipart body for ``/add``: the file is read once, in chunks, hashed on the way.

requests' own ``files=`` builds the whole body in memory; this iterable has a length, so it is
sent with a Content-Length and never held whole.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

CHUNK = 1024 * 1024
#: Dataverse's checksum type names → hashlib names.
ALGORITHMS = {"MD5": "md5", "SHA-1": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}


def _quote(name: str) -> str:
    return name.replace("\\", "\\\\").replace('"', "%22").replace("\r", " ").replace("\n", " ")


class MultipartUpload:
    """Iterable body: a ``jsonData`` part, then the ``file`` part streamed from disk."""

    def __init__(
        self,
        path: Path,
        name: str,
        json_data: dict[str, Any],
        progress: Callable[[int], None] | None = None,
        algorithm: str = "MD5",
    ) -> None:
        self.path, self.progress = path, progress
        self.boundary = uuid.uuid4().hex
        self.size = path.stat().st_size
        self.kinds = {"MD5", algorithm.upper() if algorithm.upper() in ALGORITHMS else "MD5"}
        self.digests: dict[str, Any] = {}
        self.sent = 0
        b = self.boundary
        self._head = (
            f'--{b}\r\nContent-Disposition: form-data; name="jsonData"\r\n\r\n'
            f"{json.dumps(json_data)}\r\n"
            f'--{b}\r\nContent-Disposition: form-data; name="file"; filename="{_quote(name)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{b}--\r\n".encode("ascii")

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return len(self._head) + self.size + len(self._tail)

    def __iter__(self) -> Iterator[bytes]:
        """Each iteration (a retried request sends the body again) hashes afresh."""
        self.digests = {k: hashlib.new(ALGORITHMS[k], usedforsecurity=False) for k in self.kinds}
        yield self._head
        read = 0
        with open(self.path, "rb") as handle:
            while read < self.size:
                chunk = handle.read(min(CHUNK, self.size - read))
                if not chunk:
                    raise OSError(f"{self.path.name} shrank while it was being uploaded")
                read += len(chunk)
                for digest in self.digests.values():
                    digest.update(chunk)
                self.sent = read
                if self.progress is not None:
                    self.progress(read)
                yield chunk
        yield self._tail

    def checksum(self, kind: str) -> str | None:
        """The hex digest of the bytes sent, in Dataverse's algorithm ``kind``."""
        digest = self.digests.get(kind.upper())
        return digest.hexdigest() if digest is not None else None


def file_checksum(path: Path, kind: str = "MD5") -> str:
    """The checksum of a local file in one of Dataverse's algorithms."""
    digest = hashlib.new(ALGORITHMS.get(kind.upper(), "md5"), usedforsecurity=False)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
