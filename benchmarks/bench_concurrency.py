"""A dataset of many small files over a slow link: ``zenodo.upload_concurrency`` 4 against 1.

The emulator answers every API request ``--latency`` seconds late (a real link's round trip
plus Zenodo's processing); ``maggot-zenodo publish`` of a new dataset of 200 files of 100 KB
runs once with ``upload_concurrency: 1`` (the baseline, 0.1.0's one-by-one) and once with 4,
in alternating order over ``--runs`` rounds. The publication runs in this process
(``Publisher.publish``, what the daemon's worker calls): the interpreter's start-up is no part
of either figure. Figure: median of the per-round speed-ups
(goal >= 3.5x, issue #13 §3).

    python benchmarks/bench_concurrency.py [--files 200] [--latency 0.3] [--runs 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchstats import figure
from maggot_zenodo.config import parse_config
from maggot_zenodo.logs import setup_logging
from maggot_zenodo.publish.workflow import Publisher
from maggot_zenodo.state.journal import Journal

TOKEN = "bench-token-0123456789abcdef"


def start_emulator(data: Path, latency: float, max_files: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0", "--data", str(data),
         "--latency", str(latency), "--max-files", str(max_files), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the emulator did not print its base URL (got {line!r})")
    return proc, line


def dataset(root: Path, name: str, files: int, size: int) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    names = [f"part{i:03d}.bin" for i in range(files)]
    for n in names:
        (folder / n).write_bytes(os.urandom(size))
    record = {
        "profile": "https://example.org/maggot-schema.json",
        "title": name,
        "fulltitle": f"Benchmark dataset {name}: many small files",
        "subject": ["Agricultural Sciences"],
        "description": "Many small files, published by bench_concurrency.py.",
        "license": "Creative Commons Attribution 4.0 International",
        "contacts": ["Martin Claire"],
        "authors": ["Martin Claire"],
        "kindOfData": ["Dataset"],
        "resources": [{"datatype": "Dataset", "location": n} for n in names],
    }
    (folder / f"META_{name}.json").write_text(json.dumps(record))
    (folder / "META_datafile_ok.txt").touch()
    return folder


def publish_s(work: Path, url: str, folder: Path, concurrency: int, files: int) -> float:
    token = work / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    settings = {
        "storage": {"root": str(folder.parent), "settle": 0},
        "zenodo": {
            "url": url,
            "token": {"file": str(token)},
            "rate_limit": 100000,
            "upload_concurrency": concurrency,
            "max_files": files + 10,
        },
        "state": str(work / f"state-{concurrency}" / "state.db"),
        "log_level": "warning",
    }
    config = parse_config(settings, base_dir=work)
    journal = Journal(config.state)
    try:
        started = time.perf_counter()
        outcome = Publisher(config, journal).publish(folder)
        took = time.perf_counter() - started
    finally:
        journal.close()
    if not outcome.ok:
        raise SystemExit(f"publish failed: {outcome.error} {outcome.detail or ''}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    setup_logging("warning", fmt="json", stream=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        work = Path(tmp)
        proc, url = start_emulator(work / "emulator", args.latency, args.files + 10)
        try:
            speedups, one, four = [], [], []
            for i in range(args.runs):
                order = (1, 4) if i % 2 == 0 else (4, 1)
                took = {}
                for c in order:
                    folder = dataset(work / f"storage-{i}-{c}", f"ds{i}c{c}", args.files, args.size)
                    took[c] = publish_s(work, url, folder, c, args.files)
                one.append(took[1])
                four.append(took[4])
                speedups.append(took[1] / took[4])
        finally:
            proc.terminate()
            proc.wait(10)
    speedup = statistics.median(speedups)
    print(
        f"bench_concurrency: {args.files} files x {args.size} bytes, emulator latency "
        f"{args.latency} s, {args.runs} round(s)"
    )
    print(f"  concurrency 1: {statistics.median(one):.1f} s; concurrency 4: "
          f"{statistics.median(four):.1f} s")  # fmt: skip
    print(f"  speed-up, median: {speedup:.2f}x (goal >= 3.5x); load {os.getloadavg()[0]:.1f}")
    figure(
        f"{args.files} x 100 KB at {args.latency} s latency, concurrency 4 vs 1",
        ours=f"{statistics.median(four):.1f} s",
        baseline=f"concurrency 1: {statistics.median(one):.1f} s",
        ratio=speedup,
        goal=">= 3.5x faster",
        met=speedup >= 3.5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
