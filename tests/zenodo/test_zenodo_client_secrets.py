"""The token never leaks: not in errors (message, args, chain, traceback), reprs, URLs or logs.

Every failure path is triggered for real: connection refused, 4xx, 5xx, timeouts, resets,
ambiguous creates, checksum mismatches.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from testkit import TOKEN
from testkit.zenodo_client import CorruptingRelay, bucket_of, make_client

from maggot_zenodo.logs import setup_logging
from maggot_zenodo.zenodo.client import ZenodoClient, ZenodoError

MARKER = b"\x01MARKER-0123456789\x02"


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    setup_logging("debug", "json", stream=stream)
    yield stream
    setup_logging("warning", "json", stream=io.StringIO())


def all_texts(exc: BaseException) -> list[str]:
    """Everything an exception can show: str, repr, args, attributes, its whole chain."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args), repr(vars(current))]
        current = current.__cause__ or current.__context__
    return texts


def assert_no_token(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text
        assert TOKEN[4:-4] not in text  # not even a part of it


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def failing(call: Callable[[], Any]) -> ZenodoError:
    with pytest.raises(ZenodoError) as info:
        call()
    return info.value


def check(error: BaseException, client: ZenodoClient, log_stream: io.StringIO, caplog: Any) -> None:
    # Raised outside any ``except``: no requests exception (which holds the prepared request
    # and its headers) hangs off our errors.
    assert error.__cause__ is None and error.__context__ is None
    assert_no_token(*all_texts(error), repr(client), log_stream.getvalue(), caplog.text)


def test_connection_refused(log_stream: io.StringIO, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    with make_client(f"http://127.0.0.1:{closed_port()}", max_retries=2) as client:
        for call in (lambda: client.create({}), lambda: client.get(1)):
            error = failing(call)
            check(error, client, log_stream, caplog)
    assert "zenodo retry" in log_stream.getvalue()


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "429", "reset"])
def test_server_faults(
    emulator: Any, kind: str, log_stream: io.StringIO, caplog: Any, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.set_faults(rate=1, kinds=[kind])
    with make_client(emulator.base_url, max_retries=2, retry_after_max=0.01) as client:
        for call in (lambda: client.create({}), lambda: client.get(1), lambda: client.list()):
            check(failing(call), client, log_stream, caplog)
    lines = log_stream.getvalue().splitlines()  # urllib3 debug lines come as plain text
    records = [json.loads(line) for line in lines if line.startswith("{")]
    requests_logged = [r for r in records if r["event"] == "zenodo request"]
    retries = [r for r in records if r["event"] == "zenodo retry"]
    assert requests_logged and retries
    assert all(r["level"] == "debug" for r in requests_logged)
    assert all(
        {"method", "path", "http_status", "duration_ms"} <= r.keys() for r in requests_logged
    )
    assert all(r["level"] == "warning" for r in retries)
    assert all({"reason", "attempt", "delay"} <= r.keys() for r in retries)
    # Three calls with max_retries=2: two retries each, except create, never re-sent when the
    # request may have reached the server (every kind here but 429).
    assert len(retries) == (6 if kind == "429" else 4)


def test_timeouts_and_resets_during_upload(
    emulator: Any, log_stream: io.StringIO, caplog: Any, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "f"
    path.write_bytes(b"z" * 300_000)
    with make_client(emulator.base_url, max_retries=1, read_timeout=0.1) as client:
        bucket = bucket_of(client, client.create({}).id)
        emulator.set_faults(rate=1, kinds=["slow"], delay=0.4)
        check(failing(lambda: client.create({})), client, log_stream, caplog)
        check(failing(lambda: client.upload(bucket, path, "f")), client, log_stream, caplog)
        emulator.set_faults(rate=1, kinds=["reset_mid_upload"])
        check(failing(lambda: client.upload(bucket, path, "f")), client, log_stream, caplog)
        emulator.set_faults(rate=1, kinds=["after_commit"])
        error = failing(lambda: client.create({}))
        assert error.maybe_committed
        check(error, client, log_stream, caplog)


def test_http_errors(emulator: Any, log_stream: io.StringIO, caplog: Any) -> None:
    caplog.set_level(logging.DEBUG)
    with (
        make_client(emulator.base_url) as client,
        make_client(emulator.base_url, token="another-token-0000") as other,
    ):
        dep = client.create({})
        check(failing(lambda: other.get(dep.id)), client, log_stream, caplog)  # 403
        check(failing(lambda: client.get(999999)), client, log_stream, caplog)  # 404
        bad = {"license": "nope", "title": TOKEN}  # even a token echoed back by the server
        check(failing(lambda: client.update(dep.id, bad)), client, log_stream, caplog)


def test_checksum_mismatch(emulator: Any, log_stream: io.StringIO, caplog: Any, tmp_path: Path):
    path = tmp_path / "m"
    path.write_bytes(b"a" * 1000 + MARKER + b"b" * 1000 + b"\n")
    relay = CorruptingRelay(emulator.base_url, MARKER, MARKER[::-1], times=10)
    try:
        with make_client(emulator.base_url) as direct:
            bucket = bucket_of(direct, direct.create({}).id)
        with make_client(relay.base_url, upload_attempts=2) as client:
            url = bucket.replace(emulator.base_url, relay.base_url)
            check(failing(lambda: client.upload(url, path, "m")), client, log_stream, caplog)
    finally:
        relay.close()


def test_token_with_control_characters_is_refused_without_echo() -> None:
    for bad in (f"Bearer {TOKEN}", f"{TOKEN}\x00", f"{TOKEN}\r\nX-Evil: 1", "", " \n"):
        with pytest.raises(ValueError) as info:
            ZenodoClient("http://127.0.0.1:9", bad)
        assert_no_token(str(info.value), repr(info.value))


def test_token_file_newline_is_stripped() -> None:
    with ZenodoClient("http://127.0.0.1:9", f"  {TOKEN}\n") as client:
        prepared = client._session().prepare_request(requests.Request("GET", client.api_url))
    assert prepared.headers["Authorization"] == f"Bearer {TOKEN}"


def test_reprs_hold_no_token() -> None:
    with make_client("http://127.0.0.1:9") as client:
        session = client._session()
        assert_no_token(repr(client), str(client), repr(session.auth), repr(vars(client)))
