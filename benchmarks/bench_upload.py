"""Upload throughput and memory: ZenodoClient.upload against ``curl --upload-file``.

Both upload the same file to the same emulator subprocess over loopback, in the same run.
The client's upload runs in a child process so that its peak RSS (ru_maxrss) is its own;
the child also reports its RSS just before uploading, so the upload's own cost shows.
curl gets the token from a header file (``-H @file``), never from its command line.

    python benchmarks/bench_upload.py [--size 1G] [--keep-going]
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
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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


def child_upload() -> None:
    """Child mode: read the job (with the token) from stdin, upload, print figures as JSON."""
    job = json.loads(sys.stdin.read())
    from maggot_zenodo.logs import setup_logging
    from maggot_zenodo.zenodo.client import ZenodoClient

    setup_logging("warning")

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with ZenodoClient(job["base"], job["token"], read_timeout=600) as client:
        started = time.perf_counter()
        result = client.upload(job["bucket"], Path(job["path"]), job["key"])
        seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "seconds": seconds,
                "md5": result.md5,
                "size": result.size,
                "rss_before_kib": rss_before,
                "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
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


def run_curl(bucket: str, token: str, path: Path, workdir: Path) -> float:
    header = workdir / "auth-header"
    fd = os.open(header, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"Authorization: Bearer {token}\n")
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
    seconds = time.perf_counter() - started
    header.unlink()
    return seconds


def state_md5s(base: str) -> dict[str, str]:
    import requests

    state = requests.get(f"{base}/_emulator/state", timeout=30).json()
    found = {}
    for dep in state.get("depositions", []):
        for f in dep.get("files", []):
            name = f.get("key") or f.get("filename") or f.get("name")
            found[name] = f.get("md5") or str(f.get("checksum", "")).removeprefix("md5:")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"))
    parser.add_argument("--child-upload", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_upload:
        child_upload()
        return 0
    if shutil.which("curl") is None:
        print("bench_upload: curl not found, skipped")
        return 0

    from maggot_zenodo.logs import setup_logging
    from maggot_zenodo.zenodo.client import ZenodoClient

    setup_logging("warning")
    token = secrets.token_urlsafe(24)
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    proc = None
    try:
        path = workdir / "data.bin"
        md5 = make_file(path, args.size)
        proc, base = start_emulator(workdir / "emulator")
        with ZenodoClient(base, token) as client:
            dep = client.create({"title": "upload benchmark"})
            bucket = client.get(dep.id).bucket
            assert bucket is not None
        curl_s = run_curl(bucket, token, path, workdir)
        child = run_client(base, token, bucket, path)
        held = state_md5s(base)
        ok = child["md5"] == md5 and held.get("client.bin") == md5 and held.get("curl.bin") == md5
        mb = args.size / 1e6
        client_speed, curl_speed = mb / child["seconds"], mb / curl_s
        print(f"bench_upload: {args.size} bytes ({args.size / MIB:.0f} MiB) over loopback")
        print(f"  curl --upload-file     {curl_speed:8.1f} MB/s  ({curl_s:.2f} s)")
        print(f"  ZenodoClient.upload    {client_speed:8.1f} MB/s  ({child['seconds']:.2f} s)")
        print(f"  speed ratio client/curl {client_speed / curl_speed:.2f}")
        print(
            f"  client process peak RSS {child['peak_rss_kib'] / 1024:.1f} MiB "
            f"(before upload {child['rss_before_kib'] / 1024:.1f} MiB, "
            f"growth {(child['peak_rss_kib'] - child['rss_before_kib']) / 1024:.1f} MiB, "
            f"file {args.size / MIB:.0f} MiB)"
        )
        print(f"  md5 verified by the emulator for both uploads: {'yes' if ok else 'NO'}")
        return 0 if ok else 1
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
