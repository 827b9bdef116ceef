"""What publishing costs, and what publishing again with nothing changed costs.

Ten datasets of our own (a few files each, one large file) go to a local emulator through
``Publisher``; then the same ten again with nothing changed, twice: once as shipped (the
journal's md5 cache), once with the md5 cache emptied first. Baselines, measured in the same
run: the first run (what a tool without sync would send every time), and the second run
without the md5 cache (what reading every byte again costs).

    .venv/bin/python benchmarks/bench_republish.py [--large-mb 64] [--datasets 10]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from maggot_zenodo.config import parse_config
from maggot_zenodo.logs import setup_logging
from maggot_zenodo.publish.workflow import Publisher
from maggot_zenodo.state.journal import Journal

TOKEN = "bench-token-0123456789abcdef"


def make_datasets(root: Path, n: int, large_mb: int) -> list[Path]:
    folders = []
    for i in range(n):
        folder = root / f"ds{i:02d}"
        folder.mkdir(parents=True)
        files = {f"table{j}.csv": os.urandom(200_000) for j in range(4)}
        if i == 0:
            files["raw.bin"] = os.urandom(large_mb * 1024 * 1024)
        for name, data in files.items():
            (folder / name).write_bytes(data)
        record = {
            "profile": "https://example.org/maggot-schema.json",
            "title": f"ds{i:02d}",
            "fulltitle": f"Benchmark dataset number {i}",
            "subject": ["Agricultural Sciences"],
            "description": "Synthetic data for the publish benchmark.",
            "license": "Creative Commons Attribution 4.0 International",
            "contacts": ["Martin Claire"],
            "authors": ["Martin Claire"],
            "kindOfData": ["Dataset"],
            "resources": [{"datatype": "Dataset", "location": name} for name in files],
        }
        (folder / f"META_ds{i:02d}.json").write_text(json.dumps(record))
        (folder / "META_datafile_ok.txt").touch()
        folders.append(folder)
    return folders


def run_all(pub: Publisher, folders: list[Path], url: str) -> tuple[float, int, int]:
    before = requests.get(f"{url}/_emulator/state", timeout=30).json()["requests"]
    started = time.perf_counter()
    for folder in folders:
        outcome = pub.publish(folder)
        if not outcome.ok:
            raise SystemExit(f"{folder}: {outcome.error}")
    took = time.perf_counter() - started
    after = requests.get(f"{url}/_emulator/state", timeout=30).json()["requests"]
    return took, after["total"] - before["total"], after["writes"] - before["writes"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", type=int, default=10)
    ap.add_argument("--large-mb", type=int, default=64)
    args = ap.parse_args()
    setup_logging("warning", fmt="json")
    with tempfile.TemporaryDirectory(prefix="bench-republish-") as tmp:
        work = Path(tmp)
        emu = subprocess.Popen(
            [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0", "--quiet",
             "--data", str(work / "emu")],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert emu.stdout is not None
            url = emu.stdout.readline().strip()
            token = work / "token"
            token.write_text(TOKEN)
            token.chmod(0o600)
            config = parse_config(
                {
                    "storage": {"root": str(work / "storage")},
                    "zenodo": {"url": url, "token": {"file": str(token)}, "rate_limit": 100000},
                    "state": str(work / "state.db"),
                }
            )
            folders = make_datasets(work / "storage", args.datasets, args.large_mb)
            journal = Journal(config.state)
            pub = Publisher(config, journal)
            t1, r1, w1 = run_all(pub, folders, url)
            t2, r2, w2 = run_all(pub, folders, url)
            with sqlite3.connect(config.state) as db:
                db.execute("DELETE FROM md5cache")
            t3, r3, w3 = run_all(pub, folders, url)
            journal.close()
        finally:
            emu.terminate()
            emu.wait(timeout=10)
    n = args.datasets
    mb = args.large_mb + n * 4 * 0.2
    print(f"datasets: {n}, data: {mb:.0f} MB (one file of {args.large_mb} MB)")
    print(
        f"first run (baseline):        {t1:7.3f} s  {r1:4d} requests ({r1 / n:.1f}/dataset), "
        f"{w1} writes"
    )
    print(
        f"second run, md5 cache:       {t2:7.3f} s  {r2:4d} requests ({r2 / n:.1f}/dataset), "
        f"{w2} writes"
    )
    print(f"second run, no md5 cache:    {t3:7.3f} s  {r3:4d} requests, {w3} writes")
    print(f"ratio second/first run time: {t2 / t1:.3f}   requests: {r2 / r1:.3f}")
    print(f"md5 cache speed-up on a second run: {t3 / t2:.1f}x")
    return 0 if (w2, w3) == (0, 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
