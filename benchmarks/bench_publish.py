"""``maggot-zenodo publish`` of a new dataset (one 1 GiB file) against ``curl --upload-file``.

End to end: the command (a subprocess: start-up, config, conversion, create, metadata, the
upload with its md5 computed while sending, verification, status file) against curl sending
the same file to a draft of the same emulator. Each paired round publishes a fresh dataset
folder (a hard link to the same file: a new inode for the md5 cache, the same pages for the
page cache) and runs curl, in alternating order. Figure: median of the per-round ratios
curl time / publish time (goal >= 0.9, issue #13 §2).

    python benchmarks/bench_publish.py [--size 1G] [--runs 5]
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

import requests

from bench_upload import make_file, parse_size, run_curl, start_emulator
from benchstats import compile_package, figure, quiesce

TOKEN = "bench-token-0123456789abcdef"
SEMAPHORE = "META_datafile_ok.txt"


def dataset(root: Path, name: str, data: Path) -> Path:
    """A minimal Maggot dataset folder holding ``data`` (hard-linked) and its semaphore."""
    folder = root / name
    folder.mkdir()
    os.link(data, folder / "big.bin")
    record = {
        "profile": "https://example.org/maggot-schema.json",
        "title": name,
        "fulltitle": f"Benchmark dataset {name}",
        "subject": ["Agricultural Sciences"],
        "description": "One large file, published by bench_publish.py.",
        "license": "Creative Commons Attribution 4.0 International",
        "contacts": ["Martin Claire"],
        "authors": ["Martin Claire"],
        "kindOfData": ["Dataset"],
        "resources": [{"datatype": "Dataset", "location": "big.bin"}],
    }
    (folder / f"META_{name}.json").write_text(json.dumps(record))
    (folder / SEMAPHORE).touch()
    return folder


def publish_s(config: Path, folder: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "publish", str(folder), "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"publish failed: {done.stdout}{done.stderr[-2000:]}")
    return took


def curl_s(url: str, header: Path, data: Path) -> float:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {TOKEN}"
    dep = http.post(f"{url}/api/deposit/depositions", json={}, timeout=60).json()
    return run_curl(dep["links"]["bucket"], header, data)


def clean(url: str) -> None:
    """Delete the round's drafts (and so their stored gigabyte) from the emulator."""
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {TOKEN}"
    for dep in http.get(f"{url}/api/deposit/depositions", timeout=60).json():
        http.delete(f"{url}/api/deposit/depositions/{dep['id']}", timeout=60)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory(prefix="bench-publish-") as tmp:
        work = Path(tmp)
        proc, url = start_emulator(work / "emulator")
        try:
            return measure(work, url, args.size, args.runs)
        finally:
            proc.terminate()
            proc.wait(10)


def measure(work: Path, url: str, size: int, runs: int) -> int:
    data = work / "big.bin"
    make_file(data, size)
    token = work / "token"
    token.write_text(TOKEN)
    token.chmod(0o600)
    header = work / "header"
    header.write_text(f"Authorization: Bearer {TOKEN}\n")
    header.chmod(0o600)
    root = work / "storage"
    root.mkdir()
    config = work / "config.yaml"
    settings = {
        "storage": {"root": str(root), "settle": 0},
        "zenodo": {"url": url, "token": {"file": str(token)}, "rate_limit": 100000},
        "state": str(work / "state" / "state.db"),
        "log_level": "warning",
    }
    config.write_text(json.dumps(settings))
    ratios, ours, theirs = [], [], []
    for i in range(runs):
        folder = dataset(root, f"ds{i}", data)
        if i % 2:
            quiesce()
            t_curl = curl_s(url, header, data)
            quiesce()
            t_pub = publish_s(config, folder)
        else:
            quiesce()
            t_pub = publish_s(config, folder)
            quiesce()
            t_curl = curl_s(url, header, data)
        ours.append(t_pub)
        theirs.append(t_curl)
        ratios.append(t_curl / t_pub)
        clean(url)
    mb = size / 1e6
    ratio = statistics.median(ratios)
    print(f"bench_publish: a new dataset of one {size} bytes file, {runs} paired rounds")
    print(f"  publish {statistics.median(ours):.2f} s ({mb / statistics.median(ours):.0f} MB/s)")
    print(
        f"  curl    {statistics.median(theirs):.2f} s ({mb / statistics.median(theirs):.0f} MB/s)"
    )
    print(f"  curl/publish, median of rounds: {ratio:.2f} (goal >= 0.9; rounds "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); load {os.getloadavg()[0]:.1f}")  # fmt: skip
    figure(
        "publish of a new 1 GiB dataset vs curl --upload-file",
        ours=f"{statistics.median(ours):.2f} s",
        baseline=f"curl {statistics.median(theirs):.2f} s",
        ratio=ratio,
        goal=">= 0.9",
        met=ratio >= 0.9,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
