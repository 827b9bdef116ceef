"""The Watcher: tells the daemon which dataset folders may have a new publication request.

inotify mode: a watchdog observer (see ``inotify.py``) plus a maintenance thread that runs the
start-up reconciliation scan, the periodic safety rescan, a rescan after every lost-event
overflow, the scans of folders moved or copied in, and the fall-back to polling when the
inotify watch limit is hit. poll mode: the scalable poller of ``poller.py``.

``on_trigger(folder, reason)`` is called from the watcher's threads, one call at a time;
``reason`` is ``"scan"`` (reconciliation: every semaphore found, the caller checks the
journal), ``"inotify"`` (an event, or a scan of a folder that arrived) or ``"poll"``.
Event triggers are deduplicated on the semaphore's fingerprint, so the bursts an editor or a
copy raise cost the caller one call.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..logs import get_logger
from ..semaphore import is_symlink_semaphore, semaphore_fingerprint
from .fstype import choose_mode
from .limits import read_watch_limit, watch_limit_message
from .poller import Poller
from .rules import FolderRule
from .scanner import find_semaphores

try:  # relies on watchdog 7's inotify internals; without them, poll rather than fail
    from .inotify import EVENT_FILTER, Hooks, SemaphoreHandler, build_observer
except ImportError as exc:  # pragma: no cover - depends on the installed watchdog
    INOTIFY_UNAVAILABLE: str | None = str(exc)
else:
    INOTIFY_UNAVAILABLE = None

log = get_logger(__name__)

_TICK = 1.0  # how often the maintenance thread checks health and timers


class Watcher:
    """Watches ``root`` for the semaphore file; see the module docstring."""

    def __init__(
        self,
        root: Path | str,
        semaphore: str,
        mode: str,
        poll_interval: float,
        rescan_interval: float,
        on_trigger: Callable[[Path, str], object],
        *,
        exclude: Sequence[str] = (),
    ) -> None:
        self.root = Path(root)
        self.rule = FolderRule(os.fspath(self.root), tuple(exclude))
        self.semaphore = semaphore
        self.configured_mode = mode
        self.poll_interval = float(poll_interval)
        self.rescan_interval = float(rescan_interval)
        self._on_trigger = on_trigger
        choice = choose_mode(mode, self.root)
        self._mode, self.fstype, self.mode_reason = choice.mode, choice.fstype, choice.reason
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._requests: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        self._trigger_lock = threading.Lock()
        self._reported: dict[str, str] = {}
        self._observer: Any = None
        self._hooks: Hooks | None = None
        self._found: list[tuple[str, bool]] = []  # see _start_observer
        self._poller: Poller | None = None
        self._thread: threading.Thread | None = None
        self._failure: str | None = None
        self.stats = {"triggers": 0, "rescans": 0, "overflows": 0, "fallbacks": 0, "watches": 0}

    @property
    def mode(self) -> str:
        """``inotify`` or ``poll`` (``poll`` after a fall-back)."""
        return self._mode

    def start(self) -> None:
        """Start watching; returns at once (watches are placed in the background)."""
        if self._thread is not None:
            raise RuntimeError("Watcher already started")
        log.info(
            "watch mode chosen",
            mode=self._mode,
            configured=self.configured_mode,
            fstype=self.fstype,
            reason=self.mode_reason,
            root=str(self.root),
        )
        self._thread = threading.Thread(target=self._run, name="maggot-zenodo-watch", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """True once watches are placed (or the first poll walk is done) and the start-up
        scan has reported what it found."""
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every thread of the watcher; safe to call twice."""
        self._stop.set()
        self._requests.put(("stop", ""))
        if self._thread is not None:
            self._thread.join(timeout)
        self._stop_observer()
        if self._poller is not None:
            self._poller.join(timeout)

    def alive(self) -> bool:
        """For the health check: every thread the current mode needs runs, and polls are recent."""
        if self._thread is None or not self._thread.is_alive() or self._stop.is_set():
            return False
        if not self._ready.is_set():
            return True  # still placing watches or walking for the first time
        if self._mode == "poll":
            return self._poller is not None and self._poller.healthy()
        observer = self._observer
        return observer is not None and observer.is_alive() and observer.emitters_alive()

    def running(self) -> bool:
        """Its threads run (they may be healing: re-placing a lost watch, waiting for a
        vanished root); False once one died, and only a restart brings it back."""
        if self._thread is None or not self._thread.is_alive() or self._stop.is_set():
            return False
        poller = self._poller
        return self._mode != "poll" or poller is None or poller.is_alive()

    def failure(self) -> str | None:
        """Why the watcher is not alive, when known ("RuntimeError: ...", for the log line)."""
        if self._failure is not None:
            return self._failure
        poller = self._poller
        if poller is not None and poller.failure is not None:
            return poller.failure
        if self._hooks is not None and self._hooks.failure is not None:
            return self._hooks.failure
        if poller is not None and poller.is_alive() and not poller.healthy():
            return "the poller has not finished a cycle in time"
        return None

    def _report(self, semaphore_path: str, reason: str, *, force: bool = False) -> None:
        if not self.rule.admits(os.path.dirname(semaphore_path)):
            return  # in a snapshot, a recycle bin, or too deep: the walkers never go there
        fingerprint = semaphore_fingerprint(Path(semaphore_path))
        if fingerprint is None:
            return
        with self._trigger_lock:
            if self._reported.get(semaphore_path) == fingerprint and (
                not force or is_symlink_semaphore(Path(semaphore_path))
            ):
                # Rescans report everything again for the journal to sort out, except a
                # symlinked semaphore already reported: it is refused (not journaled as
                # handled), and would otherwise fail again at every rescan.
                return
            self._reported[semaphore_path] = fingerprint
            self._call(semaphore_path, reason)

    def _call(self, semaphore_path: str, reason: str) -> None:  # under _trigger_lock
        self.stats["triggers"] += 1
        try:
            self._on_trigger(Path(os.path.dirname(semaphore_path)), reason)
        except Exception:
            log.exception("on_trigger failed", folder=os.path.dirname(semaphore_path))

    def _full_scan(self, why: str) -> None:
        started = time.monotonic()
        count = 0
        for path in find_semaphores(self.root, self.semaphore, self.rule):
            if self._stop.is_set():
                return
            self._report(os.fspath(path), "scan", force=True)
            count += 1
        self.stats["rescans"] += 1
        log.info(
            "rescan done",
            why=why,
            semaphores=count,
            seconds=round(time.monotonic() - started, 3),
        )

    def _start_scan(self) -> None:
        """Report what placing the watches found (each folder listed after its watch was
        placed: nothing created since is missed). No stat here for a regular semaphore: the
        caller takes its fingerprint anyway (10 000 stats fewer at a start)."""
        started = time.monotonic()
        found, self._found = self._found, []
        for path, link in found:
            if self._stop.is_set():
                return
            if link:  # its fingerprint is kept, for rescans to skip it unchanged
                self._report(path, "scan", force=True)
            else:
                with self._trigger_lock:
                    self._call(path, "scan")
        self.stats["rescans"] += 1
        seconds = round(time.monotonic() - started, 3)
        log.info("rescan done", why="start", semaphores=len(found), seconds=seconds)

    def _scan_arrivals(self, folders: set[str]) -> None:
        # A folder whose ancestor is also queued is covered by the ancestor's scan.
        for folder in sorted(folders):
            parent = os.path.dirname(folder)
            covered = False
            while parent and parent != os.path.dirname(parent):
                if parent in folders:
                    covered = True
                    break
                parent = os.path.dirname(parent)
            if covered:
                continue
            for path in find_semaphores(Path(folder), self.semaphore, self.rule):
                self._report(os.fspath(path), "inotify")

    def _on_watch_limit(self, path: str) -> None:
        self._requests.put(("watch_limit", path))

    def _on_overflow(self) -> None:
        self.stats["overflows"] += 1
        log.warning("inotify queue overflowed: events were lost, rescanning")
        self._requests.put(("rescan", "overflow"))

    def _start_observer(self, *, collect: bool = False) -> bool:
        """Place the watches; False when the watch limit forces polling. ``collect``: note the
        semaphores seen on the way (path, is a symlink), for ``_start_scan``."""
        self._hooks = Hooks(
            on_watch_limit=self._on_watch_limit,
            on_overflow=self._on_overflow,
            semaphore=self.semaphore,
        )
        self._found = []
        self._hooks.found = self._found.append if collect else None
        handler = SemaphoreHandler(
            self.semaphore,
            on_semaphore=lambda p: self._report(p, "inotify"),
            on_folder=lambda p: self._requests.put(("arrival", p)),
        )
        started = time.monotonic()
        observer = build_observer(self._hooks, self.rule)
        observer.schedule(handler, os.fspath(self.root), recursive=True, event_filter=EVENT_FILTER)
        try:
            observer.start()
        except OSError as exc:
            observer.stop()
            if exc.errno == errno.ENOSPC:
                return False
            raise
        self._observer = observer
        self._hooks.found = None
        if self._hooks.watch_limit_hit:
            return False
        self.stats["watches"] = observer.watch_count()
        log.info(
            "inotify watches placed",
            watches=self.stats["watches"],
            seconds=round(time.monotonic() - started, 3),
        )
        return True

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            try:
                observer.stop()
                observer.join(10)
            except Exception:
                log.exception("stopping the inotify observer failed")

    def _fall_back_to_polling(self) -> None:
        count = self._observer.watch_count() if self._observer is not None else 0
        self._stop_observer()
        self.stats["fallbacks"] += 1
        log.error(watch_limit_message(read_watch_limit(), count), root=str(self.root))
        self._mode = "poll"
        self._start_poller()

    def _run_inotify(self) -> None:
        if INOTIFY_UNAVAILABLE is not None:
            log.error("inotify support unavailable, polling", error=INOTIFY_UNAVAILABLE)
            self._mode = "poll"
            self._start_poller()
            return
        try:
            placed = self._start_observer(collect=True)
        except OSError as exc:
            log.error(
                "inotify cannot watch the storage root, falling back to polling",
                root=str(self.root),
                error=exc.strerror or str(exc),
            )
            self._mode = "poll"
            self._start_poller()
            return
        if not placed:
            self._fall_back_to_polling()
            return
        self._start_scan()
        self._ready.set()
        last_rescan = time.monotonic()
        root_lost_logged = False
        while not self._stop.is_set():
            requests = self._drain(_TICK)
            if self._stop.is_set():
                return
            kinds = {kind for kind, _ in requests}
            if "watch_limit" in kinds:
                self._fall_back_to_polling()
                return
            if self._observer is None or not self._observer.emitters_alive():
                if not root_lost_logged:
                    self._log_lost_watch()
                    root_lost_logged = True
                if not self.root.is_dir():
                    continue
                self._stop_observer()
                try:
                    placed = self._start_observer()
                except OSError as exc:  # gone again meanwhile: retry at the next tick
                    log.warning("cannot watch the storage root yet", error=exc.strerror or str(exc))
                    continue
                if not placed:
                    self._fall_back_to_polling()
                    return
                root_lost_logged = False
                kinds.add("rescan")
                requests.append(("rescan", "lost watch"))
            elapsed = time.monotonic() - last_rescan
            due = self.rescan_interval > 0 and elapsed >= self.rescan_interval
            if "rescan" in kinds or due:
                whys = sorted({why for kind, why in requests if kind == "rescan"} or {"periodic"})
                self._full_scan("+".join(whys))
                last_rescan = time.monotonic()
                continue  # a full scan covers any arrival
            arrivals = {path for kind, path in requests if kind == "arrival"}
            if arrivals:
                self._scan_arrivals(arrivals)

    def _log_lost_watch(self) -> None:
        failure = self._hooks.failure if self._hooks is not None else None
        if failure is not None:
            log.error(
                f"{self.root}: the inotify thread died ({failure}); placing the watches again",
                root=str(self.root),
                error=failure,
            )
        else:
            log.warning(f"{self.root}: the watch on the storage root was lost", root=str(self.root))

    def _drain(self, timeout: float) -> list[tuple[str, str]]:
        try:
            items = [self._requests.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(self._requests.get_nowait())
            except queue.Empty:
                return items

    def _start_poller(self) -> None:
        self._poller = Poller(
            self.root,
            self.semaphore,
            self.poll_interval,
            self.rescan_interval,
            report=lambda path, reason: self._report(path, reason, force=reason == "scan"),
            stop=self._stop,
            rule=self.rule,
        )
        self._poller.start()
        while not self._stop.is_set() and not self._poller.ready.wait(_TICK):
            pass
        if self._poller.is_alive():
            self._ready.set()

    def _run(self) -> None:
        try:
            if self._mode == "inotify":
                self._run_inotify()
            else:
                self._start_poller()
            if self._mode == "poll":
                self._stop.wait()
        except Exception as exc:
            self._failure = f"{type(exc).__name__}: {exc}"[:500]
            log.exception(
                f"{self.root}: the watcher stopped on an unexpected error: {self._failure}",
                root=str(self.root),
                error=self._failure,
            )
        finally:
            if self._stop.is_set():  # stop() may have run while the watches were being placed
                self._stop_observer()
