"""``maggot-zenodo run``: the daemon, until SIGTERM or SIGINT.

The main thread only waits on a self-pipe: signal handlers set flags (and Python writes the
signal number into the pipe), threads write a byte when counts change, and the main loop
acts on both: STATUS and WATCHDOG to systemd, configuration reload, orderly shutdown.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import time
from typing import Any

from maggot_zenodo.config import Config, ConfigError, load_config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.logs import get_logger, setup_logging
from maggot_zenodo.runtime import metrics_export
from maggot_zenodo.runtime.engine import Runtime
from maggot_zenodo.runtime.sdnotify import Notifier, watchdog_interval
from maggot_zenodo.runtime.startup import Held, hold, refuse_bad_environment
from maggot_zenodo.runtime.supervise import DIED, RESTART, WatcherSupervisor
from maggot_zenodo.state import spool

# While the watcher is still placing watches (or walking a slow NFS tree for the first
# time), systemd's start timeout is pushed back by this much at every tick, for at most
# START_EXTEND_MAX in all: a wedged start still ends.
START_EXTEND_STEP, START_EXTEND_MAX = 30.0, 3600.0
# How often the main loop looks whether the watcher is ready while a READY=1 is owed, besides
# the wakeup a helper thread gives the moment it is (see _start_watcher).
READY_POLL = 1.0

log = get_logger("maggot_zenodo.runtime.daemon")


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


def _wake_when_ready(watcher: Any, wakeup: Any) -> None:
    """Wake the main loop the moment ``watcher`` is ready (or has stopped before being
    ready), so that READY=1 goes out at once. The main loop used to look 50 times a second
    instead, and each look took the GIL from the walk placing 100 000 watches."""
    while not watcher.wait_ready(1.0) and watcher.running():
        pass
    wakeup.set()


class WatcherFailed(Exception):
    """The daemon must stop: the watcher ended before it was ever ready, or the storage's
    lease was taken over (the message says which)."""


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
        self.supervisor = WatcherSupervisor()
        self.held: Held | None = None

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
            exclude=st.exclude,
        )
        self.watcher.start()
        threading.Thread(
            target=_wake_when_ready,
            args=(self.watcher, self.runtime.wakeup),
            name="maggot-zenodo-ready",
            daemon=True,
        ).start()
        self._awaiting_ready = True
        self._awaiting_since = time.monotonic()
        log.info(
            f"watching {st.root} ({self.watcher.mode})", root=str(st.root), mode=self.watcher.mode
        )

    def starting_text(self) -> str:
        """STATUS while the watcher gets ready (``starting``, or ``reloading`` after SIGHUP)."""
        phase = "starting" if not self._started else "reloading"
        if self.supervisor.restarts and self._started:
            phase = "restarting the watcher"
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
            assert self.runtime is not None
            self.runtime.finish_baseline()
            self._awaiting_ready = False
            status = self.status_text()
            log.info("watcher ready", mode=self.watcher.mode, status=status)
            self.notifier.ready(status)
            self.supervisor.ready(time.monotonic())
            if not self._started:
                self._started = True
                log.info(
                    "maggot-zenodo running",
                    pid=os.getpid(),
                    workers=self.config.workers,
                    publish=self.config.zenodo.publish,
                )
            return True
        if not self.watcher.running():
            if not self._started:
                root = self.config.storage.root
                raise WatcherFailed(f"{root}: the watcher stopped before it was ready")
            self._awaiting_ready = False  # a restarted watcher died again: supervise() acts
            return True
        self.notifier.status(self.starting_text())
        if time.monotonic() - self._awaiting_since < START_EXTEND_MAX:
            self.notifier.extend_timeout(START_EXTEND_STEP)
        return False

    def supervise(self) -> None:
        """After READY: a dead watcher is logged with its cause, then restarted (backing off).
        Meanwhile ``healthy()`` is False, so the watchdog is not fed."""
        if self._awaiting_ready or self.watcher is None:
            return
        # running(), not alive(): a watcher re-placing a lost watch heals itself
        verdict = self.supervisor.observe(self.watcher.running(), time.monotonic())
        root = str(self.config.storage.root)
        if verdict == DIED:
            cause = self.watcher.failure() or "its thread stopped"
            delay = self.supervisor.delay()
            log.error(
                f"{root}: the watcher died ({cause}); restarting it in {delay:g} s",
                root=root,
                error=cause,
                restarts=self.supervisor.restarts,
                delay=delay,
            )
            self.notifier.status(f"watcher died on {root}: {cause}")
        elif verdict == RESTART:
            with contextlib.suppress(Exception):
                self.watcher.stop(timeout=5.0)
            log.info(
                f"{root}: restarting the watcher", root=root, restarts=self.supervisor.restarts
            )
            self._start_watcher()

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
            log.error(f"reload refused: {exc}; keeping the running configuration", error=str(exc))
            self.notifier.ready(self.status_text())
            return
        old = self.config
        if new.state != old.state:
            log.warning(
                f"reload: a new state file needs a restart; keeping {old.state}",
                state=str(old.state),
                requested=str(new.state),
            )
            new = dataclasses.replace(new, state=old.state)
        moved = (new.storage.root, new.storage.lease_interval) != (
            old.storage.root,
            old.storage.lease_interval,
        )
        problem = self.held.move(new) if moved and self.held is not None else None
        if problem is not None:
            log.error(f"reload refused: {problem}", error=problem)
            self.notifier.ready(self.status_text())
            return
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
        if new.storage == old.storage:
            runtime.register_repositories(ran_before=True)
        if new.storage != old.storage:
            with contextlib.suppress(Exception):
                self.watcher.stop()
            runtime.storage_changed()
            self._start_watcher()  # its start-up scan reconciles the new tree
        log.info(
            f"reload: configuration reloaded ({', '.join(changes) or 'nothing changed'})",
            changes=",".join(changes) or "none",
        )
        if not self._awaiting_ready:
            self.notifier.ready(self.status_text())

    # main ---------------------------------------------------------------------------------
    def run(self) -> int:
        if refuse_bad_environment(self.config):
            return EXIT_USAGE
        held = hold(self.config)
        if held is None:
            return EXIT_FAILED
        self.held = held
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
            held.release()

    def _serve(self) -> int:
        runtime = self.runtime
        assert runtime is not None
        runtime.pool.start()
        runtime.settler.start()
        metrics_export.start(self.config.metrics, runtime.journal)
        runtime.begin_baseline()  # a first start: the watcher's start-up scan is the baseline
        self._start_watcher()  # its start-up scan is the reconciliation scan
        ping_every = watchdog_interval()
        next_ping = time.monotonic()
        tick = min(1.0, ping_every) if ping_every else 1.0

        def housekeeping() -> None:
            nonlocal next_ping
            if self._check_ready():
                self.supervise()
            if not self._awaiting_ready and self.supervisor.dead_since is None:
                self.notifier.status(self.status_text())
            if ping_every and time.monotonic() >= next_ping and self.healthy():
                self.notifier.watchdog()
                next_ping = time.monotonic() + ping_every

        failed: WatcherFailed | None = None
        while not runtime.stop_requested:
            for folder in spool.take(spool.spool_dir(self.config.state)):
                runtime.retry(folder)
            lost = self.held.keep() if self.held is not None else None
            if lost is not None:
                failed = WatcherFailed(lost)
                break
            # A SIGHUP during a (re)start waits for READY: one state change at a time.
            if runtime.reload_requested and not self._awaiting_ready:
                runtime.reload_requested = False
                self.reload()
            try:
                housekeeping()
            except WatcherFailed as exc:
                failed = exc
                break
            wait = READY_POLL if self._awaiting_ready else tick
            runtime.wakeup.wait(max(0.0, min(wait, next_ping - time.monotonic())) or wait)
        if failed is not None:
            log.error(f"stopping: {failed}", error=str(failed))
            self.notifier.stopping(f"failed: {failed}")
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
