"""The daemon runtime: ``run``, ``run --once`` and ``scan``.

trigger (watcher or reconciliation scan) → settle → queue → worker → ``Publisher.publish``.
The main thread only waits on a self-pipe: signal handlers set flags (and Python writes the
signal number into the pipe), threads write a byte when counts change, and the main loop
acts on both: STATUS and WATCHDOG to systemd, configuration reload, orderly shutdown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from maggot_zenodo.config import Config, ConfigError, load_config
from maggot_zenodo.lock import AlreadyRunning, InstanceLock
from maggot_zenodo.logs import get_logger, setup_logging
from maggot_zenodo.runtime import metrics_export
from maggot_zenodo.runtime.sdnotify import Notifier, watchdog_interval
from maggot_zenodo.runtime.workers import DONE, FAILED, RETRY, SKIP, WorkerPool
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile
from maggot_zenodo.watch.settle import Settler, declared_files

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SKIPPED = "skipped"
# After shutdown_timeout the Publisher's stop event is set; jobs then get this long to
# checkpoint before the process leaves anyway (the journal makes the rest resumable).
STOP_GRACE = 10.0
# While the watcher is still placing watches (or walking a slow NFS tree for the first
# time), systemd's start timeout is pushed back by this much at every tick, for at most
# START_EXTEND_MAX in all: a wedged start still ends.
START_EXTEND_STEP, START_EXTEND_MAX = 30.0, 3600.0
# Zenodo unavailable or the network down: try again after 1 min, doubling up to 1 h.
RETRY_BASE, RETRY_MAX = 60.0, 3600.0
# How often the main loop looks whether the watcher is ready while a READY=1 is owed.
READY_POLL = 0.02

log = get_logger("maggot_zenodo.runtime.service")


# -- what awaits processing ----------------------------------------------------------------
def relative(folder: Path, root: Path) -> str:
    try:
        return folder.relative_to(root).as_posix() or "."
    except ValueError:
        return str(folder)


def pending_reason(row: Any | None) -> str:
    """Why a dataset whose semaphore is not handled awaits processing, in plain words."""
    if row is None:
        return "new semaphore, never processed"
    status = getattr(row, "status", None)
    if status == "failed":
        return f"last attempt failed: {row.error or 'unknown error'}"
    if status in ("queued", "publishing"):
        return "interrupted before it finished"
    return "semaphore touched since the last publication"


def pending_datasets(config: Config, journal: Any | None) -> Iterator[tuple[Path, str]]:
    """Every dataset folder whose semaphore awaits processing, with the reason."""
    from maggot_zenodo.watch.scanner import find_semaphores

    rows: dict[str, Any] = {}
    if journal is not None:
        rows = {row.abs_folder: row for row in journal.rows()}
    for sem in find_semaphores(config.storage.root, config.storage.semaphore):
        fingerprint = semaphore_fingerprint(sem)
        if fingerprint is None:
            continue
        folder = sem.parent
        if journal is None or journal.is_pending(folder, fingerprint):
            yield folder, pending_reason(rows.get(str(folder.absolute())))


def run_scan(config: Config) -> int:
    """``maggot-zenodo scan``: list what awaits processing; change nothing."""
    from maggot_zenodo.state.journal import Journal

    journal = Journal(config.state) if config.state.exists() else None
    try:
        for folder, reason in pending_datasets(config, journal):
            print(f"{relative(folder, config.storage.root)}\t{reason}", flush=True)
    finally:
        if journal is not None:
            journal.close()
    return EXIT_OK


# -- the machinery shared by run and run --once ---------------------------------------------
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
        if fingerprint is None or not self.journal.is_pending(folder, fingerprint):
            return False
        log.debug("trigger", dataset=self.rel(folder), reason=reason)
        self.settler.add(folder)
        self.wakeup.set()
        return True

    def _settled(self, folder: Path) -> None:
        fingerprint = semaphore_fingerprint(folder / self.config.storage.semaphore)
        if fingerprint is None or not self.journal.is_pending(folder, fingerprint):
            self.record(SKIPPED)
            return
        log.info("queued", dataset=self.rel(folder), status="queued")
        # Before submit: once a worker has it, the Publisher writes ``publishing`` and on.
        statusfile.write_queued(folder, semaphore=self.config.storage.semaphore)
        self.pool.submit(folder)

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
        fingerprint = semaphore_fingerprint(folder / self.config.storage.semaphore)
        if fingerprint is None or not self.journal.is_pending(folder, fingerprint):
            log.info("nothing to do", dataset=rel, reason="semaphore gone or already handled")
            self.record(SKIPPED)
            return SKIP
        if self.stop_publishing.is_set():
            return SKIP
        publisher = self.publisher  # a reload swaps it; this run keeps the one it started with
        log.info("publishing", dataset=rel, status="publishing")
        try:
            outcome = publisher.publish(folder, fingerprint=fingerprint)
        except Exception as exc:
            log.exception("publication crashed", dataset=rel, status="failed", error=str(exc))
            self.record("failed")
            return FAILED
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
            return RETRY
        self.record("failed")
        return FAILED

    def counts_text(self) -> str:
        c = self.pool.counts()
        settling = self.settler.count()
        parts = [f"{settling} settling"] if settling else []
        parts += [f"{c.queued} queued", f"{c.running} publishing", f"{c.done} done"]
        parts.append(f"{c.failed} failed")
        if c.retrying:
            parts.append(f"{c.retrying} waiting to retry")
        return ", ".join(parts)

    # shutdown -----------------------------------------------------------------------------
    def drain(self, tick: Callable[[], None] | None = None) -> bool:
        """Take no new work; let running jobs finish within shutdown_timeout, then stop them.

        Returns True when every job ended (finished, or checkpointed after the stop event).
        """
        self.settler.stop()
        self.pool.close()
        deadline = time.monotonic() + self.config.shutdown_timeout
        signals_seen = self.stop_signals
        while not self.pool.join(0.2):
            if tick is not None:
                tick()
            if time.monotonic() >= deadline or self.stop_signals > signals_seen:
                break
        else:
            return True
        log.warning(
            "uploads still running: interrupting them (they resume at the next start)",
            shutdown_timeout=self.config.shutdown_timeout,
        )
        self.stop_publishing.set()
        return self.pool.join(STOP_GRACE)

    def close(self) -> None:
        self.stop_publishing.set()
        self.restore_signals()
        self.journal.close()
        self.wakeup.close()


def token_problem(config: Config) -> str | None:
    """Read the site token once at start, so that a missing or unreadable token stops the
    daemon with the fix (exit 2, as any bad configuration) instead of failing every dataset.
    Reading it also registers it for scrubbing from the logs."""
    if config.zenodo.token is None:
        return None  # tokens.owners_dir only: each dataset's owner brings a token
    from maggot_zenodo import tokens

    try:
        tokens.read_source(config.zenodo.token)
    except tokens.TokenError as exc:
        return f"{exc.message} Fix: {exc.hint}" if exc.hint else exc.message
    return None


def _refuse_bad_token(config: Config) -> bool:
    problem = token_problem(config)
    if problem is None:
        return False
    log.error("refusing to start", error=problem)
    print(f"maggot-zenodo: zenodo.token: {problem}", file=sys.stderr, flush=True)
    return True


def _acquire(config: Config) -> InstanceLock | None:
    lock = InstanceLock(config.state)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        log.error("refusing to start", error=str(exc))
        print(f"maggot-zenodo: {exc}", file=sys.stderr, flush=True)
        return None
    return lock


# -- run --once --------------------------------------------------------------------------
def run_once(config: Config) -> int:
    """Publish every dataset awaiting processing, then exit: 0 when all succeeded, else 1."""
    if _refuse_bad_token(config):
        return EXIT_USAGE
    lock = _acquire(config)
    if lock is None:
        return EXIT_FAILED
    runtime: Runtime | None = None
    try:
        runtime = Runtime(config, retries=False)
        runtime.install_signals(reload=False)
        pending = list(pending_datasets(config, runtime.journal))
        for folder, reason in pending:
            log.info("pending", dataset=runtime.rel(folder), reason=reason)
        runtime.pool.start()
        runtime.settler.start()
        for folder, reason in pending:
            if not runtime.trigger(folder, reason):
                runtime.record(SKIPPED)  # handled meanwhile (or its semaphore went)
        interrupted = False
        while runtime.outcome_counts().total() < len(pending):
            if runtime.stop_requested:
                interrupted = True
                runtime.drain()
                break
            runtime.wakeup.wait(1.0)
        o = runtime.outcome_counts()
        summary = f"{o['published']} published, {o['draft']} draft, {o['failed']} failed"
        if interrupted:
            finished = o["published"] + o["draft"] + o["failed"] + o[SKIPPED]
            summary += f", {len(pending) - finished} not processed (interrupted)"
        print(summary, flush=True)
        ok = not interrupted and o["failed"] == 0
        return EXIT_OK if ok else EXIT_FAILED
    finally:
        if runtime is not None:
            runtime.pool.close()
            runtime.close()
        lock.release()


# -- run (the daemon) --------------------------------------------------------------------
def config_changes(old: Config, new: Config) -> list[str]:
    """Dotted names of the settings that differ (``zenodo.publish``, ``workers``, ...)."""
    changed: list[str] = []
    for f in dataclasses.fields(old):
        a, b = getattr(old, f.name), getattr(new, f.name)
        if dataclasses.is_dataclass(a) and dataclasses.is_dataclass(b):
            changed += [
                f"{f.name}.{g.name}"
                for g in dataclasses.fields(a)
                if getattr(a, g.name) != getattr(b, g.name)
            ]
        elif a != b and f.name != "source":
            changed.append(f.name)
    return changed


class WatcherFailed(Exception):
    """The watcher's thread ended before it was ever ready (the storage root, as str())."""


