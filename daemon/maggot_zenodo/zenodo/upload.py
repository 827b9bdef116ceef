"""Bucket uploads: one streamed read of the file, hashed off the sending thread, then checked.

The body reads the file once, in 1 MiB blocks of a fixed ring of reused buffers, and hands each
block both to the wire and to a hashing thread (hashlib releases the GIL on large buffers): the
md5 does not slow the send while a core is free, and memory stays at the ring (at most 8 MiB)
whatever the file size. The md5 is that of the very bytes sent; it is compared with the checksum
Zenodo reports, and the file is sent again on a disagreement.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from maggot_zenodo.logs import get_logger
from maggot_zenodo.zenodo.errors import ChecksumMismatch, FileChanged
from maggot_zenodo.zenodo.transport import Transport
from maggot_zenodo.zenodo.wire import Answer, Call, Refusal

UPLOAD_CHUNK = 1024 * 1024
HASH_QUEUE = 8  # blocks in flight to the hashing thread: memory is bounded by this
OCTET_STREAM = {"Content-Type": "application/octet-stream"}

log = get_logger("maggot_zenodo.zenodo.client")


@dataclass(frozen=True)
class UploadResult:
    """A file Zenodo holds with the size and md5 we read locally (and it reported)."""

    key: str
    size: int
    md5: str


class ShrankWhileReading(Exception):
    """The file got shorter than when it was opened (not an OSError: urllib3 must not eat it)."""


Signature = tuple[int, int, int, int, int]


def _signature(st: os.stat_result) -> Signature:
    """What changes when the file is written to or replaced (ctime catches a reset mtime)."""
    return (st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class _Hasher:
    """An md5 computed on its own thread from the blocks it is given, in order.

    The blocks live in a fixed ring of reused buffers: the reader takes a free one (waiting
    while the hasher lags), the hasher gives it back once hashed. The sender is done with a
    block before the reader asks for the next one, so a buffer is never overwritten while in
    use, and memory is the ring whatever the file size.
    """

    def __init__(self, size: int = 0) -> None:
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._free: queue.Queue[bytearray] = queue.Queue()
        blocks = -(-size // UPLOAD_CHUNK)  # a small file needs a small ring
        for _ in range(max(1, min(HASH_QUEUE, blocks))):
            self._free.put(bytearray(max(1, min(UPLOAD_CHUNK, size))))
        self._queue: queue.Queue[memoryview | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="zenodo-md5", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (view := self._queue.get()) is not None:
            self._md5.update(view)
            buffer = view.obj
            view.release()
            assert isinstance(buffer, bytearray)
            self._free.put(buffer)

    def take(self) -> bytearray:
        """A free buffer to read the next block into."""
        return self._free.get()

    def feed(self, view: memoryview) -> None:
        self._queue.put(view)

    def hexdigest(self) -> str:
        """The md5 of every block fed (waits for the thread to finish them)."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        return self._md5.hexdigest()


