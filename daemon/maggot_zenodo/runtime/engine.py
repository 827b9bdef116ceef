"""The machinery shared by ``run`` and ``run --once``: the wakeup pipe and the Runtime.

trigger (watcher or reconciliation scan) → settle → queue → worker → every configured
repository still pending (``publish.targets``).
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from maggot_zenodo.config import Config
from maggot_zenodo.logs import get_logger
from maggot_zenodo.publish import targets
from maggot_zenodo.runtime.baseline import ensure_baseline, record, sort_found
from maggot_zenodo.runtime.scan import relative
from maggot_zenodo.runtime.sdnotify import Notifier
from maggot_zenodo.runtime.workers import DONE, FAILED, RETRY, SKIP, WorkerPool
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.watch.settle import Settler, declared_files

SKIPPED = "skipped"
# At stop, the last fifth of shutdown_timeout (at most CHECKPOINT_MAX seconds) is left for jobs
# to checkpoint after the Publisher's stop event; then the process leaves anyway (the journal
# makes the rest resumable).
CHECKPOINT_SHARE, CHECKPOINT_MAX = 0.2, 5.0
# Zenodo unavailable or the network down: try again after 1 min, doubling up to 1 h.
RETRY_BASE, RETRY_MAX = 60.0, 3600.0

log = get_logger("maggot_zenodo.runtime.engine")


class Wakeup:
    """A self-pipe the main thread sleeps on; signals and worker threads wake it."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)

    def set(self) -> None:
        with contextlib.suppress(OSError):  # a full pipe already means "wake up"
            os.write(self.write_fd, b"\0")

    def wait(self, timeout: float | None) -> None:
        with contextlib.suppress(InterruptedError):
            ready, _, _ = select.select([self.read_fd], [], [], timeout)
            if ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(self.read_fd, 4096):
                        pass

    def close(self) -> None:
        for fd in (self.read_fd, self.write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)


