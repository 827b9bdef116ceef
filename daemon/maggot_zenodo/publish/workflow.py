"""One attempt at one dataset: lock, journal row, prepare, deposit, write back — exactly once.

The attempt never raises for a dataset's problem: it ends in an :class:`Outcome`, written to
the journal and to the dataset's ``META_zenodo.txt``. The local half is
:func:`~maggot_zenodo.publish.prepare.prepare`, the remote half
:func:`~maggot_zenodo.publish.deposit.deposit` through a
:class:`~maggot_zenodo.publish.repository.Repository`; the create markers that make the remote
half exactly-once are in :mod:`~maggot_zenodo.publish.markers`, the moved-folder rule in
:mod:`~maggot_zenodo.publish.moves`.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maggot_zenodo import lock
from maggot_zenodo.config import Config
from maggot_zenodo.convert import maggot
from maggot_zenodo.convert.problems import DatasetError
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import get_logger, scrub
from maggot_zenodo.publish import communities, gate, moves, writeback
from maggot_zenodo.publish.deposit import Progress, ProgressFactory, deposit
from maggot_zenodo.publish.explain import (
    BUSY,
    Failure,
    explain_http,
    from_user_error,
    internal_failure,
    lock_failure,
    problems_failure,
    unwritable_failure,
    vanished_failure,
    write_hint,
)
from maggot_zenodo.publish.markers import MARKER_PREFIX, marker_title
from maggot_zenodo.publish.prepare import Plan, choose_token, metadata_hash, prepare, relative_key
from maggot_zenodo.publish.repository import Repository
from maggot_zenodo.publish.session import Session, Stopped
from maggot_zenodo.publish.zenodo_repository import ZenodoRepository
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow, Journal
from maggot_zenodo.zenodo.client import ZenodoClient
from maggot_zenodo.zenodo.errors import ZenodoError

# what other packages and the tests use from here
__all__ = ["MARKER_PREFIX", "Failure", "Outcome", "Progress", "ProgressFactory", "Publisher"]
__all__ += ["explain_http", "marker_title", "metadata_hash", "relative_key"]

LOGGER = "maggot_zenodo.publish.workflow"
#: Internal errors (bugs) in a row before a dataset is no longer retried automatically.
MAX_INTERNAL_ERRORS = 3


@dataclass(frozen=True)
class Outcome:
    """How one attempt at a dataset ended."""

    folder: Path
    status: str  # "draft" | "published" | "failed"
    deposition_id: int | None = None
    deposit_url: str | None = None
    doi: str | None = None
    error: str | None = None
    hint: str | None = None
    retryable: bool = False
    detail: str | None = None  # the sysadmin's detail (logged too), never in META_zenodo.txt

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    @classmethod
    def failed(cls, folder: Path, f: Failure) -> Outcome:
        """An ending before any journal row (no deposition to name)."""
        return cls(folder, "failed", error=f.message, hint=f.hint, retryable=f.retryable,
                   detail=f.detail)  # fmt: skip


class Publisher:
    """Publishes datasets; thread-safe for different folders (one worker per folder)."""

    def __init__(
        self,
        config: Config,
        journal: Journal,
        *,
        stop: threading.Event | None = None,
        client_factory: Callable[[str, str], ZenodoClient] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.stop = stop or threading.Event()
        self._client_factory = client_factory or self._default_client
        self._site: maggot.Site | None = None
        self._site_lock = threading.Lock()

    def _default_client(self, url: str, token: str) -> ZenodoClient:
        return ZenodoClient.from_config(self.config.zenodo, token, stop=self.stop)

    def repository(self, token: str) -> Repository:
        """The repository datasets go to, for one token."""
        url = self.config.zenodo.url
        return ZenodoRepository(self._client_factory(url, token), url)

    def site(self) -> maggot.Site:
        with self._site_lock:
            if self._site is None:
                self._site = maggot.load_site(
                    self.config.maggot.conf_dir, self.config.maggot.cvlist_dir
                )
            return self._site

    def publish(
        self,
        folder: Path,
        *,
        fingerprint: str | None = None,
        with_files: bool | None = None,
        progress: ProgressFactory | None = None,
    ) -> Outcome:
        """Bring ``folder``'s deposition up to date; never raises for a dataset's problems."""
        folder = Path(folder).absolute()
        try:
            held = self._lock(folder)
        except OSError as exc:
            f = lock_failure(exc, self._locks())
            get_logger(LOGGER, folder=str(folder)).error(
                f"{folder}: cannot take the dataset lock", status="failed", error=f.detail
            )
            return Outcome.failed(folder, f)
        if held is None:
            return Outcome.failed(folder, BUSY)
        try:
            return _Run(self, folder, fingerprint, with_files, progress).execute()
        finally:
            os.close(held)

    def _locks(self) -> Path:
        return Path(self.config.state).parent / "locks"

    def _lock(self, folder: Path) -> int | None:
        """An exclusive lock on ``folder`` across processes (the daemon and `publish`)."""
        locks = self._locks()
        locks.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(os.path.realpath(folder).encode()).hexdigest()[:32]
        return lock.try_flock(locks / f"{name}.lock")


class _Run:
    """One attempt at one dataset (all state of the attempt, none shared)."""

    def __init__(
        self,
        publisher: Publisher,
        folder: Path,
        fingerprint: str | None,
        with_files: bool | None,
        progress: ProgressFactory | None,
    ) -> None:
        self.p = publisher
        self.config = publisher.config
        self.journal = publisher.journal
        self.folder = folder
        self.rel = relative_key(self.config.storage.root, folder)
        self.semaphore = folder / self.config.storage.semaphore
        self.fingerprint = fingerprint
        self.with_files = with_files
        self.progress = progress
        self.row: DatasetRow | None = None
        self.repo: Repository | None = None
        self.plan: Plan | None = None
        self.claimed: int | None = None  # the deposition the status file names (unverified)
        self.vanished = False
        self.communities: list[dict[str, str]] = []  # of the published record, per community
        self.internal = False  # this attempt ended in an internal error
        self.log = get_logger(LOGGER, dataset=self.rel)

    # -- the attempt -------------------------------------------------------------------
    def execute(self) -> Outcome:
        try:
            return self._execute()
        except Stopped:
            self.log.info(f"{self.rel}: stopped between steps", status="queued")
            if self.row is not None:
                self._update(status="queued")
            self._try_write_status("queued")
            return self._outcome("failed", "Stopped before the end.", "", retryable=True)
        except Exception as exc:
            return self._fail(self._failure(exc))
        finally:
            if self.repo is not None:
                self.repo.close()

    def _execute(self) -> Outcome:
        gate.check_folder(self.config, self.folder)
        try:
            gate.check_semaphore(self.config, self.semaphore)
        except gate.Refused:
            self._journal_refusal()
            raise
        present = semaphore_fingerprint(self.semaphore) is not None
        if self.fingerprint is None and present:
            self.fingerprint = semaphore_fingerprint(self.semaphore)
        with_files = present if self.with_files is None else self.with_files
        try:
            token = choose_token(self.config, self.semaphore if present else None)
        except Failure as f:
            # the sysadmin's paths and commands go to the log, plain words to the researcher
            self.log.error(f"{self.rel}: no usable Zenodo token", error=scrub(f.detail or ""))
            raise
        self.row = self.journal.dataset(
            self.config.zenodo.url, token.account, self.rel, str(self.folder)
        )
        if self.row.deposition_id is None:
            self.claimed = moves.claimed_deposition(self.folder)
        self._update(status="publishing", error=None, hint=None)
        try:
            self._write_status("publishing")
        except OSError as exc:
            raise self._unwritable(exc) from None
        self.plan = prepare(
            self.config, self._site(), self.folder, with_files=with_files, md5_cache=self.journal
        )
        writeback.log_warnings(self.log, self.rel, self.plan)
        if self.p.stop.is_set():
            raise Stopped
        self.repo = self.p.repository(token.value)
        session = Session(self.journal, self.row, self.repo, self.log, self.p.stop)
        session.on_known = lambda: self._known(session)
        moves.recognise(session, self.plan.metadata, self.claimed)
        z = self.config.zenodo
        adopt = z.adopt == "title"
        dep = deposit(
            self.plan,
            session,
            publish=z.publish,
            adopt=adopt,
            progress=self.progress,
            concurrency=z.upload_concurrency,
        )
        self.row = session.row
        if dep.state != "unsubmitted":
            self.communities = communities.inclusion(self.plan.metadata, dep)
        return self._succeed("draft" if dep.state == "unsubmitted" else "published")

    def _known(self, session: Session) -> None:
        """The deposition is known: say so in the status file now (see Session.on_known)."""
        self.row = session.row
        self._try_write_status("publishing")

    def _internal(self, exc: Exception) -> Failure:
        """A bug met: retried a few times (the count is in the journal), then given up."""
        self.internal = True
        count = 1
        if self.row is not None:
            count = self._row().internal_errors + 1
            self._update(internal_errors=0 if count >= MAX_INTERNAL_ERRORS else count)
        return internal_failure(exc, count, MAX_INTERNAL_ERRORS, self.config.storage.semaphore)

    def _failure(self, exc: Exception) -> Failure:
        """What ``exc`` means for this dataset."""
        if self.row is not None and not self.folder.is_dir():
            self.vanished = True
            return vanished_failure(self.rel)
        if isinstance(exc, UserError):
            return from_user_error(exc)
        if isinstance(exc, ZenodoError):  # a request outside the repository adapter
            return explain_http(exc)
        # a bug or the machine: fail this dataset only
        self.log.exception(f"{self.rel}: unexpected error", status="failed")
        return self._internal(exc)

    def _site(self) -> maggot.Site:
        try:
            return self.p.site()
        except DatasetError as exc:  # the site's Maggot files: the sysadmin's to fix
            raise problems_failure(
                "The site's Maggot configuration is unusable", exc.problems, retryable=True
            ) from None

    def _unwritable(self, exc: OSError) -> Failure:
        failure = unwritable_failure(exc, self.folder, self.config.storage.semaphore)
        self.log.error(
            f"{self.rel}: cannot write the status file", status="failed", error=failure.detail
        )
        return failure

    def _journal_refusal(self) -> None:
        """Give a request refused before any work a journal row, so that its fingerprint is
        recorded as handled and the daemon does not refuse it again at every rescan."""
        if self.fingerprint is None:
            self.fingerprint = semaphore_fingerprint(self.semaphore)
        try:
            token = choose_token(self.config, None)
        except Failure:
            return  # no site account to key it by: it is refused again next time, harmlessly
        self.row = self.journal.dataset(
            self.config.zenodo.url, token.account, self.rel, str(self.folder)
        )

    # -- endings -----------------------------------------------------------------------
    def _succeed(self, status: str) -> Outcome:
        self._update(
            status=status,
            error=None,
            hint=None,
            internal_errors=0,
            files=self.plan.file_list() if self.plan else [],
            **({"handled_fingerprint": self.fingerprint} if self.fingerprint else {}),
        )
        self._try_write_status(status)  # the deposition is done: a write problem is logged
        row = self._row()
        # the event name "dataset done" is what monitoring (and the demo's test) look for
        self.log.info(
            "dataset done",
            deposition_id=row.deposition_id,
            status=status,
            deposit_url=row.deposit_url,
        )
        return self._outcome(status)

    def _fail(self, f: Failure) -> Outcome:
        error, hint = scrub(f.error), scrub(f.hint)
        detail = scrub(f.detail) if f.detail else None
        if self.row is not None and self._row().abs_folder == str(self.folder):
            values: dict[str, Any] = {"status": "failed", "error": error, "hint": hint}
            if not f.retryable and self.fingerprint and not self.vanished:
                values["handled_fingerprint"] = self.fingerprint
            if not self.internal:
                values["internal_errors"] = 0  # "in a row": another ending breaks the row
            self._update(**values)
        self.log.warning(
            f"{self.rel}: failed: {error}",
            status="failed",
            error=error,
            retryable=f.retryable,
            deposition_id=self.row.deposition_id if self.row else None,
        )
        self._try_write_status("failed", error=error, hint=hint)
        return self._outcome("failed", error, hint, retryable=f.retryable, detail=detail)

    def _outcome(
        self,
        status: str,
        error: str | None = None,
        hint: str | None = None,
        *,
        retryable: bool = False,
        detail: str | None = None,
    ) -> Outcome:
        row = self._row() if self.row is not None else None
        return Outcome(
            folder=self.folder,
            status=status,
            deposition_id=row.deposition_id if row else None,
            deposit_url=row.deposit_url if row else None,
            doi=row.doi if row and status == "published" else None,
            error=error,
            hint=hint,
            retryable=retryable,
            detail=detail,
        )

    def _try_write_status(self, status: str, **extra: Any) -> None:
        """Write the status file where failing must not change the outcome: log it."""
        try:
            self._write_status(status, **extra)
        except OSError as exc:
            self.log.error(  # the fix depends on why: a read-only mount is not a permission
                f"{self.rel}: cannot write the status file: {write_hint(exc, self.folder)}",
                folder=str(self.folder),
                error=str(exc),
            )

    def _write_status(self, status: str, **extra: Any) -> None:
        if self.folder.is_symlink() or not self.folder.is_dir():
            return
        row = self._row() if self.row is not None else None
        if status == "published":
            extra.setdefault("communities", self.communities)
        text = writeback.render(
            status, row, self.plan, self.claimed, self.config.storage.semaphore, **extra
        )
        statusfile.write(self.folder, text)

    # -- helpers -----------------------------------------------------------------------
    def _row(self) -> DatasetRow:
        assert self.row is not None
        self.row = self.journal.get(self.row.id)
        return self.row

    def _update(self, **values: Any) -> None:
        assert self.row is not None
        self.row = self.journal.update(self.row.id, **values)
