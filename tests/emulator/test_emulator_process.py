"""The ``maggot-zenodo emulator`` command as a real subprocess: first line, signals,
persistence across a restart, options, secrets kept out of its log, bounded memory."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from testkit import Emulator
from testkit.emulator_http import DEP, Client, md5hex, valid_metadata


def peak_rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_first_line_is_the_base_url(emulator_process):
    assert emulator_process.base_url.startswith("http://127.0.0.1:")
    port = int(emulator_process.base_url.rsplit(":", 1)[1])
    assert port > 0
    r = Client(emulator_process.base_url).post(DEP, json={})
    assert r.status_code == 201
    assert r.json()["links"]["self"].startswith(emulator_process.api_url + "/")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_it_cleanly(tmp_path, sig):
    proc = Emulator.spawn(tmp_path / "data")
    Client(proc.base_url).get(DEP)  # an open keep-alive connection must not block the stop
    proc.proc.send_signal(sig)
    assert proc.proc.wait(timeout=10) == 0


def test_default_data_folder_is_a_removed_temp_dir():
    proc = subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        assert Client(url).post(DEP, json={}).status_code == 201
        line = proc.stderr.readline()
        data_dir = Path(line.rsplit("data in ", 1)[1].strip())
        assert (data_dir / "emulator.sqlite").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert not data_dir.exists()


def test_state_survives_a_restart(tmp_path):
    data = tmp_path / "data"
    first = Emulator.spawn(data)
    try:
        client = Client(first.base_url)
        published = client.published({"a.csv": b"1,2\n"})
        draft = client.create(valid_metadata(title="Still a draft"))
        assert client.upload(draft, "b.bin", b"bbb").status_code == 201
        gone = client.create()
        client.delete(f"{DEP}/{gone['id']}")
    finally:
        assert first.stop() == 0
    second = Emulator.spawn(data)
    try:
        client = Client(second.base_url)
        got = client.get(f"{DEP}/{published['id']}").json()
        assert got["state"] == "done" and got["doi"] == published["doi"]
        got = client.get(f"{DEP}/{draft['id']}").json()
        assert got["title"] == "Still a draft"
        assert [(f["filename"], f["checksum"]) for f in got["files"]] == [("b.bin", md5hex(b"bbb"))]
        assert client.get(f"{got['links']['bucket']}/b.bin").content == b"bbb"
        assert client.get(f"{DEP}/{gone['id']}").status_code == 404  # ZENODO-API.md (was 410)
        new = client.create()
        assert new["id"] > max(published["id"], draft["id"], gone["id"])
    finally:
        second.stop()


def test_options_tokens_rate_limit_faults_limits(tmp_path):
    proc = Emulator.spawn(
        tmp_path / "d",
        "--token", "good",
        "--rate-limit", "3/min",
        "--faults", "rate=0,kinds=502",
        "--max-files", "1",
        "--seed", "4",
    )  # fmt: skip
    try:
        assert Client(proc.base_url, token="bad").get(DEP).status_code == 403
        client = Client(proc.base_url, token="good")
        dep = client.create()
        assert client.upload(dep, "a", b"a").status_code == 201
        r = client.upload(dep, "b", b"b")
        assert r.status_code == 400 and "max amount" in r.json()["message"]
        r = client.get(DEP)
        assert r.status_code == 429 and r.json()["message"] == "3 per 1 minute"
        spec = requests.get(proc.url("/_emulator/faults"), timeout=10).json()
        assert spec["kinds"] == ["502"] and spec["seed"] == 4
    finally:
        proc.stop()


def test_bad_faults_option_exits_2(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "emulator", "--faults", "kinds=teapot"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 2 and "teapot" in r.stderr and r.stdout == ""


def test_request_log_never_shows_the_token(tmp_path):
    secret = "s3cr3t-token-value"
    proc = Emulator.spawn(tmp_path / "d", quiet=False)
    try:
        client = Client(proc.base_url, token=secret)
        client.post(DEP, json={"metadata": {"title": "x"}})
        requests.get(f"{proc.api_url}/deposit/depositions?access_token={secret}", timeout=10)
        requests.get(f"{proc.api_url}/deposit/depositions?x=1&access_token={secret}", timeout=10)
        requests.get(f"{proc.url('/nope')}?access_token={secret}", timeout=10)
    finally:
        proc.stop()
    err = proc.proc.stderr.read()
    assert "POST /api/deposit/depositions 201" in err
    assert secret not in err
    for stored in (tmp_path / "d").glob("emulator.sqlite*"):  # the database and its WAL
        assert secret.encode() not in stored.read_bytes()


def test_large_streamed_upload_keeps_memory_low(tmp_path):
    """256 MiB sent chunked from a generator: correct md5, and the server's peak RSS does not
    grow with the body (it reads and writes 1 MiB at a time)."""
    proc = Emulator.spawn(tmp_path / "d")
    try:
        client = Client(proc.base_url)
        dep = client.create()
        client.upload(dep, "warmup.bin", b"w" * (4 * 1024 * 1024))
        before = peak_rss_kib(proc.proc.pid)
        block = bytes(range(256)) * 4096  # 1 MiB
        total = 256

        def body():
            for _ in range(total):
                yield block

        t0 = time.monotonic()
        r = client.put(f"{dep['links']['bucket']}/big.bin", data=body(), timeout=300)
        elapsed = time.monotonic() - t0
        assert r.status_code == 201, r.text
        md5 = hashlib.md5(usedforsecurity=False)
        for _ in range(total):
            md5.update(block)
        assert r.json()["checksum"] == f"md5:{md5.hexdigest()}"
        assert r.json()["size"] == total * len(block)
        growth_mib = (peak_rss_kib(proc.proc.pid) - before) / 1024
        print(f"256 MiB upload in {elapsed:.2f}s; server peak RSS growth {growth_mib:.1f} MiB")
        assert growth_mib < 32
    finally:
        proc.stop()