class Runtime:
    """Journal, Publisher, settle stage and worker pool for one process."""

    def __init__(
        self,
        config: Config,
        *,
        retries: bool,
        notifier: Notifier | None = None,
        retry_base: float = RETRY_BASE,
        retry_max: float = RETRY_MAX,
    ) -> None:
        from maggot_zenodo.publish.workflow import Publisher
        from maggot_zenodo.state.journal import Journal

        self.config = config
        self.retries = retries
        self.notifier = notifier or Notifier()
        self.wakeup = Wakeup()
        self.stop_publishing = threading.Event()  # the Publisher's stop: checkpoint and return
        self.stop_requested = False
        self.stop_signals = 0
        self.reload_requested = False
        self.journal = Journal(config.state)
        self.publisher_class = Publisher
        self.publisher = Publisher(config, self.journal, stop=self.stop_publishing)
        self.outcomes: Counter[str] = Counter()
        self._outcomes_lock = threading.Lock()
        self.pool = WorkerPool(
            self._job,
            config.workers,
            retry_base=retry_base,
            retry_max=retry_max,
            on_change=self.wakeup.set,
        )
        self.settler = Settler(config.storage.settle, self._settled, files_of=self._settle_files)
        self._previous_handlers: dict[int, Any] = {}
        self._baseline_done = False
        self._baselined: dict[str, str] = {}
        self._baseline_lock = threading.Lock()
        self._collecting: list[tuple[Path, str]] | None = None  # see begin_baseline()
        self._asked: set[Path] = set()
        self._forced: set[Path] = set()  # folders a retry was asked for

    def ensure_baseline(self) -> None:
        """Take the first-start baseline of the configured storage root if none was taken
        (at start, after a reload onto a new root, or once a missing root appears)."""
        with self._baseline_lock:  # the watcher's and the workers' threads may ask at once
            if not self._baseline_done and self._collecting is None:
                ran_before = self.journal.storage_known(self.config.storage.root)
                ensure_baseline(self.config, self.journal)
                self.register_repositories(ran_before=ran_before)
                self._baseline_done = self.journal.storage_known(self.config.storage.root)
                # The baseline changes only here: kept in memory, a start-up scan of 10 000
                # baselined semaphores costs a dict lookup each instead of two queries.
                self._baselined = self.journal.baselined()

    def begin_baseline(self) -> bool:
        """At a daemon's first start on a storage root: let the watcher's start-up scan be the
        baseline walk (one walk fewer). Its ``scan`` reports are collected, not requests, until
        ``finish_baseline``; what events report meanwhile stays a request. False when there is
        no baseline to take now."""
        root = self.config.storage.root
        with self._baseline_lock:
            if self._baseline_done or self.journal.storage_known(root) or not root.is_dir():
                return False
            self._collecting = []
            self._asked = set()
            return True

    def finish_baseline(self) -> None:
        """The watcher is ready: record what its start-up scan found as the baseline."""
        with self._baseline_lock:
            seen, self._collecting = self._collecting, None
            if seen is None:
                return
            seen = [(f, fp) for f, fp in seen if f not in self._asked]
            found, orphans = sort_found(seen, self.journal.known_folders())
            record(self.config, self.journal, found, orphans)
            self.register_repositories(ran_before=False)
            self._baseline_done = True
            self._baselined = self.journal.baselined()
        for folder, fingerprint in found:  # existing: publish: the rest are requests
            if self._baselined.get(str(folder.absolute())) != fingerprint:
                self.trigger(folder, "scan")

    def register_repositories(self, *, ran_before: bool) -> None:
        """Record the configured repositories (at start and at reload). One added to a site
        that already ran does not receive what was handled before it came, as a first start
        does not publish the semaphores already there."""
        for name, count in targets.register(
            self.config, self.journal, site_ran_before=ran_before
        ).items():
            log.info(
                f"{name} is newly configured: {count} datasets handled before it came are not "
                f"sent to it (touch a dataset's {self.config.storage.semaphore}, or run "
                "'maggot-zenodo publish DIR', to send one)",
                repository=name,
                not_sent=count,
            )

    def storage_changed(self) -> None:
        """A reload changed the storage settings: the new root may need its baseline."""
        self._baseline_done = False
        self.ensure_baseline()

    def needs_work(self, folder: Path, fingerprint: str) -> bool:
        """The journal's view: neither handled nor baselined."""
        self.ensure_baseline()
        if self._baselined.get(str(folder.absolute())) == fingerprint:
            return False  # as found at the first start: not a request
        return targets.is_pending(self.journal, self.config, folder, fingerprint)

    def _settle_files(self, folder: Path) -> list[Path]:
        """What must stop changing before ``folder`` is published (read at each look, so a
        reloaded configuration applies)."""
        return declared_files(
            folder,
            self.config.storage.semaphore,
            max_metadata_size=self.config.maggot.max_metadata_size,
        )

    # signals ------------------------------------------------------------------------------
    def install_signals(self, *, reload: bool) -> None:
        """Handlers only set flags; the wakeup fd gets the signal number and wakes the loop."""
        if threading.current_thread() is not threading.main_thread():
            return
        signal.set_wakeup_fd(self.wakeup.write_fd, warn_on_full_buffer=False)
        wanted = [signal.SIGTERM, signal.SIGINT] + ([signal.SIGHUP] if reload else [])
        for signum in wanted:
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def restore_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)
        signal.set_wakeup_fd(-1)

    def _on_signal(self, signum: int, _frame: Any) -> None:
        if signum == signal.SIGHUP:
            self.reload_requested = True
        else:
            self.stop_requested = True
            self.stop_signals += 1

    # the pipeline -------------------------------------------------------------------------
    def rel(self, folder: Path) -> str:
        return relative(folder, self.config.storage.root)

    def trigger(self, folder: Path, reason: str) -> bool:
        """A dataset may need work: start its settle period unless the journal says the
        semaphore as it is now was already handled (the watcher's scans report them all).
        False when there is nothing to do."""
        fingerprint = semaphore_fingerprint(folder / self.config.storage.semaphore)
        if fingerprint is None:
            return False
        with self._baseline_lock:
            if self._collecting is not None:  # a first start's baseline is being taken
                if reason == "scan":
                    self._collecting.append((folder, fingerprint))
                    return False
                self._asked.add(folder)  # created or touched while the watches were placed
        if not self.needs_work(folder, fingerprint):
            return False
        log.debug("trigger", dataset=self.rel(folder), reason=reason)
        self.settler.add(folder)
        self.wakeup.set()
        return True

    def wanted(self, folder: Path) -> tuple[bool, str | None]:
        """Whether ``folder`` is to be published now (a request, or a retry asked for), and
        its semaphore's fingerprint (None: no semaphore)."""
        fingerprint = semaphore_fingerprint(folder / self.config.storage.semaphore)
        with self._outcomes_lock:
            if folder in self._forced:
                return True, fingerprint
        return fingerprint is not None and self.needs_work(folder, fingerprint), fingerprint

    def retry(self, folder: Path) -> bool:
        """``maggot-zenodo retry``: run ``folder`` again, whatever the journal says of its
        semaphore. False (logged) when it is not a dataset folder below the storage root."""
        root = self.config.storage.root.absolute()
        folder = Path(folder)
        if not folder.is_dir() or (folder != root and root not in folder.parents):
            log.warning(
                f"{folder}: retry refused: not a folder below the storage root {root}",
                folder=str(folder),
            )
            return False
        log.info(f"{self.rel(folder)}: retry requested", dataset=self.rel(folder))
        with self._outcomes_lock:
            self._forced.add(folder)
        self.settler.add(folder)
        self.wakeup.set()
        return True

    def _settled(self, folder: Path) -> None:
        wanted, fingerprint = self.wanted(folder)
        if not wanted:
            self.record(SKIPPED)
            return
        log.info("queued", dataset=self.rel(folder), status="queued")
        # Before submit: once a worker has it, each repository's run writes ``publishing`` on.
        targets.write_queued(self.config, folder, self._repositories(folder, fingerprint))
        self.pool.submit(folder)

    def _repositories(self, folder: Path, fingerprint: str | None) -> list[str]:
        """The repositories a run of ``folder`` goes to: those still pending, or all of them
        for a retry asked for by hand."""
        with self._outcomes_lock:
            forced = folder in self._forced
        return targets.pending(self.journal, self.config, folder, None if forced else fingerprint)

    def record(self, what: str) -> None:
        with self._outcomes_lock:
            self.outcomes[what] += 1
        self.wakeup.set()

    def outcome_counts(self) -> Counter[str]:
        """A copy of the outcomes so far (workers add to them concurrently)."""
        with self._outcomes_lock:
            return Counter(self.outcomes)

    def _job(self, folder: Path) -> str:
        """One worker's run for ``folder``: the semaphore as it is now, published once."""
        rel = self.rel(folder)
        wanted, fingerprint = self.wanted(folder)
        names = self._repositories(folder, fingerprint) if wanted else []
        with self._outcomes_lock:
            self._forced.discard(folder)  # this run is the retry asked for
        if not wanted:
            log.info("nothing to do", dataset=rel, reason="semaphore gone or already handled")
            self.record(SKIPPED)
            return SKIP
        if self.stop_publishing.is_set():
            return SKIP
        publisher = self.publisher  # a reload swaps it; this run keeps the one it started with
        log.info("publishing", dataset=rel, status="publishing")
        try:
            outcomes = targets.publish_all(publisher, folder, fingerprint=fingerprint, only=names)
            outcome = targets.combined(outcomes)
        except Exception as exc:
            log.exception("publication crashed", dataset=rel, status="failed", error=str(exc))
            self.record("failed")
            return FAILED
        if outcome is None:  # every repository handled it meanwhile
            self.record(SKIPPED)
            return SKIP
        fields = {
            "dataset": rel,
            "status": outcome.status,
            "deposition_id": outcome.deposition_id,
            "deposit_url": outcome.deposit_url,
        }
        # The Publisher logs the details; this line closes the run for the service's view.
        log.debug("run finished", retryable=outcome.retryable, **fields)
        if outcome.status != "failed":
            self.record(outcome.status)
            return DONE
        if self.stop_publishing.is_set():
            self.record("interrupted")  # checkpointed: the journal resumes it next start
            return SKIP
        if outcome.retryable and self.retries:
            self.record("retrying")
            due = time.time() + self.pool.next_retry_delay(folder)
            waiting = [name for name, o in outcomes.items() if not o.ok and o.retryable]
            targets.note_next_attempt(folder, waiting, due)
            return RETRY
        self.record("failed")
        return FAILED

    def counts_text(self) -> str:
        """STATUS's counts, about datasets (not jobs): what is in flight from the pool, the
        rest from the journal, so the figures survive a restart (#11 §3)."""
        c = self.pool.counts()
        journal = self.journal.dataset_counts()
        draft, published = journal.get("draft", 0), journal.get("published", 0)
        done = draft + published
        settling = self.settler.count()
        parts = [f"{settling} settling"] if settling else []
        parts += [f"{c.queued} queued", f"{c.running} publishing", f"{done} done"]
        failed = f"{journal.get('failed', 0)} failed"
        if done:
            failed += f" ({draft} draft, {published} published)"
        parts.append(failed)
        if journal.get("baselined"):
            parts.append(f"{journal['baselined']} baselined")
        if c.retrying:
            parts.append(f"{c.retrying} waiting to retry")
        return ", ".join(parts)

    # shutdown -----------------------------------------------------------------------------
    def drain(self, tick: Callable[[], object] | None = None) -> bool:
        """Take no new work; let running jobs finish, then stop them: all within exactly
        ``shutdown_timeout`` seconds (0.1.0 added a fixed 10 s on top).

        The last part of the timeout (a fifth, at most CHECKPOINT_MAX) is for interrupted jobs
        to checkpoint after the Publisher's stop event; a second signal interrupts at once.
        Returns True when every job ended (finished, or checkpointed after the stop event).
        """
        self.settler.stop()
        self.pool.close()
        timeout = max(0.0, self.config.shutdown_timeout)
        deadline = time.monotonic() + timeout
        stop_at = deadline - min(CHECKPOINT_MAX, timeout * CHECKPOINT_SHARE)
        signals_seen = self.stop_signals
        while not self.pool.join(max(0.0, min(0.2, stop_at - time.monotonic()))):
            if tick is not None:
                tick()
            if time.monotonic() >= stop_at or self.stop_signals > signals_seen:
                break
        else:
            return True
        waited = timeout - (deadline - time.monotonic())
        log.warning(
            f"stopping: uploads still running after {waited:.1f} s; interrupting them "
            "(they resume at the next start)",
            shutdown_timeout=self.config.shutdown_timeout,
        )
        self.stop_publishing.set()
        return self.pool.join(max(0.0, deadline - time.monotonic()))

    def close(self) -> None:
        self.stop_publishing.set()
        self.restore_signals()
        self.journal.close()
        self.wakeup.close()
