"""Cost of one poll cycle over an unchanged tree: our poller against a full re-listing.

Measured in the same run, each in its own process (so memory figures do not mix):
our poller (first walk, then cycles over the unchanged tree), one watchdog DirectorySnapshot
(what its PollingObserver takes every cycle), ``find`` over the tree, and our full-walk
rescan (``scanner.find_semaphores``).

    python benchmarks/bench_watch_poll.py [--folders 100000] [--cycles 5] [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchstats import ratio, rss_mb, time_command
from treegen import build_tree, remove_tree, temp_root

SEM = "META_datafile_ok.txt"


def child(kind: str, root: Path, cycles: int) -> dict:
    if kind == "ours":
        from maggot_zenodo.watch.poller import TreeState

        before = rss_mb()
        state = TreeState(root, SEM)
        started = time.perf_counter()
        state.build()
        walk_s = time.perf_counter() - started
        times, listed = [], []
        for _ in range(cycles):
            started = time.perf_counter()
            found = state.cycle()
            times.append(time.perf_counter() - started)
            listed.append(state.last_listed)
            assert not found
        return {
            "walk_s": walk_s,
            "cycle_s": statistics.median(times),
            "listed": max(listed),
            "folders": len(state.dirs),
            "mem_mb": rss_mb() - before,
        }
    if kind == "snapshot":
        from watchdog.utils.dirsnapshot import DirectorySnapshot

        before = rss_mb()
        started = time.perf_counter()
        snap = DirectorySnapshot(str(root), recursive=True)
        elapsed = time.perf_counter() - started
        return {"cycle_s": elapsed, "mem_mb": rss_mb() - before, "entries": len(snap.paths)}
    if kind == "rescan":
        from maggot_zenodo.watch.scanner import find_semaphores

        before = rss_mb()
        started = time.perf_counter()
        count = sum(1 for _ in find_semaphores(root, SEM))
        return {"cycle_s": time.perf_counter() - started, "mem_mb": rss_mb() - before, "n": count}
    raise SystemExit(f"unknown child {kind}")


def run_child(kind: str, root: Path, cycles: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--root", str(root), "--cycles", str(cycles)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=100_000)
    parser.add_argument("--cycles", type=int, default=5)
    parser.add_argument("--tree", type=Path, help="reuse this tree (built if missing, kept)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.root, args.cycles)))
        return 0
    base = args.tree or temp_root()
    root = base / "big"
    try:
        if not root.exists():
            print(f"building {args.folders} folders ...", flush=True)
            build_tree(root, args.folders)
        time_command(["find", str(root)])  # warm the dentry cache for everyone alike
        find_s = time_command(["find", str(root)])
        ours = run_child("ours", root, args.cycles)
        snap = run_child("snapshot", root, args.cycles)
        rescan = run_child("rescan", root, args.cycles)
        n = ours["folders"]
        print(f"poll cycle over an unchanged tree of {n} folders ({args.folders} datasets)")
        print(
            f"  maggot-zenodo poller cycle   {ours['cycle_s']:7.3f} s  "
            f"(folders listed: {ours['listed']}, state {ours['mem_mb']:.0f} MB, "
            f"first walk {ours['walk_s']:.2f} s)"
        )
        print(
            f"  watchdog DirectorySnapshot   {snap['cycle_s']:7.3f} s  "
            f"({snap['entries']} entries, {snap['mem_mb']:.0f} MB)"
        )
        print(f"  find                         {find_s:7.3f} s")
        print(f"  our full rescan (scandir)    {rescan['cycle_s']:7.3f} s")
        print(
            f"  ratios: snapshot/ours time {ratio(ours['cycle_s'], snap['cycle_s'])}, "
            f"find/ours time {ratio(ours['cycle_s'], find_s)}, "
            f"snapshot/ours memory {ratio(max(ours['mem_mb'], 0.1), snap['mem_mb'])}"
        )
    finally:
        if args.tree is None:
            remove_tree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
