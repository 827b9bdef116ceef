"""Request bodies read as streams: Content-Length or chunked, in bounded chunks.

Nothing here holds a whole body in memory except :meth:`BodyReader.read_all`, which is capped
and used for small JSON bodies only.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


class DropConnection(Exception):
    """Abort the exchange: the server closes the socket without answering."""


class IncompleteBody(ConnectionError):
    """The client closed the connection before sending the whole body."""


class BodyTooLarge(Exception):
    """More bytes than allowed."""


class BodyReader:
    """The body of one request; ``cut_after`` simulates a connection lost mid-upload."""

    def __init__(self, rfile: BinaryIO, headers: object, cut_after: int | None = None) -> None:
        self._rfile = rfile
        encoding = (headers.get("Transfer-Encoding") or "").lower()  # type: ignore[attr-defined]
        self.chunked = "chunked" in encoding
        length = headers.get("Content-Length")  # type: ignore[attr-defined]
        self.length: int | None = None if self.chunked else int(length or 0)
        if self.length is not None and self.length < 0:
            raise ValueError("negative Content-Length")
        self._left = self.length or 0  # bytes left (whole body, or current chunk if chunked)
        self._done = not self.chunked and self._left == 0
        self.consumed = 0
        self.cut_after = cut_after

    @property
    def done(self) -> bool:
        return self._done

    def _next_chunk(self) -> None:
        line = self._rfile.readline(1024)
        if not line:
            raise IncompleteBody("connection closed in chunk header")
        try:
            self._left = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise IncompleteBody("bad chunk header") from None
        if self._left == 0:
            while self._rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            self._done = True

    def read(self, size: int = CHUNK) -> bytes:
        """Up to ``size`` bytes; ``b""`` once the body is complete."""
        if self.chunked and not self._done and self._left == 0:
            self._next_chunk()
        if self._done:
            if self.cut_after is not None:  # a body shorter than the cut is dropped at its end
                raise DropConnection
            return b""
        want = min(size, self._left)
        if self.cut_after is not None:
            want = min(want, max(1, self.cut_after - self.consumed))
        data = self._rfile.read(want)
        if not data:
            raise IncompleteBody("connection closed before the end of the body")
        self._left -= len(data)
        self.consumed += len(data)
        if self.cut_after is not None and self.consumed >= self.cut_after:
            raise DropConnection
        if self._left == 0:
            if self.chunked:
                self._rfile.readline(16)  # CRLF after the chunk data
            else:
                self._done = True
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read():
            yield chunk

    def read_all(self, limit: int) -> bytes:
        parts, total = [], 0
        for chunk in self:
            total += len(chunk)
            if total > limit:
                raise BodyTooLarge
            parts.append(chunk)
        return b"".join(parts)

    def drain(self, limit: int) -> bool:
        """Discard the rest of the body; False when more than ``limit`` bytes remain."""
        if self.length is not None and self.length - self.consumed > limit:
            return False
        seen = 0
        try:
            for chunk in self:
                seen += len(chunk)
                if seen > limit:
                    return False
        except (IncompleteBody, OSError):
            return False
        return True


def stream_to_file(chunks: Iterator[bytes], target: Path, max_size: int) -> tuple[int, str]:
    """Write chunks to ``target`` with md5 computed on the way; remove it on any failure."""
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with open(target, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise BodyTooLarge
                md5.update(chunk)
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return size, md5.hexdigest()


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


def multipart_boundary(content_type: str) -> bytes | None:
    m = _BOUNDARY.search(content_type or "")
    return m.group(1).encode("latin-1") if m else None


def iter_multipart(
    body: BodyReader, boundary: bytes
) -> Iterator[tuple[dict[str, str], Iterator[bytes]]]:
    """Yield ``(disposition params, data chunks)`` for each part, streaming each part's data.

    Each part's chunk iterator must be consumed before the next part is requested.
    """
    delim = b"\r\n--" + boundary
    buf = b"\r\n"  # lets the first delimiter match like the others
    source = iter(body)

    def fill() -> bool:
        nonlocal buf
        chunk = next(source, b"")
        buf += chunk
        return bool(chunk)

    while delim not in buf:
        if not fill():
            return
    buf = buf[buf.index(delim) + len(delim) :]
    while True:
        while len(buf) < 2 and fill():
            pass
        if buf.startswith(b"--"):
            return
        while b"\r\n\r\n" not in buf:
            if not fill() or len(buf) > 65536:
                return
        head, buf = buf.split(b"\r\n\r\n", 1)
        params: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            if line.lower().startswith("content-disposition"):
                params = dict(_DISPOSITION.findall(line))

        def data() -> Iterator[bytes]:
            nonlocal buf
            while True:
                at = buf.find(delim)
                if at >= 0:
                    part, buf = buf[:at], buf[at + len(delim) :]
                    if part:
                        yield part
                    return
                keep = len(delim)
                if len(buf) > keep:
                    yield buf[:-keep]
                    buf = buf[-keep:]
                if not fill():
                    raise IncompleteBody("multipart body ended early")

        part_data = data()
        yield params, part_data
        for _ in part_data:  # whatever the consumer left of this part
            pass


_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]")


def secure_filename(name: str) -> str:
    """The name a multipart upload is stored under, made safe the way Zenodo's web framework
    does it: accents folded to ASCII, the path separator and whitespace runs become ``_``, any
    other character outside ``A-Za-z0-9_.-`` is dropped, leading and trailing ``.``/``_``
    stripped (``my file (1).txt`` → ``my_file_1.txt``). May return "" (then refused)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    ascii_name = ascii_name.replace("/", " ")
    joined = "_".join(ascii_name.split())
    return _UNSAFE_NAME_CHARS.sub("", joined).strip("._")
