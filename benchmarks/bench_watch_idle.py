"""Idle cost with the whole tree watched: CPU time over an idle period, and resident memory.

Each watcher runs in its own process, on the same tree, in the same run: our Watcher in
inotify and in poll mode, against watchdog's inotify Observer with an event_filter and its
PollingObserver at the same interval; a bare interpreter with the same imports gives the
memory floor.

    python benchmarks/bench_watch_idle.py [--folders 100000] [--idle 30] [--interval 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from benchstats import cpu_seconds, ratio, rss_mb
from treegen import build_tree, remove_tree, temp_root

SEM = "META_datafile_ok.txt"
KINDS = ("floor", "ours-inotify", "watchdog-inotify", "ours-poll", "watchdog-poll")


def child(kind: str, root: Path, idle: float, interval: float) -> dict:
    from watchdog.events import (
        DirCreatedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileModifiedEvent,
        FileMovedEvent,
        FileSystemEventHandler,
    )
    from watchdog.observers.inotify import InotifyObserver
    from watchdog.observers.polling import PollingObserver

    from maggot_zenodo.logs import setup_logging
    from maggot_zenodo.watch import Watcher

    setup_logging("warning", fmt="console")
    started = time.perf_counter()
    stop = None
    mode = kind.split("-")[-1]
    if kind.startswith("ours-"):
        watcher = Watcher(root, SEM, kind[5:], interval, 0, lambda _f, _r: None)
        watcher.start()
        if not watcher.wait_ready(900):
            raise SystemExit("not ready")
        stop = watcher.stop
        mode = watcher.mode  # "poll" after a fall-back (watch limit reached)
    elif kind.startswith("watchdog-"):
        observer = (
            InotifyObserver() if kind.endswith("inotify") else PollingObserver(timeout=interval)
        )
        event_filter = [
            FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, DirCreatedEvent
        ]  # fmt: skip
        observer.schedule(
            FileSystemEventHandler(), str(root), recursive=True, event_filter=event_filter
        )
        observer.start()
        stop = observer.stop
    ready_s = time.perf_counter() - started
    cpu0 = cpu_seconds()
    time.sleep(idle)  # the point: measure what the watcher costs while nothing happens
    cpu = cpu_seconds() - cpu0
    rss = rss_mb()
    if stop:
        stop()
    return {"ready_s": ready_s, "cpu_s": cpu, "rss_mb": rss, "mode": mode}


def run_child(kind: str, root: Path, idle: float, interval: float) -> dict:
    argv = [sys.executable, __file__, "--child", kind, "--root", str(root)]
    argv += ["--idle", str(idle), "--interval", str(interval)]
    out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--interval", type=float, default=5.0, help="poll interval, seconds")
    parser.add_argument("--skip", action="append", default=[], choices=KINDS)
    parser.add_argument("--tree", type=Path, help="reuse this tree (built if missing, kept)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.root, args.idle, args.interval)))
        return 0
    base = args.tree or temp_root()
    root = base / "big"
    try:
        if not root.exists():
            print(f"building {args.folders} folders ...", flush=True)
            build_tree(root, args.folders)
        print(
            f"idle {args.idle:.0f} s, {args.folders} folders watched, "
            f"poll interval {args.interval} s"
        )
        results = {}
        for kind in KINDS:
            if kind in args.skip:
                continue
            r = results[kind] = run_child(kind, root, args.idle, args.interval)
            print(
                f"  {kind:<18} ready {r['ready_s']:7.2f} s   idle CPU {r['cpu_s']:7.3f} s "
                f"({100 * r['cpu_s'] / args.idle:5.1f} %)   RSS {r['rss_mb']:7.1f} MB"
                f"   mode {r['mode']}",
                flush=True,
            )
        floor = results.get("floor", {}).get("rss_mb", 0.0)
        for ours, theirs in (("ours-inotify", "watchdog-inotify"), ("ours-poll", "watchdog-poll")):
            if ours in results and theirs in results:
                o, t = results[ours], results[theirs]
                print(
                    f"  {theirs}/{ours}: idle CPU {ratio(o['cpu_s'], t['cpu_s'])}, "
                    f"RSS above floor {ratio(max(o['rss_mb'] - floor, 0.1), t['rss_mb'] - floor)}"
                )
    finally:
        if args.tree is None:
            remove_tree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