class HashingBody:
    """An upload body: reads the file once, in blocks, hashed while requests sends them.

    ``__len__`` gives requests the Content-Length; iterating yields exactly that many bytes.
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
        self._hasher: _Hasher | None = None
        self._progress = progress

    def start(self) -> None:
        """Report the (re)start of an attempt: progress goes back to 0."""
        if self._progress:
            self._progress(0)

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[memoryview]:
        self.start()
        hasher = self._hasher = _Hasher(self.size)
        remaining = self.size
        while remaining > 0:
            buffer = hasher.take()
            n = self._file.readinto(memoryview(buffer)[: min(len(buffer), remaining)])
            if not n:
                raise ShrankWhileReading
            remaining -= n
            hasher.feed(memoryview(buffer)[:n])  # a view of its own: the hasher releases it
            block = memoryview(buffer)[:n]
            self.sent += n
            if self._progress:
                self._progress(self.sent)
            yield block
        self.complete = True

    @property
    def md5(self) -> str:
        if self._hasher is None:
            self._hasher = _Hasher()
        return self._hasher.hexdigest()

    def close(self) -> None:
        self._file.close()
        if self._hasher is not None:
            self._hasher.hexdigest()  # ends the thread


def file_changed(path: Path, opened: Signature) -> bool:
    """True when ``path`` is no longer the file that was opened and read."""
    try:
        return _signature(os.stat(path)) != opened
    except OSError:
        return True


def upload_answer(answer: Answer) -> tuple[int | None, str | None]:
    """(size, md5) as the bucket reports them; (None, None) parts when absent."""
    body = answer.json_or_none()
    if not isinstance(body, dict):
        return (None, None)
    size = body.get("size")
    checksum = body.get("checksum")
    md5 = None
    if isinstance(checksum, str) and checksum.lower().startswith("md5:"):
        md5 = checksum[4:].lower()
    return (size if isinstance(size, int) else None, md5)


@dataclass(frozen=True)
class Upload:
    """One file to put at one bucket URL, and how hard to try."""

    url: str
    path: Path
    key: str
    rounds: int
    deadline: float
    refusal: Refusal
    progress: Callable[[int], None] | None = None
    expected_md5: str | None = None


def bucket_key_url(transport: Transport, bucket_url: str, key: str) -> str:
    """The URL of ``key`` in the bucket, refused unless on the configured site."""
    if not transport.same_site(bucket_url):
        # The token must only ever go to the configured site.
        raise ValueError("the bucket URL is not on the configured Zenodo site")
    if not key or "/" in key or key in (".", "..") or any(ord(c) < 32 for c in key):
        raise ValueError("a file key must be one non-empty path segment")
    return f"{bucket_url.rstrip('/')}/{quote(key, safe='')}"


def send_file(transport: Transport, job: Upload) -> UploadResult:
    """Stream the file, starting over after a transport failure (the transport's retries),
    a size/md5 disagreement with Zenodo, or a change of the file while it was read (up to
    ``job.rounds``)."""
    problem = ""
    for round_ in range(1, job.rounds + 1):
        body, answer = _one_round(transport, job)
        if answer is None or not body.complete or file_changed(job.path, body.opened):
            problem = "the file changed while it was being uploaded"
        elif job.expected_md5 is not None and body.md5 != job.expected_md5:
            # Certain, and sending it again would not change it: the caller hashes again.
            raise FileChanged(
                f"{job.key}: the file changed since it was hashed (md5 {job.expected_md5} "
                f"then, {body.md5} as sent)",
                method="PUT",
                path=Call("PUT", job.url, ()).path,
            )
        else:
            held = upload_answer(answer)
            if held == (body.size, body.md5):
                return UploadResult(key=job.key, size=body.size, md5=body.md5)
            problem = (
                f"Zenodo holds {held[0]} bytes with md5 {held[1]}, "
                f"we sent {body.size} bytes with md5 {body.md5}"
            )
        log.warning("zenodo upload again", key=job.key, reason=problem, round=round_)
    cls = ChecksumMismatch if problem.startswith("Zenodo holds") else FileChanged
    raise cls(
        f"{job.key}: {problem} (after {job.rounds} attempts)",
        method="PUT",
        path=Call("PUT", job.url, ()).path,
    )


def _one_round(transport: Transport, job: Upload) -> tuple[HashingBody, Answer | None]:
    """One upload (with the transport's retries): the last body sent and Zenodo's answer, or
    None when the file shrank while it was read."""
    bodies: list[HashingBody] = []

    def make_body() -> HashingBody | bytes:
        for old in bodies:
            old.close()
        body = HashingBody(job.path, job.progress)
        bodies.append(body)
        if body.size:
            return body
        body.start()
        return b""  # requests would send an empty iterable with chunked encoding

    call = Call(
        "PUT",
        job.url,
        (200, 201),
        body_factory=make_body,
        headers=OCTET_STREAM,
        deadline=job.deadline,
        refusal=job.refusal,
    )
    answer: Answer | None = None
    try:
        answer = transport.send(call)
    except ShrankWhileReading:
        pass
    finally:
        for body in bodies:
            body.close()
    return bodies[-1], answer
