"""The worker pool: one job per dataset at a time, coalesced re-runs, retries with backoff.

Rules, in the order a researcher would notice them:
- a dataset is handled by one worker at a time (the Publisher relies on it);
- a dataset triggered again while it runs runs exactly once more afterwards, however many
  triggers arrived meanwhile (the last state of the folder is what counts);
- a dataset already queued is not queued twice;
- a retryable failure (Zenodo unavailable, network) runs again after a backoff that doubles
  from ``retry_base`` up to ``retry_max``; a trigger arriving meanwhile does not shorten it;
- a non-retryable failure waits for the next trigger.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from maggot_zenodo import backoff, metrics
from maggot_zenodo.logs import get_logger

DONE, FAILED, RETRY, SKIP = "done", "failed", "retry", "skip"
Handler = Callable[[Path], str]

log = get_logger("maggot_zenodo.runtime.workers")


@dataclass(frozen=True)
class Counts:
    queued: int = 0
    running: int = 0
    retrying: int = 0
    done: int = 0
    failed: int = 0


class WorkerPool:
    """Threads running ``handler(folder) -> "done" | "failed" | "retry" | "skip"``."""

    def __init__(
        self,
        handler: Handler,
        workers: int,
        *,
        retry_base: float = 60.0,
        retry_max: float = 3600.0,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._handler = handler
        self._target = max(1, workers)
        self._retry_base, self._retry_max = retry_base, retry_max
        self._on_change = on_change
        self._clock = clock
        self._cond = threading.Condition()
        self._queue: OrderedDict[Path, None] = OrderedDict()
        self._running: set[Path] = set()
        self._again: set[Path] = set()
        self._retry_at: dict[Path, float] = {}
        self._retry_heap: list[tuple[float, str, Path]] = []
        self._attempts: dict[Path, int] = {}
        self._threads: set[threading.Thread] = set()
        self._serial = 0
        self._closed = False
        self._done = self._failed = 0

    # -- control ---------------------------------------------------------------------------
    def start(self) -> None:
        with self._cond:
            self._spawn()

    def resize(self, workers: int) -> None:
        """Change the number of threads; extra ones leave once their current job ends."""
        with self._cond:
            self._target = max(1, workers)
            self._spawn()
            self._cond.notify_all()

    def close(self) -> None:
        """Take no new work: queued and scheduled jobs are dropped, running ones go on."""
        with self._cond:
            self._closed = True
            self._queue.clear()
            self._again.clear()
            self._retry_at.clear()
            self._retry_heap.clear()
            self._cond.notify_all()
        self._changed()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every thread has left (after close()); True when they all did in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._threads:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    # -- work ------------------------------------------------------------------------------
    def submit(self, folder: Path) -> bool:
        """Ask for a run of ``folder``; False when the pool is closed."""
        with self._cond:
            if self._closed:
                return False
            if folder in self._running:
                self._again.add(folder)
            elif folder not in self._queue and folder not in self._retry_at:
                self._queue[folder] = None
                self._cond.notify()
            else:
                return True
        self._changed()
        return True

    def next_retry_delay(self, folder: Path) -> float:
        """The delay the retry of ``folder``'s current run will get if it asks for one."""
        with self._cond:
            return self._delay(self._attempts.get(folder, 0) + 1)

    def _delay(self, attempt: int) -> float:
        return backoff.exponential(attempt, self._retry_base, self._retry_max)

    def counts(self) -> Counts:
        with self._cond:
            return Counts(
                queued=len(self._queue) + len(self._again),
                running=len(self._running),
                retrying=len(self._retry_at),
                done=self._done,
                failed=self._failed,
            )

    def idle(self, *, include_retries: bool = True) -> bool:
        with self._cond:
            return self._idle(include_retries)

    def wait_idle(self, timeout: float | None = None, *, include_retries: bool = True) -> bool:
        """Block until nothing is queued or running (nor scheduled for retry)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._idle(include_retries):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
        return True

    def healthy(self) -> bool:
        """Every worker thread that should exist is alive (none died unexpectedly)."""
        with self._cond:
            if self._closed:
                return True
            alive = sum(1 for t in self._threads if t.is_alive())
            return alive == len(self._threads) and alive >= min(self._target, 1)

    # -- internals -------------------------------------------------------------------------
    def _idle(self, include_retries: bool) -> bool:
        busy = self._queue or self._running or self._again
        return not busy and not (include_retries and self._retry_at)

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()

    def _spawn(self) -> None:
        while len(self._threads) < self._target and not self._closed:
            self._serial += 1
            thread = threading.Thread(
                target=self._loop, name=f"maggot-zenodo-worker-{self._serial}", daemon=True
            )
            self._threads.add(thread)
            thread.start()

    def _promote_due(self) -> float | None:
        """Move retries that are due into the queue; return seconds until the next one."""
        now = self._clock()
        while self._retry_heap:
            due, _, folder = self._retry_heap[0]
            if self._retry_at.get(folder) != due:
                heapq.heappop(self._retry_heap)  # stale entry
                continue
            if due > now:
                return due - now
            heapq.heappop(self._retry_heap)
            del self._retry_at[folder]
            self._queue[folder] = None
        return None

    def _next_job(self) -> Path | None:
        """Under the lock: the next folder to run, or None when this thread must leave."""
        me = threading.current_thread()
        while True:
            if self._closed or len(self._threads) > self._target:
                self._threads.discard(me)
                self._cond.notify_all()
                return None
            wait = self._promote_due()
            if self._queue:
                folder, _ = self._queue.popitem(last=False)
                self._running.add(folder)
                return folder
            self._cond.wait(wait)

    def _loop(self) -> None:
        while True:
            with self._cond:
                folder = self._next_job()
            if folder is None:
                return
            self._changed()
            try:
                result = self._handler(folder)
            except BaseException:  # a job must never take its worker down
                log.exception(f"{folder}: job crashed", folder=str(folder))
                result = FAILED
            self._finish(folder, result)
            self._changed()

    def _finish(self, folder: Path, result: str) -> None:
        with self._cond:
            self._running.discard(folder)
            if result == RETRY:
                attempt = self._attempts.get(folder, 0) + 1
                self._attempts[folder] = attempt
            else:
                self._attempts.pop(folder, None)
                if result == DONE:
                    self._done += 1
                elif result != SKIP:  # a skipped run (nothing to do) counts neither way
                    self._failed += 1
            if self._closed:
                pass
            elif folder in self._again:
                # Coalesced triggers: exactly one more run, now.
                self._again.discard(folder)
                self._queue[folder] = None
            elif result == RETRY:
                delay = self._delay(attempt)
                due = self._clock() + delay
                metrics.count_retry()
                self._retry_at[folder] = due
                heapq.heappush(self._retry_heap, (due, str(folder), folder))
                log.info(
                    f"{folder}: retry in {delay:.0f} s (attempt {attempt})",
                    folder=str(folder),
                    attempt=attempt,
                    delay=delay,
                )
            self._cond.notify_all()
