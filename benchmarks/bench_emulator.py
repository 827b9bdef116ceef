"""The Zenodo emulator's own costs: streamed upload speed and memory, small-request rate.

Baselines, measured in the same run on the same machine:
- upload: writing the same bytes to a file in the same folder with md5 computed (no network):
  the ceiling for an upload that is hashed and stored; printed ratio emulator/baseline.
- memory: the emulator subprocess's peak RSS (VmHWM) before and after the upload; the growth is
  compared with the body size (it must stay a few MiB: bodies are streamed in 1 MiB chunks).
- small requests: GET of one deposition on a keep-alive connection against a minimal
  ``http.server`` handler answering a fixed JSON body (same threading server, same client).

    python benchmarks/bench_emulator.py [--size 256M] [--requests 500]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=256 * MIB)
    parser.add_argument("--requests", type=int, default=500)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
