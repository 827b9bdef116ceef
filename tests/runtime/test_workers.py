"""The worker pool with real threads: one run per dataset at a time, coalescing, backoff."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from testkit import wait_for

from maggot_zenodo.backoff import exponential
from maggot_zenodo.runtime.workers import DONE, FAILED, RETRY, SKIP, WorkerPool


class Recorder:
    """A handler that records runs and can be held inside a run until released."""

    def __init__(self, results: dict[Path, list[str]] | None = None) -> None:
        self.runs: Counter[Path] = Counter()
        self.active: Counter[Path] = Counter()
        self.max_active_same = 0
        self.max_active_total = 0
        self.gates: dict[Path, threading.Event] = {}
        self.entered: dict[Path, threading.Event] = {}
        self.results = results or {}
        self.lock = threading.Lock()

    def hold(self, folder: Path) -> None:
        self.gates[folder] = threading.Event()
        self.entered[folder] = threading.Event()

    def __call__(self, folder: Path) -> str:
        with self.lock:
            self.runs[folder] += 1
            self.active[folder] += 1
            self.max_active_same = max(self.max_active_same, self.active[folder])
            self.max_active_total = max(self.max_active_total, sum(self.active.values()))
        if folder in self.entered:
            self.entered[folder].set()
            assert self.gates[folder].wait(10)
        with self.lock:
            self.active[folder] -= 1
        planned = self.results.get(folder)
        return planned.pop(0) if planned else DONE


def test_each_folder_runs_and_counts() -> None:
    rec = Recorder({Path("/b"): [FAILED]})
    pool = WorkerPool(rec, 3)
    pool.start()
    for name in "abcde":
        assert pool.submit(Path("/" + name))
    assert pool.wait_idle(5)
    assert set(rec.runs) == {Path("/" + n) for n in "abcde"}
    assert all(n == 1 for n in rec.runs.values())
    counts = pool.counts()
    assert (counts.done, counts.failed, counts.queued, counts.running) == (4, 1, 0, 0)
    pool.close()
    assert pool.join(5)


def test_triggers_during_a_run_coalesce_into_exactly_one_more_run() -> None:
    folder = Path("/ds")
    rec = Recorder()
    rec.hold(folder)
    pool = WorkerPool(rec, 4)
    pool.start()
    pool.submit(folder)
    assert rec.entered[folder].wait(5)
    for _ in range(5):
        pool.submit(folder)
    assert pool.counts().running == 1 and pool.counts().queued == 1
    rec.entered[folder].clear()
    rec.gates[folder].set()  # let the first run (and the second) finish
    assert pool.wait_idle(5)
    assert rec.runs[folder] == 2
    assert rec.max_active_same == 1, "a dataset never runs in two workers at once"
    pool.close()
    pool.join(5)


def test_queued_folder_is_not_queued_twice() -> None:
    blocker, other = Path("/blocker"), Path("/other")
    rec = Recorder()
    rec.hold(blocker)
    pool = WorkerPool(rec, 1)
    pool.start()
    pool.submit(blocker)
    assert rec.entered[blocker].wait(5)
    for _ in range(3):
        pool.submit(other)
    assert pool.counts().queued == 1
    rec.gates[blocker].set()
    assert pool.wait_idle(5)
    assert rec.runs[other] == 1
    pool.close()


def test_worker_count_bounds_concurrency_and_resize_grows_it() -> None:
    folders = [Path(f"/d{i}") for i in range(4)]
    rec = Recorder()
    for f in folders:
        rec.hold(f)
    pool = WorkerPool(rec, 2)
    pool.start()
    for f in folders:
        pool.submit(f)
    wait_for(lambda: sum(e.is_set() for e in rec.entered.values()) == 2, timeout=5)
    time.sleep(0.05)  # give a wrongly spawned third worker the chance to show up
    assert sum(e.is_set() for e in rec.entered.values()) == 2
    pool.resize(4)
    wait_for(lambda: sum(e.is_set() for e in rec.entered.values()) == 4, timeout=5)
    assert rec.max_active_total == 4
    for gate in rec.gates.values():
        gate.set()
    assert pool.wait_idle(5)
    pool.resize(1)
    wait_for(lambda: len(pool._threads) == 1, timeout=5)
    assert pool.healthy()
    pool.close()
    assert pool.join(5)


def test_retryable_failures_back_off_then_succeed() -> None:
    folder = Path("/flaky")
    rec = Recorder({folder: [RETRY, RETRY]})
    times: list[float] = []
    original = rec.__call__

    def handler(f: Path) -> str:
        times.append(time.monotonic())
        return original(f)

    pool = WorkerPool(handler, 1, retry_base=0.1, retry_max=0.15)
    pool.start()
    pool.submit(folder)
    wait_for(lambda: pool.counts().retrying == 1, timeout=5)
    pool.submit(folder)  # a trigger during the backoff does not shorten it
    assert pool.wait_idle(5)
    assert rec.runs[folder] == 3
    assert times[1] - times[0] >= 0.09
    assert times[2] - times[1] >= 0.14
    assert pool.counts().done == 1 and pool.counts().failed == 0
    pool.close()


def test_backoff_delay_doubles_up_to_the_maximum() -> None:
    assert [exponential(n, 60, 3600) for n in range(1, 9)] == [
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]


def test_a_crashing_job_is_a_failure_and_the_worker_survives() -> None:
    calls: list[Path] = []

    def handler(folder: Path) -> str:
        calls.append(folder)
        if folder.name == "boom":
            raise RuntimeError("boom")
        return DONE

    pool = WorkerPool(handler, 1)
    pool.start()
    pool.submit(Path("/boom"))
    pool.submit(Path("/fine"))
    assert pool.wait_idle(5)
    assert calls == [Path("/boom"), Path("/fine")]
    assert pool.counts().failed == 1 and pool.counts().done == 1
    assert pool.healthy()
    pool.close()


def test_close_drops_queued_work_and_join_waits_for_running() -> None:
    running, queued = Path("/running"), Path("/queued")
    rec = Recorder()
    rec.hold(running)
    pool = WorkerPool(rec, 1)
    pool.start()
    pool.submit(running)
    assert rec.entered[running].wait(5)
    pool.submit(queued)
    pool.close()
    assert not pool.submit(Path("/late"))
    assert not pool.join(0.05), "join must wait for the job in flight"
    rec.gates[running].set()
    assert pool.join(5)
    assert rec.runs[queued] == 0


@pytest.mark.parametrize("workers", [0, -3])
def test_at_least_one_worker(workers: int) -> None:
    rec = Recorder()
    pool = WorkerPool(rec, workers)
    pool.start()
    pool.submit(Path("/x"))
    assert pool.wait_idle(5)
    assert rec.runs[Path("/x")] == 1
    pool.close()


def test_skipped_runs_count_neither_done_nor_failed() -> None:
    pool = WorkerPool(lambda folder: SKIP if folder.name == "s" else DONE, 1)
    pool.start()
    pool.submit(Path("/s"))
    pool.submit(Path("/d"))
    assert pool.wait_idle(5)
    assert (pool.counts().done, pool.counts().failed) == (1, 0)
    pool.close()
