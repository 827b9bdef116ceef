"""Throughput under Zenodo's rate limit: N datasets triggered at once, one daemon.

Baseline: the least time the emulator's limit allows. Each dataset needs R requests (measured
here: every /api/ request the emulator answered without a 429, divided by N); at L requests
per minute, N datasets cannot take less than R × N / L minutes. The daemon's figure is the
time from the first semaphore to the last ``META_zenodo.txt`` showing a draft; the ratio
actual / minimum is the cost of our scheduling (1.0 would be perfect), and the 429 count says
whether the client's own pacing kept under the limit.

    .venv/bin/python benchmarks/bench_throughput.py [--datasets 200] [--rate-limit 600]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent / "maggot-zenodo"
TOKEN = "bench-token-0123456789abcdef"


def state(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_emulator/state", timeout=30) as resp:  # noqa: S310
        return json.loads(resp.read())


def make_dataset(folder: Path, name: str) -> None:
    folder.mkdir(parents=True)
    record = {
        "profile": "https://pmb-bordeaux.fr/maggot/conf/pgd-mmdt-schema.json",
        "title": name,
        "fulltitle": f"Benchmark dataset {name}",
        "description": "A dataset made by the throughput benchmark.",
        "license": "cc-by-4.0",
        "depositor": "Dupont Marie",
        "authors": ["Dupont Marie"],
        "contacts": ["Dupont Marie"],
        "keywords": ["benchmark"],
        "language": ["English"],
        "kindOfData": ["Dataset"],
        "subject": ["Computer and Information Science"],
        "access_rights": "Public",
        "resources": [{"datatype": "Other", "description": "data", "location": "data.csv"}],
    }
    (folder / f"META_{name}.json").write_text(json.dumps(record), encoding="utf-8")
    (folder / "data.csv").write_text("x,y\n" + "".join(f"{i},{i * i}\n" for i in range(200)))


def outcome(folder: Path) -> str | None:
    """The status ``META_zenodo.txt`` shows once the dataset is finished, else None."""
    try:
        data = yaml.safe_load((folder / "META_zenodo.txt").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    status = data.get("status") if isinstance(data, dict) else None
    return status if status in ("draft", "published", "failed") else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", type=int, default=200)
    parser.add_argument("--rate-limit", type=int, default=600, help="emulator limit, per minute")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--keep", action="store_true", help="keep the work folder for a look")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    root = work / "storage"
    emulator = subprocess.Popen(
        [
            str(BIN),
            "emulator",
            "--port",
            "0",
            "--data",
            str(work / "emu"),
            "--quiet",
            "--rate-limit",
            str(args.rate_limit),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert emulator.stdout is not None
    url = emulator.stdout.readline().strip()
    folders = [root / f"ds{i:04d}" for i in range(args.datasets)]
    for i, folder in enumerate(folders):
        make_dataset(folder, f"ds{i:04d}")
    config = work / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "storage": {"root": str(root), "watch": "inotify", "settle": 0.5},
                "zenodo": {
                    "url": url,
                    "token": {"env": "ZENODO_TOKEN"},
                    "rate_limit": args.rate_limit,
                },
                "state": str(work / "state.db"),
                "workers": args.workers,
                "log_level": "warning",
            }
        )
    )
    env = dict(os.environ, ZENODO_TOKEN=TOKEN)
    log = (work / "daemon.log").open("wb")
    daemon = subprocess.Popen(
        [str(BIN), "run", "--config", str(config)], stdout=log, stderr=log, env=env
    )
    try:
        time.sleep(2.0)  # let the watches be placed (the start-up scan finds nothing)
        start = time.monotonic()
        for folder in folders:
            (folder / "META_datafile_ok.txt").touch()
        remaining = set(folders)
        finished: dict[Path, str] = {}
        deadline = start + args.timeout
        while remaining and time.monotonic() < deadline:
            for folder in list(remaining):
                status = outcome(folder)
                if status:
                    finished[folder] = status
                    remaining.discard(folder)
            time.sleep(0.2)
        elapsed = time.monotonic() - start
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(60)
        log.close()
    counts = state(url)["requests"]
    emulator.terminate()
    emulator.wait(10)

    n = args.datasets
    failed = sum(1 for status in finished.values() if status == "failed")
    done = len(finished) - failed
    too_many = counts["by_status"].get("429", 0)
    useful = counts["total"] - too_many
    per_dataset = useful / max(1, done)
    minimum = per_dataset * n / args.rate_limit * 60.0
    # The emulator counts fixed one-minute windows: a burst may use a whole window at once,
    # so the last request can go out at the start of window floor((total - 1) / limit).
    window_floor = ((round(per_dataset * n) - 1) // args.rate_limit) * 60.0
    print(f"datasets               {n} ({done} done, {failed} failed, {len(remaining)} unfinished)")
    print(f"workers                {args.workers}")
    print(f"emulator limit         {args.rate_limit} requests/min")
    print(f"requests per dataset   {per_dataset:.2f} (excluding 429s)")
    print(f"minimum allowed        {minimum:.1f} s (requests x datasets / limit)")
    print(f"fixed-window floor     {window_floor:.1f} s (bursts allowed by the emulator)")
    print(f"actual                 {elapsed:.1f} s")
    print(f"ratio actual/minimum   {elapsed / minimum:.2f}" if minimum else "ratio n/a")
    print(f"429 answers            {too_many}")
    if args.keep:
        print(f"work folder            {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if done == n else 1


if __name__ == "__main__":
    raise SystemExit(main())
