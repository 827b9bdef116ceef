"""The Zenodo emulator's own costs: streamed upload speed and memory, small-request rate.

Baselines, measured in the same run on the same machine:
- upload: writing the same bytes to a file in the same folder with md5 computed (no network):
  the ceiling for an upload that is hashed and stored; printed ratio emulator/baseline.
- memory: the emulator subprocess's peak RSS (VmHWM) before and after the upload; the growth is
  compared with the body size (it must stay a few MiB: bodies are streamed in 1 MiB chunks).
- small requests: GET of one deposition on a keep-alive connection against a minimal
  ``http.server`` handler answering a fixed JSON body (same threading server, same client).
- scale: p50 latency of the daemon's request mix (create, GET, PUT metadata, a small bucket
  PUT, a listing by concept, the default listing) with 10 000 depositions in the emulator,
  against the same mix with 100 (same run, same machine); the ratio must stay <= 1.5.

    python benchmarks/bench_emulator.py [--size 256M] [--requests 500] [--scale 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from maggot_zenodo.emulator.server import owner_id
from maggot_zenodo.emulator.store import Store

MIB = 1024 * 1024
TOKEN = "bench-emulator-token"


def parse_size(text: str) -> int:
    units = {"K": 1024, "M": MIB, "G": 1024 * MIB}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def blocks(size: int):
    block = bytes(range(256)) * 4096
    left = size
    while left > 0:
        yield block[: min(left, MIB)]
        left -= MIB


def baseline_write(folder: Path, size: int) -> float:
    start = time.perf_counter()
    md5 = hashlib.md5(usedforsecurity=False)
    with open(folder / "baseline.bin", "wb") as out:
        for chunk in blocks(size):
            md5.update(chunk)
            out.write(chunk)
    elapsed = time.perf_counter() - start
    (folder / "baseline.bin").unlink()
    return elapsed


class Fixed(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    body = json.dumps({"id": 1, "metadata": {"title": "x"}, "links": {}}).encode()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(self.body)}\r\n\r\n"
        )
        self.wfile.write(head.encode() + self.body)  # one write, as the emulator does

    def log_message(self, *args: object) -> None:
        pass


def rate(url: str, n: int) -> float:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {TOKEN}"
    session.get(url, timeout=10).raise_for_status()
    start = time.perf_counter()
    for _ in range(n):
        session.get(url, timeout=10).raise_for_status()
    return n / (time.perf_counter() - start)


def populate(data: Path, count: int) -> list[tuple[int, int]]:
    """``count`` depositions of the bench user (half published with one file), written
    through the emulator's own store; returns (id, conceptrecid) pairs."""
    store = Store(data)
    owner, made = owner_id(TOKEN), []
    md = {"upload_type": "dataset", "title": "", "creators": [{"name": "Doe, Jane"}]}
    for i in range(count):
        dep = store.create(owner, {**md, "title": f"Scale dataset {i}"})
        if i % 2:
            temp = store.new_temp()
            temp.write_bytes(b"x")
            md5 = hashlib.md5(b"x", usedforsecurity=False).hexdigest()
            store.commit_file(dep["id"], owner, "x.txt", temp, 1, md5)
            store.publish(dep["id"], owner)
        made.append((dep["id"], dep["conceptrecid"]))
    store.close()
    return made


class Mix:
    """The daemon's request kinds, one round at a time, on one keep-alive session; keeps the
    latency (seconds) of every request by kind."""

    def __init__(self, base: str, made: list[tuple[int, int]]) -> None:
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {TOKEN}"
        self.dep_url = f"{base}/api/deposit/depositions"
        self.made, self.rng = made, random.Random(7)
        self.lat: dict[str, list[float]] = {}

    def _timed(self, kind: str, method: str, url: str, **kw: object) -> requests.Response:
        start = time.perf_counter()
        r = self.session.request(method, url, timeout=30, **kw)  # type: ignore[arg-type]
        self.lat.setdefault(kind, []).append(time.perf_counter() - start)
        r.raise_for_status()
        return r

    def round(self, i: int) -> None:
        md = {"upload_type": "dataset", "title": "Bench", "creators": [{"name": "Doe, Jane"}]}
        dep_id, concept = self.rng.choice(self.made)
        url = self.dep_url
        new = self._timed("create", "POST", url, json={"metadata": md}).json()
        self._timed("get", "GET", f"{url}/{dep_id}")
        self._timed("put", "PUT", f"{url}/{new['id']}", json={"metadata": {**md, "title": f"{i}"}})
        self._timed("upload", "PUT", f"{new['links']['bucket']}/d.txt", data=b"y" * 1024)
        self._timed("by concept", "GET", url, params={"q": f"conceptrecid:{concept}"})
        self._timed("list", "GET", url)

    def p50(self) -> dict[str, float]:
        out = {kind: statistics.median(v) for kind, v in self.lat.items()}
        out["all"] = statistics.median([x for v in self.lat.values() for x in v])
        return out


