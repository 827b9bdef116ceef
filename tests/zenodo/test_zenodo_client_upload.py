"""ZenodoClient.upload: streamed, md5-verified, started over when anything went wrong."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from testkit.zenodo_client import CorruptingRelay, bucket_of, make_client, md5_of

from maggot_zenodo.zenodo.client import ChecksumMismatch, FileChanged, ZenodoClient
from maggot_zenodo.zenodo.upload import HashingBody

MARKER = b"\x01MARKER-0123456789\x02"
ALTERED = b"\x01MARKER-9876543210\x02"


def data_file(tmp_path: Path, size: int = 3 * 1024 * 1024, name: str = "data.bin") -> Path:
    path = tmp_path / name
    with open(path, "wb") as f:
        f.write(os.urandom(1000) + MARKER + os.urandom(size - 1000 - len(MARKER) - 1) + b"\n")
    return path


def new_bucket(client: ZenodoClient) -> tuple[int, str]:
    dep = client.create({"title": "upload test"})
    return dep.id, bucket_of(client, dep.id)


def held_files(emulator: Any) -> dict[str, tuple[int, str]]:
    (dep,) = emulator.state()["depositions"]
    return {f["filename"]: (f["filesize"], f["checksum"]) for f in dep["files"]}


def test_reset_mid_upload_restarts_from_the_first_byte(emulator: Any, tmp_path: Path) -> None:
    path = data_file(tmp_path)
    with make_client(emulator.base_url) as client:
        _, bucket = new_bucket(client)
        emulator.set_faults(rate=1, kinds=["reset_mid_upload"], count=2)
        progress: list[int] = []
        result = client.upload(bucket, path, "data.bin", progress=progress.append)
    size = path.stat().st_size
    assert (result.size, result.md5) == (size, md5_of(path))
    assert emulator.state()["faults"]["injected"] == {"reset_mid_upload": 2}
    restarts = [i for i, n in enumerate(progress) if n == 0]
    assert len(restarts) == 3  # first try and two restarts, each from byte 0
    assert progress[-1] == size
    assert held_files(emulator) == {"data.bin": (size, md5_of(path))}


def test_corrupted_in_transit_is_uploaded_again(emulator: Any, tmp_path: Path) -> None:
    path = data_file(tmp_path)
    relay = CorruptingRelay(emulator.base_url, MARKER, ALTERED, times=1)
    try:
        with make_client(emulator.base_url) as direct:
            _, bucket = new_bucket(direct)
        with make_client(relay.base_url) as client:
            result = client.upload(bucket.replace(emulator.base_url, relay.base_url), path, "d")
    finally:
        relay.close()
    assert relay.left == 0  # the first upload really was altered
    assert result.md5 == md5_of(path)
    state = emulator.state()
    assert state["requests"]["by_method"]["PUT"] == 2
    assert held_files(emulator) == {"d": (path.stat().st_size, md5_of(path))}


def test_persistent_corruption_raises_checksum_mismatch(emulator: Any, tmp_path: Path) -> None:
    path = data_file(tmp_path)
    relay = CorruptingRelay(emulator.base_url, MARKER, ALTERED, times=100)
    try:
        with make_client(emulator.base_url) as direct:
            _, bucket = new_bucket(direct)
        with (
            make_client(relay.base_url, upload_attempts=3) as client,
            pytest.raises(ChecksumMismatch) as info,
        ):
            client.upload(bucket.replace(emulator.base_url, relay.base_url), path, "d")
    finally:
        relay.close()
    assert "md5" in str(info.value) and "3 attempts" in str(info.value)
    assert emulator.state()["requests"]["by_method"]["PUT"] == 3


def test_file_growing_during_upload_is_uploaded_again(emulator: Any, tmp_path: Path) -> None:
    path = data_file(tmp_path)
    appended = []

    def grow(sent: int) -> None:
        if sent > 0 and not appended:
            appended.append(sent)
            with open(path, "ab") as f:
                f.write(b"late bytes\n")

    with make_client(emulator.base_url) as client:
        _, bucket = new_bucket(client)
        result = client.upload(bucket, path, "grows.bin", progress=grow)
    assert appended, "the file was never changed: the test proved nothing"
    assert (result.size, result.md5) == (path.stat().st_size, md5_of(path))
    assert held_files(emulator) == {"grows.bin": (path.stat().st_size, md5_of(path))}
    assert emulator.state()["requests"]["by_method"]["PUT"] == 2


def test_file_shrinking_during_upload_is_uploaded_again(emulator: Any, tmp_path: Path) -> None:
    path = data_file(tmp_path)
    cut = []

    def shrink(sent: int) -> None:
        if sent > 0 and not cut:
            cut.append(sent)
            os.truncate(path, sent + 10)

    with make_client(emulator.base_url) as client:
        _, bucket = new_bucket(client)
        result = client.upload(bucket, path, "shrinks.bin", progress=shrink)
    assert cut
    assert (result.size, result.md5) == (path.stat().st_size, md5_of(path))
    assert held_files(emulator) == {"shrinks.bin": (path.stat().st_size, md5_of(path))}


def test_file_that_never_stops_changing(emulator: Any, tmp_path: Path) -> None:
    path = data_file(tmp_path, size=200_000)

    def always(sent: int) -> None:
        if sent:
            with open(path, "ab") as f:
                f.write(b"x")

    with make_client(emulator.base_url, upload_attempts=2) as client:
        _, bucket = new_bucket(client)
        with pytest.raises(FileChanged):
            client.upload(bucket, path, "busy.bin", progress=always)


def test_empty_file(emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with make_client(emulator.base_url) as client:
        _, bucket = new_bucket(client)
        result = client.upload(bucket, path, "empty")
    assert (result.size, result.md5) == (0, md5_of(path))


def test_key_with_spaces_and_accents(emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "x"
    path.write_text("données\n")
    with make_client(emulator.base_url) as client:
        dep_id, bucket = new_bucket(client)
        client.upload(bucket, path, "relevés 2021.csv")
        assert [f.filename for f in client.list_files(dep_id)] == ["relevés 2021.csv"]


def test_md5_is_hashed_off_the_sending_thread_and_the_thread_ends(
    emulator: Any, tmp_path: Path
) -> None:
    path = data_file(tmp_path, size=5 * 1024 * 1024 + 7)  # several blocks and a short one
    with make_client(emulator.base_url) as client:
        _, bucket = new_bucket(client)
        hashing: list[str] = []

        def watch(_sent: int) -> None:
            hashing.extend(t.name for t in threading.enumerate() if t.name == "zenodo-md5")

        result = client.upload(bucket, path, "data.bin", progress=watch)
    assert result.md5 == md5_of(path) and result.size == path.stat().st_size
    assert hashing, "no hashing thread ran while the file was sent"
    assert not [t for t in threading.enumerate() if t.name == "zenodo-md5"]
    assert held_files(emulator) == {"data.bin": (result.size, result.md5)}


def test_expected_md5_refuses_a_file_that_changed_since_it_was_hashed(
    emulator: Any, tmp_path: Path
) -> None:
    path = data_file(tmp_path)
    stale = md5_of(path)
    path.write_bytes(path.read_bytes()[::-1])
    with make_client(emulator.base_url, upload_attempts=2) as client:
        _, bucket = new_bucket(client)
        with pytest.raises(FileChanged) as info:
            client.upload(bucket, path, "data.bin", expected_md5=stale)
        assert "changed since it was hashed" in str(info.value)
        result = client.upload(bucket, path, "data.bin", expected_md5=md5_of(path))
    assert result.md5 == md5_of(path)


@pytest.mark.parametrize("size", [1, 1024 * 1024 - 1, 1024 * 1024, 1024 * 1024 + 1, 9 * 2**20 + 3])
def test_hashing_body_yields_the_file_and_its_md5(tmp_path: Path, size: int) -> None:
    """Every block as read, in order, and the md5 of exactly those bytes, however the ring of
    reused buffers wraps around (each block is copied before the next one is asked for)."""
    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(size))
    body = HashingBody(path, None)
    try:
        sent = b"".join(bytes(block) for block in body)
        md5 = body.md5
    finally:
        body.close()
    assert sent == path.read_bytes()
    assert (body.complete, body.sent, md5) == (True, size, md5_of(path))
