"""A dataset's files to the repository: each read once, several at a time (#13).

- **Read once.** A file is hashed ahead only when its md5 can save an upload: the
  deposition holds a file of that name and size (hashing tells whether it is the same), or
  the md5 cache knows it already. Any other file is sent at once; the md5 the client
  computed while sending, checked against the repository's checksum, is the one recorded in
  the journal, the md5 cache and the plan (so the status file).
- **Several at a time.** Up to ``concurrency`` uploads run on worker threads, all under the
  client's shared rate limiter. The journal is written on the calling thread only, in the
  same order as before for each file: ``mark_uploaded`` and the ``upload`` intent before the
  request, the result after it. A kill mid-way leaves intents for the files in flight; the
  next attempt finds the same deposition in the journal and sends what it lacks.
- **One failure fails the run.** No new upload starts after a failure; the ones in flight
  finish (and are journaled), then the first failure is raised.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from maggot_zenodo import metrics
from maggot_zenodo.publish import datafiles
from maggot_zenodo.publish.explain import Failure
from maggot_zenodo.publish.prepare import Plan, hash_file
from maggot_zenodo.publish.session import Session
from maggot_zenodo.zenodo.entities import Deposition, DepositionFile


class Progress(Protocol):
    def update(self, n: int) -> Any: ...
    def close(self) -> Any: ...


#: Called with (file name, size in bytes) before each upload; tqdm fits. A factory that also
#: has ``expect(files, size)`` is told the whole batch first (a total bar).
ProgressFactory = Callable[[str, int], Progress]


@dataclass(frozen=True)
class Sent:
    """One finished upload: the md5 the repository holds; ``unchanged``: the file still has
    its vetted stat after the send (its md5 may go to the cache)."""

    file: datafiles.LocalFile
    md5: str
    unchanged: bool


def remote_files(dep: Deposition) -> dict[str, DepositionFile]:
    """A deposition's files by name."""
    return {f.filename: f for f in dep.files if f.filename}


def digest_ahead(s: Session, plan: Plan, remote: dict[str, DepositionFile]) -> None:
    """Hash the files whose md5 can save an upload: the remote holds their name and size."""
    for f in plan.files:
        have = remote.get(f.key)
        if f.key not in plan.md5 and have is not None and have.filesize == f.size:
            plan.md5[f.key] = hash_file(f, s.journal)


def to_send(plan: Plan, remote: dict[str, DepositionFile]) -> list[datafiles.LocalFile]:
    """The planned files the deposition does not hold with the same md5."""
    out = []
    for f in plan.files:
        have = remote.get(f.key)
        if not (have and f.key in plan.md5 and have.checksum == plan.md5[f.key]):
            out.append(f)
    return out


def upload_missing(
    s: Session,
    dep: Deposition,
    plan: Plan,
    progress: ProgressFactory | None,
    concurrency: int = 1,
) -> None:
    """Upload each planned file the deposition does not hold, ``concurrency`` at a time."""
    remote = remote_files(dep)
    digest_ahead(s, plan, remote)
    todo = to_send(plan, remote)
    if not todo:
        return
    expect = getattr(progress, "expect", None)
    if callable(expect):
        expect(len(todo), sum(f.size for f in todo))
    if concurrency <= 1 or len(todo) == 1:
        for f in todo:
            _begin(s, dep, plan, f)
            _finish(s, dep, plan, _send(s, dep, f, progress))
        return
    _run_concurrently(s, dep, plan, todo, progress, concurrency)


def _run_concurrently(
    s: Session,
    dep: Deposition,
    plan: Plan,
    todo: list[datafiles.LocalFile],
    progress: ProgressFactory | None,
    concurrency: int,
) -> None:
    """Keep ``concurrency`` uploads in flight; journal each end here, on the calling thread.

    Each upload runs on a daemon thread of its own (not a ThreadPoolExecutor, whose threads
    the interpreter joins at exit): a daemon stopping after ``shutdown_timeout`` must not
    wait for an upload stuck on the network."""
    results: queue.Queue[Sent | BaseException] = queue.Queue()
    waiting: Iterator[datafiles.LocalFile] = iter(todo)
    running = 0
    first: BaseException | None = None
    while True:
        while first is None and running < concurrency:
            f = next(waiting, None)
            if f is None:
                break
            try:
                _begin(s, dep, plan, f)
            except BaseException as exc:  # Stopped too: raised once all end
                first = exc
                break
            name = f"upload-{f.key}"[:60]
            threading.Thread(
                target=_send_into, args=(results, s, dep, f, progress), name=name, daemon=True
            ).start()
            running += 1
        if running == 0:
            break
        result = results.get()
        running -= 1
        try:
            if isinstance(result, BaseException):
                raise result
            _finish(s, dep, plan, result)
        except BaseException as exc:  # the first one is raised below
            first = first or exc
    if first is not None:
        raise first


def _send_into(
    results: queue.Queue[Sent | BaseException],
    s: Session,
    dep: Deposition,
    f: datafiles.LocalFile,
    factory: Any,
) -> None:
    try:
        results.put(_send(s, dep, f, factory))
    except BaseException as exc:  # handed to the calling thread, which raises it
        results.put(exc)


def _begin(s: Session, dep: Deposition, plan: Plan, f: datafiles.LocalFile) -> None:
    """The journal before the request: the key is ours, the upload is intended."""
    s.checkpoint()
    md5 = plan.md5.get(f.key)
    s.journal.mark_uploaded(s.row.id, f.key, md5, f.size)
    s.step("upload", "intent", {"id": dep.id, "key": f.key, "md5": md5})


def _send(s: Session, dep: Deposition, f: datafiles.LocalFile, factory: Any) -> Sent:
    """One upload (on any thread): no journal here."""
    fd = datafiles.open_verified(f)
    bar = factory(f.key, f.size) if factory else None
    try:
        held = s.repo.upload(
            dep, datafiles.fd_path(fd), f.key, bar.update if bar is not None else None
        )
        st = os.fstat(fd)
        unchanged = (st.st_size, st.st_mtime_ns, st.st_ino) == (f.size, f.mtime_ns, f.ino)
    finally:
        os.close(fd)
        if bar is not None:
            bar.close()
    return Sent(f, held, unchanged)


def _finish(s: Session, dep: Deposition, plan: Plan, sent: Sent) -> None:
    """The journal after the request: the md5 the repository holds, checked and recorded."""
    f, md5 = sent.file, sent.md5
    known = plan.md5.get(f.key)
    if (known is not None and md5 != known) or not sent.unchanged:
        raise Failure(
            f"The file “{f.location}” changed while it was being sent.",
            "Wait until the files are complete; it will be tried again.",
            retryable=True,
        )
    if known is None:
        plan.md5[f.key] = md5
        s.journal.mark_uploaded(s.row.id, f.key, md5, f.size)
        s.journal.store_md5(str(f.path), f.size, f.mtime_ns, f.ino, md5)
    s.step("upload", "result", {"id": dep.id, "key": f.key, "md5": md5})
    metrics.count_upload(f.size)
    s.log.info(
        f"{s.row.folder}: uploaded {f.key} to deposition {dep.id}",
        deposition_id=dep.id,
        file=f.key,
        size=f.size,
    )
