"""The body of a bucket upload: one streamed read of the file that hashes as it goes.

Constant memory (one chunk) whatever the file size; the md5 is that of the very bytes sent.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import requests

UPLOAD_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class UploadResult:
    """A file Zenodo holds with the size and md5 we read locally."""

    key: str
    size: int
    md5: str


class ShrankWhileReading(Exception):
    """The file got shorter than when it was opened (not an OSError: urllib3 must not eat it)."""


Signature = tuple[int, int, int, int, int]


def _signature(st: os.stat_result) -> Signature:
    """What changes when the file is written to or replaced (ctime catches a reset mtime)."""
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class HashingBody:
    """An upload body: reads the file once, in chunks, hashing as requests sends.

    ``__len__`` gives requests the Content-Length; iterating yields exactly that many bytes,
    so memory stays at one chunk whatever the file size.
    """

    def __init__(self, path: Path, progress: Callable[[int], None] | None) -> None:
        self._file = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by close()
        try:
            self.opened = _signature(os.fstat(self._file.fileno()))
        except BaseException:
            self._file.close()
            raise
        self.size = self.opened[2]
        self.sent = 0
        self.complete = self.size == 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._progress = progress

    def start(self) -> None:
        """Report the (re)start of an attempt: progress goes back to 0."""
        if self._progress:
            self._progress(0)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        self.start()
        remaining = self.size
        while remaining > 0:
            block = self._file.read(min(UPLOAD_CHUNK, remaining))
            if not block:
                raise ShrankWhileReading
            remaining -= len(block)
            self._md5.update(block)
            self.sent += len(block)
            if self._progress:
                self._progress(self.sent)
            yield block
        self.complete = True

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    def close(self) -> None:
        self._file.close()


def file_changed(path: Path, opened: Signature) -> bool:
    """True when ``path`` is no longer the file that was opened and read."""
    try:
        return _signature(os.stat(path)) != opened
    except OSError:
        return True


def upload_answer(response: requests.Response) -> tuple[int | None, str | None]:
    """(size, md5) as the bucket reports them; (None, None) parts when absent."""
    try:
        body = response.json()
    except ValueError:
        return (None, None)
    if not isinstance(body, dict):
        return (None, None)
    size = body.get("size")
    checksum = body.get("checksum")
    md5 = None
    if isinstance(checksum, str) and checksum.lower().startswith("md5:"):
        md5 = checksum[4:].lower()
    return (size if isinstance(size, int) else None, md5)
