"""Upload throughput and memory: ZenodoClient.upload against ``curl --upload-file``.

Two receivers in the same run, both subprocesses on loopback: the emulator (which stores the
file and computes its md5, as Zenodo does), and a receiver that discards the bytes (the wire
limit; it answers the md5 the benchmark computed when it wrote the file, so the client's
verification passes without it hashing anything). Each of ``--runs`` rounds times curl and the
client back to back against each receiver (alternating which goes first); the figures are the
medians of the per-round ratios. The client runs in a child process so that its peak RSS
(ru_maxrss) is its own; it also samples its RSS during the upload, so growth shows. curl gets
the token from a header file (``-H @file``), never from its command line.

Goals (issue #13): client/curl to the emulator >= 0.95; client to the discarder >= 0.9 of
min(curl to the discarder, md5sum of the file); client peak RSS <= 60 MB with no growth.

    python benchmarks/bench_upload.py [--size 1G] [--runs 5]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchstats import quiesce

MIB = 1024 * 1024
TOKEN_NAME = "bench-token"


def parse_size(text: str) -> int:
    """``1G``, ``256M``, ``4096`` → bytes (binary units)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G or 100M)")
    factor = {"": 1, "k": 1024, "m": MIB, "g": 1024 * MIB}[m.group(2).lower()]
    return int(float(m.group(1)) * factor)


def make_file(path: Path, size: int) -> str:
    """Write ``size`` bytes that are neither sparse nor trivially compressible; return md5."""
    pool = [os.urandom(MIB) for _ in range(8)]
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "wb") as f:
        written, i = 0, 0
        while written < size:
            block = i.to_bytes(8, "big") + pool[i % len(pool)][8:]
            block = block[: size - written]
            f.write(block)
            md5.update(block)
            written += len(block)
            i += 1
    return md5.hexdigest()


def start_emulator(data: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0", "--data", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http://127.0.0.1:"):
        proc.kill()
        raise SystemExit(f"the emulator did not print its base URL (got {line!r})")
    return proc, line


def child_discard(md5: str) -> None:
    """Child mode: a receiver that reads every PUT body into one reused buffer and answers
    the bucket's JSON with the md5 it was given (it hashes nothing: the wire limit)."""
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=_discard_connection, args=(conn, md5), daemon=True).start()


def _discard_connection(conn: socket.socket, md5: str) -> None:
    buf = bytearray(4 * MIB)
    view = memoryview(buf)
    pending = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in pending:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                pending += chunk
            head, _, pending = pending.partition(b"\r\n\r\n")
            found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            length = int(found.group(1)) if found else 0
            left = length - len(pending)
            pending = b""
            while left > 0:
                n = conn.recv_into(view, min(left, len(buf)))
                if not n:
                    return
                left -= n
            body = json.dumps({"key": "x", "size": length, "checksum": f"md5:{md5}"}).encode()
            conn.sendall(
                b"HTTP/1.1 201 CREATED\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )


def _rss_kib() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_upload() -> None:
    """Child mode: read the job (with the token) from stdin, upload, print figures as JSON."""
    job = json.loads(sys.stdin.read())
    from maggot_zenodo.logs import setup_logging
    from maggot_zenodo.zenodo.client import ZenodoClient

    setup_logging("warning")
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            samples.append(_rss_kib())

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cpu_before = _cpu_seconds()
    with ZenodoClient(job["base"], job["token"], read_timeout=600) as client:
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        result = client.upload(job["bucket"], Path(job["path"]), job["key"])
        seconds = time.perf_counter() - started
        done.set()
        sampler.join()
    third = max(1, len(samples) // 3)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "md5": result.md5,
                "size": result.size,
                "rss_before_kib": rss_before,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                "cpu_s": _cpu_seconds() - cpu_before,
                # RSS late in the upload minus early in it: growth while sending
                "growth_kib": max(samples[-third:], default=0) - max(samples[:third], default=0),
            }
        )
    )


