"""Detection latency, semaphore written -> on_trigger, inotify and polling.

Baselines, measured in the same run: watchdog's own inotify Observer with an event_filter
(the best watchdog does out of the box) on the same tree, and watchdog's PollingObserver on a
smaller tree (one DirectorySnapshot per cycle is too slow and too big at 100 000 folders),
where our poller runs too for a like-for-like ratio.

    python benchmarks/bench_watch_latency.py [--folders 100000] [--count 20] [--tree DIR]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.inotify import InotifyObserver
from watchdog.observers.polling import PollingObserver

from benchstats import median_p95, ratio
from maggot_zenodo.logs import setup_logging
from maggot_zenodo.watch import Watcher
from treegen import build_tree, dataset_folders, remove_tree, temp_root

SEM = "META_datafile_ok.txt"


class Probe:
    """Remembers when a given folder was reported."""

    def __init__(self) -> None:
        self.armed: str | None = None
        self.hit = threading.Event()
        self.at = 0.0

    def arm(self, folder: str) -> None:
        self.armed, self.at = folder, 0.0
        self.hit.clear()

    def seen(self, folder: str) -> None:
        if folder == self.armed and not self.hit.is_set():
            self.at = time.perf_counter()
            self.hit.set()


class _Handler(FileSystemEventHandler):
    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def dispatch(self, event: FileSystemEvent) -> None:
        path = os.fsdecode(event.dest_path or event.src_path)
        if os.path.basename(path) == SEM:
            self.probe.seen(os.path.dirname(path))


def run_series(
    probe: Probe, folders: list[Path], timeout: float, phase: float
) -> tuple[list[float], int]:
    """Write a semaphore in each folder, one at a time, each after a random pause of up to
    ``phase`` seconds (so writes fall anywhere in a poll cycle); latencies (ms) and misses."""
    latencies, missed = [], 0
    rng = random.Random(11)
    for folder in folders:
        time.sleep(rng.uniform(0, phase))
        probe.arm(str(folder))
        started = time.perf_counter()
        fd = os.open(folder / SEM, os.O_WRONLY | os.O_CREAT, 0o644)
        os.close(fd)
        if probe.hit.wait(timeout):
            latencies.append((probe.at - started) * 1000)
        else:
            missed += 1
    return latencies, missed


def ours(root: Path, mode: str, interval: float) -> tuple[Callable[[], None], Probe, float]:
    probe = Probe()
    watcher = Watcher(root, SEM, mode, interval, 0, lambda f, _r: probe.seen(str(f)))
    started = time.perf_counter()
    watcher.start()
    if not watcher.wait_ready(600):
        raise SystemExit("watcher never ready")
    return watcher.stop, probe, time.perf_counter() - started


def baseline(root: Path, kind: str, interval: float) -> tuple[Callable[[], None], Probe, float]:
    probe = Probe()
    observer = PollingObserver(timeout=interval) if kind == "poll" else InotifyObserver()
    event_filter = [
        FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, DirCreatedEvent
    ]  # fmt: skip
    observer.schedule(_Handler(probe), str(root), recursive=True, event_filter=event_filter)
    started = time.perf_counter()
    observer.start()

    def stop() -> None:
        observer.stop()
        observer.join()

    return stop, probe, time.perf_counter() - started


def measure(name: str, setup, folders: list[Path], timeout: float, phase: float = 0.01) -> dict:
    stop, probe, ready_s = setup()
    try:
        latencies, missed = run_series(probe, folders, timeout, phase)
    finally:
        stop()
    for folder in folders:
        (folder / SEM).unlink(missing_ok=True)
    med, p95 = median_p95(latencies) if latencies else (float("nan"), float("nan"))
    print(
        f"  {name:<44} ready {ready_s:7.2f} s   median {med:8.1f} ms   p95 {p95:8.1f} ms"
        f"   found {len(latencies)}/{len(folders)}"
    )
    return {"median": med, "p95": p95, "missed": missed, "ready": ready_s}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="tree for the polling baseline")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0, help="poll interval, seconds")
    parser.add_argument("--tree", type=Path, help="reuse this tree (built if empty, kept)")
    args = parser.parse_args(argv)
    setup_logging("warning", fmt="console")
    rng = random.Random(7)
    base = args.tree or temp_root()
    big, small = base / "big", base / "small"
    try:
        if not big.exists():
            print(f"building {args.folders} folders ...", flush=True)
            build_tree(big, args.folders)
        small_n = min(args.small, args.folders)
        if not small.exists():
            build_tree(small, small_n)
        big_ds = dataset_folders(big, args.folders)
        small_ds = dataset_folders(small, small_n)

        def pick(pool: list[Path]) -> list[Path]:
            return rng.sample(pool, args.count)

        poll_timeout = 10 * args.interval + 30
        print(f"inotify, {args.folders} folders, {args.count} semaphores")
        b = measure(
            "watchdog Observer + event_filter (baseline)",
            lambda: baseline(big, "inotify", 1.0),
            pick(big_ds),
            10,
        )
        o = measure(
            "maggot-zenodo Watcher, inotify",
            lambda: ours(big, "inotify", 1.0),
            pick(big_ds),
            10,
        )
        print(
            f"  ratio median baseline/ours {ratio(o['median'], b['median'])}, "
            f"time to ready baseline/ours {ratio(o['ready'], b['ready'])}"
        )
        print(f"polling every {args.interval} s, {small_n} folders")
        b = measure(
            "watchdog PollingObserver (baseline)",
            lambda: baseline(small, "poll", args.interval),
            pick(small_ds),
            poll_timeout,
            args.interval,
        )
        o = measure(
            "maggot-zenodo Watcher, poll",
            lambda: ours(small, "poll", args.interval),
            pick(small_ds),
            poll_timeout,
            args.interval,
        )
        print(f"  ratio median baseline/ours {ratio(o['median'], b['median'])}")
        print(f"polling every {args.interval} s, {args.folders} folders (no baseline: see above)")
        measure(
            "maggot-zenodo Watcher, poll",
            lambda: ours(big, "poll", args.interval),
            pick(big_ds),
            poll_timeout,
            args.interval,
        )
    finally:
        if args.tree is None:
            remove_tree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