class Daemon:
    """``maggot-zenodo run``: watch, reconcile, publish, until SIGTERM/SIGINT.

    READY=1 means "watching": it is sent only once the watcher's watches are placed (or its
    first poll walk is done) and its start-up reconciliation scan has reported, at start and
    after a reload that restarts the watcher. Until then the main loop still answers signals
    and pings the watchdog, and STATUS says what it waits for.
    """

    def __init__(self, config: Config, config_path: str | os.PathLike[str] | None) -> None:
        self.config = config
        self.config_path = config_path if config_path is not None else config.source
        self.notifier = Notifier()
        self.runtime: Runtime | None = None
        self.watcher: Any = None
        self._unhealthy_logged = False
        self._awaiting_ready = False  # a READY=1 is owed once the current watcher is ready
        self._awaiting_since = time.monotonic()
        self._started = False  # the first READY=1 was sent

    # watcher and scan ---------------------------------------------------------------------
    def _start_watcher(self) -> None:
        from maggot_zenodo.watch import Watcher

        assert self.runtime is not None
        st = self.config.storage
        self.watcher = Watcher(
            st.root,
            st.semaphore,
            st.watch,
            st.poll_interval,
            st.rescan_interval,
            on_trigger=self.runtime.trigger,
        )
        self.watcher.start()
        self._awaiting_ready = True
        self._awaiting_since = time.monotonic()
        log.info("watching", root=str(st.root), mode=self.watcher.mode)

    def starting_text(self) -> str:
        """STATUS while the watcher gets ready (``starting``, or ``reloading`` after SIGHUP)."""
        phase = "starting" if not self._started else "reloading"
        root = self.config.storage.root
        if getattr(self.watcher, "mode", "inotify") == "poll":
            return f"{phase}: first scan of {root}…"
        return f"{phase}: placing watches on {root}…"

    def _check_ready(self) -> bool:
        """Send the owed READY=1 once the watcher is ready; False while it is not yet.

        Raises WatcherFailed when the watcher stopped before it was ever ready.
        """
        if not self._awaiting_ready:
            return True
        if self.watcher.wait_ready(0):
            self._awaiting_ready = False
            status = self.status_text()
            log.info("watcher ready", mode=self.watcher.mode, status=status)
            self.notifier.ready(status)
            if not self._started:
                self._started = True
                log.info(
                    "maggot-zenodo running",
                    pid=os.getpid(),
                    workers=self.config.workers,
                    publish=self.config.zenodo.publish,
                )
            return True
        if not self.watcher.alive():
            raise WatcherFailed(str(self.config.storage.root))
        self.notifier.status(self.starting_text())
        if time.monotonic() - self._awaiting_since < START_EXTEND_MAX:
            self.notifier.extend_timeout(START_EXTEND_STEP)
        return False

    def status_text(self) -> str:
        assert self.runtime is not None
        mode = getattr(self.watcher, "mode", "?")
        return f"watching {self.config.storage.root} ({mode}): {self.runtime.counts_text()}"

    def healthy(self) -> bool:
        """Watchdog health: the watcher and every worker are alive, and the settle loop's
        heartbeat is recent (a thread that is alive but wedged must stop the pings too)."""
        assert self.runtime is not None
        checks = {
            "watcher": self.watcher is not None and self.watcher.alive(),
            "settle": self.runtime.settler.healthy(),
            "workers": self.runtime.pool.healthy(),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad and not self._unhealthy_logged:
            log.error("health check failed: no watchdog ping", failing=",".join(bad))
        self._unhealthy_logged = bool(bad)
        return not bad

    # reload -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Apply the configuration file again. READY=1 follows at once, or, when the watcher
        restarts on a new storage setting, once the new watcher is ready."""
        runtime = self.runtime
        assert runtime is not None
        self.notifier.reloading()
        try:
            new = load_config(self.config_path)
        except ConfigError as exc:
            log.error("configuration reload refused; keeping the running one", error=str(exc))
            self.notifier.ready(self.status_text())
            return
        old = self.config
        if new.state != old.state:
            log.warning(
                "a new state file needs a restart; keeping the current one",
                state=str(old.state),
                requested=str(new.state),
            )
            new = dataclasses.replace(new, state=old.state)
        changes = config_changes(old, new)
        if new.log_level != old.log_level:
            setup_logging(new.log_level)
        runtime.config = new
        runtime.publisher = runtime.publisher_class(
            new, runtime.journal, stop=runtime.stop_publishing
        )
        runtime.settler.settle = new.storage.settle
        if new.workers != old.workers:
            runtime.pool.resize(new.workers)
        self.config = new
        if new.storage != old.storage:
            with contextlib.suppress(Exception):
                self.watcher.stop()
            self._start_watcher()  # its start-up scan reconciles the new tree
        log.info("configuration reloaded", changes=",".join(changes) or "none")
        if not self._awaiting_ready:
            self.notifier.ready(self.status_text())

    # main ---------------------------------------------------------------------------------
    def run(self) -> int:
        if _refuse_bad_token(self.config):
            return EXIT_USAGE
        lock = _acquire(self.config)
        if lock is None:
            return EXIT_FAILED
        try:
            self.runtime = Runtime(self.config, retries=True, notifier=self.notifier)
            self.runtime.install_signals(reload=True)
            return self._serve()
        finally:
            if self.watcher is not None:
                with contextlib.suppress(Exception):
                    self.watcher.stop()
            metrics_export.stop()  # before the journal it reads is closed
            if self.runtime is not None:
                self.runtime.close()
            lock.release()

    def _serve(self) -> int:
        runtime = self.runtime
        assert runtime is not None
        runtime.pool.start()
        runtime.settler.start()
        metrics_export.start(self.config.metrics, runtime.journal)
        self._start_watcher()  # its start-up scan is the reconciliation scan
        ping_every = watchdog_interval()
        next_ping = time.monotonic()
        tick = min(1.0, ping_every) if ping_every else 1.0

        def housekeeping() -> None:
            nonlocal next_ping
            if self._check_ready():
                self.notifier.status(self.status_text())
            if ping_every and time.monotonic() >= next_ping and self.healthy():
                self.notifier.watchdog()
                next_ping = time.monotonic() + ping_every

        failed: WatcherFailed | None = None
        while not runtime.stop_requested:
            # A SIGHUP during a (re)start waits for READY: one state change at a time.
            if runtime.reload_requested and not self._awaiting_ready:
                runtime.reload_requested = False
                self.reload()
            try:
                housekeeping()
            except WatcherFailed as exc:
                failed = exc
                break
            # The watcher has no callback for "ready": look often while it is owed.
            wait = READY_POLL if self._awaiting_ready else tick
            runtime.wakeup.wait(max(0.0, min(wait, next_ping - time.monotonic())) or wait)
        if failed is not None:
            log.error("the watcher stopped before it was ready; exiting", root=str(failed))
            self.notifier.stopping(f"failed: the watcher stopped on {failed}")
        else:
            log.info("stopping", shutdown_timeout=self.config.shutdown_timeout)
            self.notifier.stopping(f"stopping: {runtime.counts_text()}")
        with contextlib.suppress(Exception):
            self.watcher.stop()
        clean = runtime.drain(
            tick=lambda: self.notifier.status(f"stopping: {runtime.counts_text()}")
        )
        log.info("stopped", clean=clean)
        return EXIT_FAILED if failed is not None else EXIT_OK


def run_daemon(config: Config, config_path: str | os.PathLike[str] | None = None) -> int:
    """``maggot-zenodo run``: the daemon in the foreground, until SIGTERM or SIGINT."""
    return Daemon(config, config_path).run()