def run_client(base: str, token: str, bucket: str, path: Path) -> dict[str, float]:
    job = {"base": base, "token": token, "bucket": bucket, "path": str(path), "key": "client.bin"}
    out = subprocess.run(
        [sys.executable, __file__, "--child-upload"],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_curl(bucket: str, header: Path, path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(
        [
            "curl",
            "-sS",
            "--fail",
            "--upload-file",
            str(path),
            "-H",
            f"@{header}",
            "-H",
            "Content-Type: application/octet-stream",
            "-H",
            "Expect:",
            "-o",
            os.devnull,
            f"{bucket}/curl.bin",
        ],
        check=True,
    )
    return time.perf_counter() - started


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_md5sum(path: Path) -> float:
    started = time.perf_counter()
    subprocess.run(["md5sum", str(path)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def state_md5s(base: str) -> dict[str, str]:
    import requests

    state = requests.get(f"{base}/_emulator/state", timeout=30).json()
    found = {}
    for dep in state.get("depositions", []):
        for f in dep.get("files", []):
            name = f.get("key") or f.get("filename") or f.get("name")
            found[name] = f.get("md5") or str(f.get("checksum", "")).removeprefix("md5:")
    return found


def start_child(argv: list[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def stop(proc: subprocess.Popen[str] | None) -> None:
    if proc is None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def one_round(i: int, targets: dict[str, tuple[str, str]], header: Path, path: Path) -> dict:
    """curl and the client against each receiver, the order alternating between rounds."""
    times: dict[str, float] = {}
    for name, (base, bucket) in targets.items():
        order = ("curl", "client") if i % 2 == 0 else ("client", "curl")
        for who in order:
            quiesce()
            if who == "curl":
                cpu = _children_cpu()
                times[f"curl_{name}"] = run_curl(bucket, header, path)
                times[f"curl_cpu_{name}"] = _children_cpu() - cpu
            else:
                child = run_client(base, TOKEN_NAME, bucket, path)
                times[f"client_{name}"] = child["seconds"]
                times[f"child_{name}"] = child  # type: ignore[assignment]
    quiesce()
    times["md5sum"] = time_md5sum(path)
    return times


def report(rounds: list[dict], size: int, md5_ok: bool) -> bool:
    mb = size / 1e6
    emu = [r["curl_emu"] / r["client_emu"] for r in rounds]
    # client speed / min(curl speed, md5sum speed) = max(curl time, md5sum time) / client time
    wire = [max(r["curl_discard"], r["md5sum"]) / r["client_discard"] for r in rounds]
    peak = max(r[f"child_{n}"]["peak_rss_kib"] for r in rounds for n in ("emu", "discard"))
    growth = max(r[f"child_{n}"]["growth_kib"] for r in rounds for n in ("emu", "discard"))

    def med(key: str) -> float:
        return mb / statistics.median(r[key] for r in rounds)

    print(f"bench_upload: {size} bytes ({size / MIB:.0f} MiB), {len(rounds)} paired rounds")
    print(f"  to the emulator:  client {med('client_emu'):7.1f} MB/s, curl {med('curl_emu'):7.1f}")
    print(
        f"  to the discarder: client {med('client_discard'):7.1f} MB/s, "
        f"curl {med('curl_discard'):7.1f}, md5sum {med('md5sum'):7.1f} MB/s"
    )
    print(
        f"  client/curl to the emulator, median of rounds: {statistics.median(emu):.2f} "
        f"(goal >= 0.95; rounds {', '.join(f'{x:.2f}' for x in emu)})"
    )
    print(
        f"  client/min(curl, md5sum) to the discarder, median: {statistics.median(wire):.2f} "
        f"(goal >= 0.9; rounds {', '.join(f'{x:.2f}' for x in wire)})"
    )
    print(
        f"  client peak RSS {peak / 1024:.1f} MiB (goal <= 60), growth during the upload "
        f"{growth / 1024:.1f} MiB"
    )
    client_cpu = statistics.median(r[f"child_{n}"]["cpu_s"] for r in rounds for n in ("emu",))
    curl_cpu = statistics.median(r["curl_cpu_emu"] for r in rounds)
    print(
        f"  CPU per upload: client {client_cpu:.2f} s (the md5 is most of it), curl "
        f"{curl_cpu:.2f} s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(f"  md5 verified by the emulator for every upload: {'yes' if md5_ok else 'NO'}")
    return md5_ok


TOKEN_NAME = secrets.token_urlsafe(24)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child-upload", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-discard", metavar="MD5", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_upload:
        child_upload()
        return 0
    if args.child_discard:
        child_discard(args.child_discard)
        return 0
    if shutil.which("curl") is None or shutil.which("md5sum") is None:
        print("bench_upload: curl or md5sum not found, skipped")
        return 0
    return measure(args.size, max(1, args.runs))


def measure(size: int, runs: int) -> int:
    from maggot_zenodo.logs import setup_logging
    from maggot_zenodo.zenodo.client import ZenodoClient

    setup_logging("warning")
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    emu = discard = None
    try:
        path = workdir / "data.bin"
        md5 = make_file(path, size)
        emu, emu_base = start_emulator(workdir / "emulator")
        discard, discard_base = start_child([sys.executable, __file__, "--child-discard", md5])
        with ZenodoClient(emu_base, TOKEN_NAME) as client:
            bucket = client.get(client.create({"title": "upload benchmark"}).id).bucket
            assert bucket is not None
        header = workdir / "auth-header"
        fd = os.open(header, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(f"Authorization: Bearer {TOKEN_NAME}\n")
        targets = {
            "emu": (emu_base, bucket),
            "discard": (discard_base, f"{discard_base}/api/files/discard"),
        }
        rounds = []
        md5_ok = True
        for i in range(runs):
            rounds.append(one_round(i, targets, header, path))
            held = state_md5s(emu_base)
            md5_ok &= held.get("client.bin") == md5 and held.get("curl.bin") == md5
            md5_ok &= all(rounds[-1][f"child_{n}"]["md5"] == md5 for n in targets)
        return 0 if report(rounds, size, md5_ok) else 1
    finally:
        stop(emu)
        stop(discard)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
