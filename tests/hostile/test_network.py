"""A hostile network seen from the command line: a server that trickles its headers, and one
that answers a create with an endless JSON body. ``run --once`` ends, the dataset fails
retryably with a message naming the request, and no other dataset is held up."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from testkit.daemon import make_dataset, run_cli, status_file, write_config
from testkit.zenodo_client import LoopbackServer

MiB = 1024 * 1024


def trickle_headers(conn: socket.socket, _head: bytes, _body: bytes) -> None:
    """One header line every 0.2 s, never the blank line (bounded: 30 s)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for i in range(150):
        conn.sendall(f"X-Slow-{i}: still here\r\n".encode())
        time.sleep(0.2)


def endless_json(conn: socket.socket, _head: bytes, _body: bytes) -> None:
    """A chunked JSON answer of 64 MiB, sent as fast as the client reads it."""
    conn.sendall(
        b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    block = b" " * 65536
    conn.sendall(b"1\r\n[\r\n")
    for _ in range(64 * MiB // len(block)):
        conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))
    conn.sendall(b"1\r\n]\r\n0\r\n\r\n")


def _run_once(tmp_path: Path, url: str) -> tuple[object, float]:
    config = write_config(
        tmp_path,
        url,
        **{"zenodo.read_timeout": 1, "zenodo.connect_timeout": 1, "zenodo.max_retries": 1},
    )
    started = time.monotonic()
    result = run_cli("run", "--once", "--config", str(config), timeout=90)
    return result, time.monotonic() - started


def test_run_once_against_trickling_headers_ends_with_a_retryable_failure(tmp_path: Path) -> None:
    # 0.1.0: one header line every 2 s never tripped read_timeout; run --once hung forever
    folder = make_dataset(tmp_path / "storage", "Trickled", semaphore=True)
    server = LoopbackServer(trickle_headers)
    try:
        result, elapsed = _run_once(tmp_path, server.base_url)
    finally:
        server.close()
    assert elapsed < 45, f"run --once took {elapsed:.0f} s against a trickling server"
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    status = status_file(folder) or {}
    assert status.get("status") == "failed", status
    assert "no complete answer within" in str(status.get("error")), status
    assert "tried again automatically" in str(status.get("hint")), status


def test_run_once_against_an_endless_json_answer_fails_it_by_name(tmp_path: Path) -> None:
    # 0.1.0: the body was read whole; a 2 GB answer took the process to 2.1 GB
    folder = make_dataset(tmp_path / "storage", "Flooded", semaphore=True)
    server = LoopbackServer(endless_json)
    try:
        result, elapsed = _run_once(tmp_path, server.base_url)
    finally:
        server.close()
    assert elapsed < 60, f"run --once took {elapsed:.0f} s"
    assert "Traceback" not in result.stderr  # type: ignore[attr-defined]
    status = status_file(folder) or {}
    assert status.get("status") == "failed", status
    assert "larger than 16 MiB" in str(status.get("error")), status
