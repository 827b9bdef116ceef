"""Overall deadlines and capped answers, against real loopback servers that misbehave."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
from testkit.zenodo_client import LoopbackServer, header_of, make_client

from maggot_zenodo.config import ZenodoConfig
from maggot_zenodo.zenodo.client import AnswerTooLarge, ZenodoClient, ZenodoUnavailable

MiB = 1024 * 1024


def trickle_headers(conn: socket.socket, _head: bytes, _body: bytes) -> None:
    """An answer that never ends: one header line every 0.2 s (bounded: 30 s)."""
    conn.sendall(b"HTTP/1.1 200 OK\r\n")
    for i in range(150):
        conn.sendall(f"X-Slow-{i}: still here\r\n".encode())
        time.sleep(0.2)


def test_trickling_headers_hit_the_overall_deadline() -> None:
    server = LoopbackServer(trickle_headers)
    try:
        with make_client(
            server.base_url, read_timeout=1.0, request_deadline=1.0, max_retries=1
        ) as client:
            started = time.monotonic()
            with pytest.raises(ZenodoUnavailable) as info:
                client.get(1)
            elapsed = time.monotonic() - started
    finally:
        server.close()
    # each header line came well within the read timeout: only the deadline can stop this
    assert "no complete answer within 1 s" in str(info.value)
    assert "gave up after 2 attempts" in str(info.value)
    assert len(server.heads) == 2
    assert elapsed < 6.0, f"two attempts of 1 s took {elapsed:.1f} s"


def test_a_create_cut_by_the_deadline_is_not_sent_again() -> None:
    server = LoopbackServer(trickle_headers)
    try:
        with (
            make_client(server.base_url, read_timeout=1.0, request_deadline=0.5) as client,
            pytest.raises(ZenodoUnavailable) as info,
        ):
            client.create({"title": "slow"})
    finally:
        server.close()
    assert info.value.maybe_committed
    assert len(server.heads) == 1


def test_upload_deadline_scales_with_the_size(tmp_path: Path) -> None:
    with make_client("http://127.0.0.1:9", request_deadline=2.0, min_upload_rate=MiB) as client:
        assert client.upload_deadline(0) == 2.0
        assert client.upload_deadline(10 * MiB) == pytest.approx(12.0)
    cfg = ZenodoConfig(url="http://127.0.0.1:9", min_upload_rate=4 * MiB)
    with ZenodoClient.from_config(cfg, "tok-x") as client:
        assert client.min_upload_rate == 4 * MiB
        assert client.upload_deadline(8 * MiB) == pytest.approx(client.request_deadline + 2)


def test_upload_to_a_trickling_server_ends_at_its_scaled_deadline(tmp_path: Path) -> None:
    path = tmp_path / "two-mib.bin"
    path.write_bytes(b"\x07" * (2 * MiB))
    server = LoopbackServer(trickle_headers)
    try:
        with make_client(
            server.base_url,
            read_timeout=1.0,
            request_deadline=0.5,
            min_upload_rate=2 * MiB,  # 2 MiB: 1 s more than a JSON request
            max_retries=0,
            upload_attempts=1,
        ) as client:
            started = time.monotonic()
            with pytest.raises(ZenodoUnavailable) as info:
                client.upload(f"{server.base_url}/api/files/b", path, "two-mib.bin")
            elapsed = time.monotonic() - started
    finally:
        server.close()
    assert "no complete answer within 1.5 s" in str(info.value)
    assert 1.4 < elapsed < 5.0


def huge_json(length_known: bool):  # type: ignore[no-untyped-def]
    def script(conn: socket.socket, _head: bytes, _body: bytes) -> None:
        size = 3 * MiB
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        if length_known:
            head += f"Content-Length: {size}\r\n\r\n"
            conn.sendall(head.encode())
            conn.sendall(b"[" + b" " * (size - 2) + b"]")
            return
        conn.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        block = b" " * 65536
        for _ in range(size // len(block)):
            conn.sendall(b"%x\r\n%s\r\n" % (len(block), block))
        conn.sendall(b"0\r\n\r\n")

    return script


@pytest.mark.parametrize("length_known", [True, False], ids=["content-length", "chunked"])
def test_an_answer_over_the_cap_is_an_error_naming_the_request(length_known: bool) -> None:
    server = LoopbackServer(huge_json(length_known))
    try:
        with (
            make_client(server.base_url, max_answer=1 * MiB) as client,
            pytest.raises(AnswerTooLarge) as info,
        ):
            client.list(q="title:x")
    finally:
        server.close()
    assert "GET /api/deposit/depositions" in str(info.value)
    assert "larger than 1 MiB" in str(info.value)
    assert len(server.heads) == 1  # not retried: it is not a passing fault


def test_default_cap_is_16_mib() -> None:
    with make_client("http://127.0.0.1:9") as client:
        assert client.max_answer == 16 * MiB


def answer_deposition(conn: socket.socket, _head: bytes, _body: bytes) -> None:
    body = json.dumps({"id": 7, "state": "unsubmitted", "submitted": False}).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def test_json_requests_say_application_json_exactly() -> None:
    """Zenodo compares the raw header: 'application/json; charset=utf-8' would be a 415."""
    server = LoopbackServer(answer_deposition)
    try:
        with make_client(server.base_url) as client:
            dep = client.update(7, {"title": "x"})
    finally:
        server.close()
    assert dep.id == 7
    (head,) = server.heads
    assert head.startswith(b"PUT /api/deposit/depositions/7 ")
    assert header_of(head, "Content-Type") == "application/json"
