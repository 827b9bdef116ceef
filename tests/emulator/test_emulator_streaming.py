"""Bodies on the wire: interrupted uploads, multipart across chunk borders, concurrency."""

from __future__ import annotations

import io
import json
import os
import socket
import sqlite3
import threading
from email.message import Message
from urllib.parse import urlsplit

import pytest
from testkit import TOKEN
from testkit.emulator_http import DEP, Client, md5hex

from maggot_zenodo.emulator.httpio import BodyReader, IncompleteBody, iter_multipart


def raw_request(base_url: str, head: str, body: bytes) -> bytes:
    """Send a request by hand, then close: what a client crashing mid-upload does."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head.encode() + body)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while data := sock.recv(65536):
            chunks.append(data)
    return b"".join(chunks)


def test_client_disconnect_mid_upload_keeps_previous_version(emulator):
    client = Client(emulator.base_url)
    dep = client.create()
    assert client.upload(dep, "k.bin", b"previous").status_code == 201
    path = urlsplit(dep["links"]["bucket"]).path + "/k.bin"
    head = (
        f"PUT {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n"
    )
    answer = raw_request(emulator.base_url, head, b"partial" * 10)
    assert answer == b""  # no answer to a body that never arrived
    assert client.get(dep["links"]["bucket"] + "/k.bin").content == b"previous"
    assert not list((emulator.data_dir / "tmp").iterdir())


def test_chunked_body_with_extensions_and_trailers():
    wire = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\nNEXT"
    rfile = io.BytesIO(wire)
    headers = Message()
    headers["Transfer-Encoding"] = "chunked"
    body = BodyReader(rfile, headers)
    assert b"".join(body) == b"hello world" and body.done
    assert rfile.read() == b"NEXT"  # the next request on the connection is untouched


def test_truncated_body_raises():
    headers = Message()
    headers["Content-Length"] = "10"
    with pytest.raises(IncompleteBody):
        b"".join(BodyReader(io.BytesIO(b"short"), headers))


def test_multipart_parser_across_chunk_borders():
    boundary = b"XyZ"
    payload = (b"--XyZ is not a boundary\r\n" + os.urandom(1000)) * 2600  # ~2.7 MB
    wire = (
        b'--XyZ\r\nContent-Disposition: form-data; name="name"\r\n\r\ndata.bin\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + payload + b"\r\n--XyZ--\r\n"
    )
    headers = Message()
    headers["Content-Length"] = str(len(wire))
    parts = [
        (p, b"".join(chunks))
        for p, chunks in iter_multipart(BodyReader(io.BytesIO(wire), headers), boundary)
    ]
    assert [p["name"] for p, _ in parts] == ["name", "file"]
    assert parts[0][1] == b"data.bin"
    assert parts[1][1] == payload


def test_multipart_upload_over_http_larger_than_a_chunk(emulator):
    client = Client(emulator.base_url)
    dep = client.create()
    payload = os.urandom(3 * 1024 * 1024 + 17)
    r = client.post(
        f"{DEP}/{dep['id']}/files", data={"name": "r.bin"}, files={"file": ("r", payload)}
    )
    assert r.status_code == 201 and r.json()["checksum"] == md5hex(payload)


def test_concurrent_clients(emulator):
    errors: list[BaseException] = []
    made: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        try:
            client = Client(emulator.base_url, token=f"user-{n % 3}")
            for i in range(4):
                dep = client.create({"title": f"t{n}-{i}"})
                data = f"{n}-{i}".encode() * 1000
                assert client.upload(dep, "d.txt", data).status_code == 201
                with lock:
                    made.append(dep["id"])
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert len(set(made)) == 24
    with sqlite3.connect(emulator.data_dir / "emulator.sqlite") as db:  # what a restart reads
        saved = [json.loads(doc) for (doc,) in db.execute("SELECT doc FROM deps")]
    assert sorted(d["id"] for d in saved) == sorted(made)
    assert all(len(d["files"]) == 1 for d in saved)
    assert emulator.state()["requests"]["by_status"] == {"201": 48}