def spawn(data: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0", "--quiet",
         "--rate-limit", "1000000/min", "--data", str(data)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    return proc, proc.stdout.readline().strip()  # type: ignore[union-attr]


def scale_report(folder: Path, count: int, rounds: int) -> bool:
    """Both emulators run at once and take rounds in turn (the order alternating), so that a
    change in the machine's load hits both sides alike."""
    sizes = (100, count)
    procs, mixes = [], []
    try:
        for n in sizes:
            data = folder / f"scale-{n}"
            made = populate(data, n)
            proc, base = spawn(data)
            procs.append(proc)
            mixes.append(Mix(base, made))
        for i in range(20):  # warm-up, not kept
            for mix in mixes:
                mix.round(i)
        for mix in mixes:
            mix.lat.clear()
        for i in range(rounds):
            for mix in mixes if i % 2 else mixes[::-1]:
                mix.round(i)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)
    small, big = mixes[0].p50(), mixes[1].p50()
    print(f"emulator p50 latency, {count} depositions vs 100 (request mix, {rounds} rounds):")
    for kind in small:
        print(
            f"  {kind:>10}: {big[kind] * 1000:6.2f} ms vs {small[kind] * 1000:6.2f} ms, "
            f"ratio {big[kind] / small[kind]:.2f}"
        )
    ratio_all = big["all"] / small["all"]
    print(f"scale ratio (goal <= 1.5): {ratio_all:.2f}")
    return ratio_all <= 1.5


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=256 * MIB)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--scale", type=int, default=10_000, help="0 skips the scale part")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-emulator-") as tmp:
        folder = Path(tmp)
        proc = subprocess.Popen(
            [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0", "--quiet",
             "--data", str(folder / "data")],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            base = proc.stdout.readline().strip()  # type: ignore[union-attr]
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {TOKEN}"
            dep = session.post(f"{base}/api/deposit/depositions", json={}, timeout=10).json()
            bucket = session.get(dep["links"]["self"], timeout=10).json()["links"]["bucket"]
            rss_before = peak_rss_mib(proc.pid)
            upload_times, base_times = [], []
            for _ in range(2):  # interleaved, best of two: page-cache writeback evens out
                base_times.append(baseline_write(folder, args.size))
                start = time.perf_counter()
                r = session.put(f"{bucket}/big.bin", data=blocks(args.size), timeout=600)
                upload_times.append(time.perf_counter() - start)
                r.raise_for_status()
            upload_s, base_s = min(upload_times), min(base_times)
            rss_growth = peak_rss_mib(proc.pid) - rss_before
            emu_rate = rate(dep["links"]["self"], args.requests)
        finally:
            proc.terminate()
            proc.wait(10)
        scale_ok = scale_report(folder, args.scale, args.rounds) if args.scale else True
        server = ThreadingHTTPServer(("127.0.0.1", 0), Fixed)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            fixed_rate = rate(f"http://127.0.0.1:{server.server_address[1]}/", args.requests)
        finally:
            server.shutdown()
            server.server_close()
    mb = args.size / 1e6
    print(
        f"upload {args.size / MIB:.0f} MiB: emulator {mb / upload_s:.0f} MB/s, "
        f"local write+md5 baseline {mb / base_s:.0f} MB/s, ratio {base_s / upload_s:.2f}"
    )
    print(
        f"emulator peak RSS growth during the upload: {rss_growth:.1f} MiB "
        f"({100 * rss_growth * MIB / args.size:.2f}% of the body)"
    )
    print(
        f"small GETs on keep-alive: emulator {emu_rate:.0f} req/s, fixed-JSON http.server "
        f"{fixed_rate:.0f} req/s, ratio {emu_rate / fixed_rate:.2f}"
    )
    if rss_growth > 64:
        print("FAIL: the emulator's memory grew with the upload", file=sys.stderr)
        return 1
    if not scale_ok:
        print("FAIL: the emulator's latency grows with the number of depositions", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
