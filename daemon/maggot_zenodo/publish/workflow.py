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

import errno
import hashlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maggot_zenodo import lock
from maggot_zenodo.config import Config
from maggot_zenodo.constants import STATUS_FILE
from maggot_zenodo.convert import maggot
from maggot_zenodo.convert.problems import DatasetError
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import get_logger, scrub
from maggot_zenodo.publish import moves
from maggot_zenodo.publish.deposit import Progress, ProgressFactory, deposit, metadata_hash
from maggot_zenodo.publish.explain import Failure, explain_http, from_user_error, problems_failure
from maggot_zenodo.publish.markers import MARKER_PREFIX, marker_title
from maggot_zenodo.publish.prepare import Plan, choose_token, prepare, relative_key
from maggot_zenodo.publish.repository import Repository
from maggot_zenodo.publish.session import Session, Stopped
from maggot_zenodo.publish.zenodo_repository import ZenodoRepository
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow, Journal
from maggot_zenodo.zenodo.client import ZenodoClient
from maggot_zenodo.zenodo.errors import ZenodoError

__all__ = [
    "MARKER_PREFIX",
    "Failure",
    "Outcome",
    "Progress",
    "ProgressFactory",
    "Publisher",
    "explain_http",
    "marker_title",
    "metadata_hash",
    "relative_key",
]

LOGGER = "maggot_zenodo.publish.workflow"


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
            detail = (
                f"cannot lock the dataset in {self._locks()} ({exc.strerror or exc}): the "
                "service user needs write access to the state folder's locks/ directory"
            )
            get_logger(LOGGER, dataset=str(folder)).error(
                f"{folder}: cannot take the dataset lock", status="failed", error=detail
            )
            return Outcome(
                folder,
                "failed",
                error="maggot-zenodo cannot work on this dataset: its state folder is unusable.",
                hint="Tell the site administrator; it will be tried again automatically.",
                retryable=True,
                detail=detail,
            )
        if held is None:
            return Outcome(
                folder,
                "failed",
                error="Another maggot-zenodo process is publishing this dataset right now.",
                hint="Nothing to do: it will be tried again.",
                retryable=True,
            )
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
        except UserError as exc:
            return self._fail(from_user_error(exc))
        except ZenodoError as exc:  # a request outside the repository adapter
            return self._fail(explain_http(exc))
        except Exception as exc:  # a bug or the machine: fail this dataset only, retry later
            self.log.exception(f"{self.rel}: unexpected error", status="failed")
            return self._fail(
                Failure(
                    f"An internal error stopped the publication ({type(exc).__name__}).",
                    "It will be tried again; if it persists, tell the site administrator.",
                    retryable=True,
                )
            )
        finally:
            if self.repo is not None:
                self.repo.close()

    def _execute(self) -> Outcome:
        if not self.folder.is_dir():
            raise Failure(f"The dataset folder {self.folder} does not exist.", "")
        if self.semaphore.is_symlink():
            self._journal_refusal()
            raise Failure(
                f"The semaphore file {self.semaphore.name} is a symbolic link; it is refused.",
                f"Replace it with a regular file: rm it, then touch {self.semaphore.name}.",
            )
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
            self.row = moves.follow_move(self.journal, self.row, self.folder, self.log)
        self._update(status="publishing", error=None, hint=None)
        try:
            self._write_status("publishing")
        except OSError as exc:
            raise self._unwritable(exc) from None
        self.plan = prepare(
            self.config, self._site(), self.folder, with_files=with_files, md5_cache=self.journal
        )
        if self.p.stop.is_set():
            raise Stopped
        self.repo = self.p.repository(token.value)
        session = Session(self.journal, self.row, self.repo, self.log, self.p.stop)
        dep = deposit(
            self.plan, session, publish=self.config.zenodo.publish, progress=self.progress
        )
        self.row = session.row
        return self._succeed("draft" if dep.state == "unsubmitted" else "published")

    def _site(self) -> maggot.Site:
        try:
            return self.p.site()
        except DatasetError as exc:  # the site's Maggot files: the sysadmin's to fix
            raise problems_failure(
                "The site's Maggot configuration is unusable", exc.problems, retryable=True
            ) from None

    def _unwritable(self, exc: OSError) -> Failure:
        """The dataset folder refuses our status file: the sysadmin's to fix, said plainly.

        Permission problems (EACCES, EPERM, EROFS) are not retried: nothing changes until
        someone fixes the folder, and retrying would only fill the log. Anything else (disk
        full, quota, I/O error) may pass, so it is retried."""
        permanent = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        detail = (
            f"cannot write {STATUS_FILE} in {self.folder} ({exc.strerror or exc}): "
            "the service user needs write access to the dataset folder (make it group-writable "
            "for the service's group, with the setgid bit so new files keep that group)"
        )
        self.log.error(f"{self.rel}: cannot write the status file", status="failed", error=detail)
        return Failure(
            "maggot-zenodo cannot write into this dataset folder, so it was not sent to Zenodo.",
            "Ask the site administrator to give the maggot-zenodo service write access to the "
            f"folder, then touch {self.config.storage.semaphore} again."
            if permanent
            else "It will be tried again; if it persists, tell the site administrator.",
            retryable=not permanent,
            detail=detail,
        )

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
        if self.row is not None:
            values: dict[str, Any] = {"status": "failed", "error": error, "hint": hint}
            if not f.retryable and self.fingerprint:
                values["handled_fingerprint"] = self.fingerprint
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
            self.log.error(
                f"{self.rel}: cannot write the status file; the service user needs write "
                "access to the dataset folder (group-writable, setgid)",
                folder=str(self.folder),
                error=str(exc),
            )

    def _write_status(self, status: str, **extra: Any) -> None:
        if self.folder.is_symlink() or not self.folder.is_dir():
            return
        row = self._row() if self.row is not None else None
        published = status == "published"
        done = self.plan is not None and status in ("draft", "published")
        text = statusfile.render(
            status,
            deposit_url=row.deposit_url if row else None,
            deposition_id=row.deposition_id if row else None,
            record_url=row.record_url if row and published else None,
            doi=row.doi if row and published else None,
            concept_doi=row.concept_doi if row and published else None,
            files=self.plan.file_list() if done and self.plan else (),
            semaphore=self.config.storage.semaphore,
            **extra,
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
