"""Polling that scales with what changed, not with the size of the storage space.

A folder's mtime changes when an entry is added, removed or renamed in it, so a cycle stats
every known folder (cheap) and lists only those whose mtime moved; a semaphore touched again
changes its own mtime, not its folder's, so known semaphores are stat'ed too. Nothing is kept
about data files: per folder one path and one integer.

Timestamps are coarse (a jiffy on ext4, up to a second on some NFS servers): a folder changed
twice within one tick keeps its mtime. So a folder listed in one cycle is listed again in the
next, and at start every folder whose mtime is recent is treated the same way.
"""

from __future__ import annotations

import os
import stat as stat_module
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..logs import get_logger
from ..semaphore import semaphore_fingerprint
from .rules import FolderRule
from .scanner import list_folder

log = get_logger(__name__)

# A folder whose mtime is this close to "now" (either side: clocks of NFS servers drift) may
# still change within the same timestamp tick: list it again next cycle.
RECENT_NS = 5_000_000_000
# Folders between two heartbeats (and stop checks) during a walk or a cycle.
BEAT_EVERY = 1000


class TreeState:
    """What the poller remembers: ``{folder: mtime_ns}`` and ``{semaphore: fingerprint}``."""

    def __init__(
        self,
        root: Path,
        semaphore: str,
        *,
        rule: FolderRule | None = None,
        beat: Callable[[], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.root = os.path.normpath(os.fspath(root))
        self.semaphore = semaphore
        self.rule = rule if rule is not None else FolderRule(self.root)
        self._beat = beat
        self._stop = stop
        self._since_beat = 0
        self.dirs: dict[str, int] = {}
        self.sems: dict[str, str] = {}
        self._recheck: set[str] = set()
        self.last_listed = 0  # folders listed by the last cycle: the cost that matters

    def _progress(self) -> bool:
        """Count one folder, beat every BEAT_EVERY; True when the walk must stop now."""
        self._since_beat += 1
        if self._since_beat >= BEAT_EVERY:
            self._since_beat = 0
            if self._beat is not None:
                self._beat()
        return self._stop is not None and self._stop.is_set()

    def build(self) -> list[str]:
        """Forget everything and walk the whole tree; return every semaphore found."""
        self.dirs, self.sems, self._recheck = {}, {}, set()
        found: list[str] = []
        self._add_subtree(self.root, found, time.time_ns())
        return found

    def _add_subtree(self, top: str, found: list[str], now_ns: int) -> None:
        stack = [top]
        while stack:
            folder = stack.pop()
            if folder in self.dirs:
                continue
            if self._progress():
                return
            try:
                st = os.lstat(folder)  # before listing: a change after this moves the mtime
            except OSError:
                continue
            if not stat_module.S_ISDIR(st.st_mode):
                continue
            listing = list_folder(folder, self.semaphore, self.rule)
            if listing is None:
                continue
            self.dirs[folder] = st.st_mtime_ns
            if abs(now_ns - st.st_mtime_ns) < RECENT_NS:
                self._recheck.add(folder)
            subdirs, has_semaphore = listing
            if has_semaphore:
                self._note_semaphore(os.path.join(folder, self.semaphore), found)
            stack.extend(subdirs)

    def _note_semaphore(self, path: str, found: list[str]) -> None:
        fingerprint = semaphore_fingerprint(Path(path))
        if fingerprint is not None and self.sems.get(path) != fingerprint:
            self.sems[path] = fingerprint
            found.append(path)

    def cycle(self) -> list[str]:
        """One poll: return the semaphores that appeared or changed since the last one."""
        now_ns = time.time_ns()
        recheck, self._recheck = self._recheck, set()
        to_list: list[str] = []
        dirs = self.dirs
        found: list[str] = []
        if self.root not in dirs:  # missing at start (not yet mounted?) or replaced
            self._add_subtree(self.root, found, now_ns)
        for folder, old in list(dirs.items()):
            if self._progress():
                return found
            try:
                st = os.lstat(folder)
            except OSError:
                del dirs[folder]
                continue
            if not stat_module.S_ISDIR(st.st_mode):
                del dirs[folder]
                continue
            if st.st_mtime_ns != old or folder in recheck:
                dirs[folder] = st.st_mtime_ns
                to_list.append(folder)
        known_sems = list(self.sems.items())
        self.last_listed = len(to_list)
        for folder in to_list:
            if self._progress():
                return found
            listing = list_folder(folder, self.semaphore, self.rule)
            if listing is None:
                dirs.pop(folder, None)
                continue
            if dirs.get(folder) is not None and abs(now_ns - dirs[folder]) < RECENT_NS:
                self._recheck.add(folder)
            subdirs, has_semaphore = listing
            for sub in subdirs:
                if sub not in dirs:
                    self._add_subtree(sub, found, now_ns)
            path = os.path.join(folder, self.semaphore)
            if has_semaphore and path not in self.sems:
                self._note_semaphore(path, found)
        for path, old_fp in known_sems:
            fingerprint = semaphore_fingerprint(Path(path))
            if fingerprint is None:
                self.sems.pop(path, None)
            elif fingerprint != old_fp and self.sems.get(path) != fingerprint:
                self.sems[path] = fingerprint
                found.append(path)
        return found


class Poller(threading.Thread):
    """Polls the tree every ``interval`` seconds and reports semaphores that appeared or changed.

    ``report(semaphore_path, reason)`` gets ``"scan"`` for what the first walk (and each full
    rescan, every ``rescan_interval`` seconds, 0 = never) finds, ``"poll"`` for changes.
    """

    def __init__(
        self,
        root: Path,
        semaphore: str,
        interval: float,
        rescan_interval: float,
        report: Callable[[str, str], None],
        stop: threading.Event,
        rule: FolderRule | None = None,
    ) -> None:
        super().__init__(name="maggot-zenodo-poller", daemon=True)
        self.state = TreeState(root, semaphore, rule=rule, beat=self._on_progress, stop=stop)
        self.last_beat: float | None = None
        self.interval = max(0.01, float(interval))
        self.rescan_interval = float(rescan_interval)
        self._report = report
        self._stop_event = stop
        self.started_at = time.monotonic()
        self.last_cycle_end: float | None = None
        self.last_cycle_seconds = 0.0
        self.cycles = 0
        self.ready = threading.Event()
        self.failure: str | None = None  # why run() ended, when an error ended it

    def _on_progress(self) -> None:
        self.last_beat = time.monotonic()

    def run(self) -> None:
        try:
            self._full_walk("start")
            self.ready.set()
            last_rescan = time.monotonic()
            while not self._stop_event.wait(self.interval):
                due = self.rescan_interval > 0 and (
                    time.monotonic() - last_rescan >= self.rescan_interval
                )
                if due:
                    self._full_walk("periodic")
                    last_rescan = time.monotonic()
                    continue
                started = time.monotonic()
                found = self.state.cycle()
                self._finish_cycle(started)
                log.debug(
                    "poll cycle",
                    seconds=round(self.last_cycle_seconds, 4),
                    listed=self.state.last_listed,
                    found=len(found),
                )
                for path in found:
                    self._report(path, "poll")
                if found:
                    log.info("poll found semaphores", count=len(found))
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"[:500]
            root = self.state.root
            log.exception(
                f"{root}: the poller stopped on an unexpected error: {self.failure}",
                root=root,
                error=self.failure,
            )
        finally:
            self.ready.set()

    def _full_walk(self, why: str) -> None:
        started = time.monotonic()
        found = self.state.build()
        if self._stop_event.is_set():
            return  # interrupted: what was found is partial, and nobody is listening
        self._finish_cycle(started)
        log.info(
            "poll walk done",
            why=why,
            folders=len(self.state.dirs),
            semaphores=len(found),
            seconds=round(self.last_cycle_seconds, 3),
        )
        for path in found:
            if self._stop_event.is_set():
                return
            self._report(path, "scan")

    def _finish_cycle(self, started: float) -> None:
        self.last_cycle_end = time.monotonic()
        self.last_cycle_seconds = self.last_cycle_end - started
        self.cycles += 1

    def healthy(self) -> bool:
        """Thread alive, and its last cycle (or, within a long walk, its last heartbeat)
        recent for the interval and the tree's size."""
        if not self.is_alive():
            return False
        last = max(self.last_cycle_end or self.started_at, self.last_beat or 0.0)
        allowed = max(60.0, 3 * self.interval + 4 * self.last_cycle_seconds)
        return time.monotonic() - last < allowed
