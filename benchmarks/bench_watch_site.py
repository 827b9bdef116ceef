"""A 10 000-dataset site among 100 000 folders (#13 §5): the daemon's first start (baseline)
and restart until READY, its RSS, ``scan``, a poll cycle, and one semaphore touched → queued.

Each is compared with ``find`` of the semaphores over the same tree in the same run (the least
a program must do to know them all; the dentry cache is warmed first, for everyone alike). The
daemon runs as a real subprocess against an emulator subprocess, with a NOTIFY_SOCKET of its own
to time READY=1. Goals: READY ≤ 1.5 × find (first start and restart), RSS ≤ 120 MB (inotify).

    python benchmarks/bench_watch_site.py [--folders 100000] [--every 10] [--tree DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchstats import compile_package, rss_mb, time_command
from treegen import build_tree, dataset_folders, remove_tree, temp_root

SEM = "META_datafile_ok.txt"
BIN = Path(sys.executable).parent / "maggot-zenodo"
TOKEN = "bench-site-token-0123456789"


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Daemon:
    """``maggot-zenodo run`` with its own notify socket; ``ready_s`` is spawn → READY=1."""

    def __init__(self, config: Path, work: Path, name: str) -> None:
        self.sock_path = work / f"{name}.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.sock_path))
        self.log = work / f"{name}.log"
        env = dict(os.environ, ZENODO_TOKEN=TOKEN, NOTIFY_SOCKET=str(self.sock_path))
        env.pop("WATCHDOG_USEC", None)
        self.started = time.perf_counter()
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN), "run", "--config", str(config)], stdout=out, stderr=out, env=env
            )
        self.sock.settimeout(600)
        while b"READY=1" not in self.sock.recv(65536):
            pass
        self.ready_s = time.perf_counter() - self.started

    def wait_log(self, text: str, timeout: float = 60.0) -> float:
        """perf_counter() when a log line containing ``text`` is first seen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if text in self.log.read_text(errors="replace"):
                return time.perf_counter()
            time.sleep(0.002)
        raise SystemExit(f"no log line with {text!r} in {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.sock.close()


def find_semaphores_s(root: Path) -> float:
    return time_command(["find", str(root), "-name", SEM])


def poll_cycle_s(root: Path) -> dict[str, float]:
    """Our poller in a child: the first walk and one cycle over the unchanged tree."""
    code = (
        "import json,time,sys;from maggot_zenodo.watch.poller import TreeState;"
        f"s=TreeState(sys.argv[1],{SEM!r});t=time.perf_counter();s.build();"
        "w=time.perf_counter()-t;t=time.perf_counter();s.cycle();"
        "print(json.dumps({'walk':w,'cycle':time.perf_counter()-t}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(root)], check=True, capture_output=True, text=True
    )
    return dict(json.loads(out.stdout))


def write_config(work: Path, root: Path, url: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    config = work / "config.yaml"
    data = {
        "storage": {"root": str(root), "watch": "inotify", "settle": 0, "existing": "ignore"},
        "zenodo": {"url": url, "token": {"env": "ZENODO_TOKEN"}, "rate_limit": 1000},
        "state": str(work / "state" / "state.db"),
        "log_level": "info",
    }
    config.write_text(yaml.safe_dump(data))
    return config


def row(name: str, ours: float, base: float, goal: str = "", ratio: float | None = None) -> str:
    r = ours / base if ratio is None else ratio
    return f"  {name:34s} {ours:8.3f} s   find {base:7.3f} s   ratio {r:5.2f}  {goal}"


def start_round(work: Path, root: Path, url: str, n: int) -> dict[str, float]:
    """One paired round on a fresh state file: ``find`` (best of 3), the first start, a
    restart; both daemons stopped whatever happens."""
    config = write_config(work / f"round{n}", root, url)
    finds = [find_semaphores_s(root) for _ in range(3)]
    out: dict[str, float] = {"find": min(finds)}
    for name in ("first", "restart"):
        daemon = Daemon(config, work / f"round{n}", name)
        try:
            out[name], out[f"{name}_rss"] = daemon.ready_s, rss_mb(daemon.proc.pid)
            out[f"{name}_peak"] = peak_rss_mb(daemon.proc.pid)
        finally:
            daemon.stop()
    return out


def measure(root: Path, work: Path, url: str, touched: Path, rounds: int) -> None:
    time_command(["find", str(root)])  # warm the dentry cache for everyone alike
    runs = [start_round(work, root, url, n) for n in range(rounds)]
    config = write_config(work, root, url)
    Daemon(config, work, "baseline").stop()  # a first start, then the semaphore touched
    second = Daemon(config, work, "second")
    try:
        os.utime(touched / SEM)
        started = time.perf_counter()
        queued_s = second.wait_log(f'"dataset": "{touched.relative_to(root)}"') - started
    finally:
        second.stop()
    env = dict(os.environ, ZENODO_TOKEN=TOKEN)
    t = time.perf_counter()
    scan = subprocess.run(
        [str(BIN), "scan", "--config", str(config)], env=env, capture_output=True, text=True
    )
    scan_s = time.perf_counter() - t
    poll = poll_cycle_s(root)

    def med(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def med_ratio(key: str) -> float:
        return statistics.median(r[key] / r["find"] for r in runs)

    find_s = med("find")
    print(f"site: {root} ({sum(1 for _ in os.scandir(root))} teams), {rounds} paired rounds")
    for key in ("first", "restart"):
        each = ", ".join(f"{r[key] / r['find']:.2f}" for r in runs)
        finds = ", ".join(f"{r['find']:.3f}" for r in runs)
        print(f"  {key}: rounds {each} (ours / find; find {finds} s)")
    goal = "goal ≤ 1.5 (median of the rounds' ratios)"
    print(row("first start (baseline) → READY", med("first"), find_s, goal, med_ratio("first")))
    print(row("restart → READY", med("restart"), find_s, goal, med_ratio("restart")))
    print(row("scan", scan_s, find_s, f"({scan.stderr.strip().splitlines()[-1]})"))
    print(row("poll: first walk", poll["walk"], find_s))
    print(row("poll: one cycle, nothing changed", poll["cycle"], find_s))
    print(f"  one semaphore touched → queued    {queued_s * 1000:8.1f} ms")
    first_rss = max(r["first_rss"] for r in runs)
    rss, peak = max(r["restart_rss"] for r in runs), max(r["restart_peak"] for r in runs)
    print(
        f"  RSS at READY: first start {first_rss:.0f} MB; restart {rss:.0f} MB (peak {peak:.0f})"
        "   goal ≤ 120 MB"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=100_000)
    parser.add_argument("--every", type=int, default=10, help="one dataset folder in N")
    parser.add_argument("--tree", type=Path, help="reuse this tree (built if missing, kept)")
    parser.add_argument("--rounds", type=int, default=3, help="paired rounds (medians)")
    args = parser.parse_args(argv)
    compile_package()
    base = args.tree or temp_root()
    root = base / "site"
    work = Path(tempfile.mkdtemp(prefix="bench-site-"))
    if not root.exists():
        print(f"building {args.folders} folders, a semaphore in one in {args.every} ...")
        for i, folder in enumerate(build_tree(root, args.folders)):
            if i % args.every == 0:
                (folder / SEM).touch()
    middle = args.folders // 2 // args.every * args.every  # a dataset with a semaphore
    touched = dataset_folders(root, args.folders)[middle]
    emulator = subprocess.Popen(
        [str(BIN), "emulator", "--port", "0", "--data", str(work / "emu"), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        measure(root, work, emulator.stdout.readline().strip(), touched, args.rounds)
    finally:
        emulator.terminate()
        emulator.wait(30)
        remove_tree(work)
        if args.tree is None:
            remove_tree(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
