"""Zenodo's passing faults that come back as a 4xx (or a 500 deleting a draft's file): retried,
and, when they persist, told from true refusals by the sizes, the quota and the token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from testkit import TOKEN
from testkit.zenodo_client import bucket_of, make_client, md5_of

from maggot_zenodo.zenodo.client import (
    PermissionDenied,
    TooLarge,
    TransientRefusal,
    ZenodoClient,
)

TRANSIENT = [
    "transfer_failed",
    "spurious_413",
    "spurious_quota",
    "newversion_403",
    "draft_file_delete_500",
]
METADATA = {
    "upload_type": "dataset",
    "description": "Transient faults.",
    "creators": [{"name": "Martin, Paul"}],
    "publication_date": "2024-05-01",
    "access_right": "open",
    "license": "cc-by-4.0",
}


def fast(base: str, **overrides: Any) -> ZenodoClient:
    return make_client(base, **{"max_retries": 10, **overrides})


def files_in(tmp_path: Path, version: int) -> list[Path]:
    folder = tmp_path / f"v{version}"
    folder.mkdir()
    kept = folder / "kept.bin"
    kept.write_bytes(bytes(range(256)) * 4096 * version)
    gone = folder / "dropped.csv"
    gone.write_text("a,b\n1,2\n")
    return [kept, gone]


def held(emulator: Any, dep_id: int) -> dict[str, str]:
    (dep,) = [d for d in emulator.state()["depositions"] if d["id"] == dep_id]
    return {f["filename"]: f["checksum"] for f in dep["files"]}


def version_flow(client: ZenodoClient, tmp_path: Path, title: str) -> tuple[int, int]:
    """Publish a record, then a new version with one file replaced and one deleted."""
    first, second = files_in(tmp_path, 1), files_in(tmp_path, 2)
    dep = client.create({**METADATA, "title": title})
    bucket = bucket_of(client, dep.id)
    for path in first:
        assert client.upload(bucket, path, path.name).md5 == md5_of(path)
    client.publish(dep.id)
    draft = client.new_version(dep.id)
    assert draft.bucket is not None
    client.update(draft.id, {**METADATA, "title": title})
    result = client.upload(draft.bucket, second[0], "kept.bin")
    assert result.md5 == md5_of(second[0])
    for f in client.list_files(draft.id):
        if f.filename == "dropped.csv":
            client.delete_file(draft.id, f.id)
    assert client.publish(draft.id).state == "done"
    return dep.id, draft.id


@pytest.mark.parametrize("seed", [3, 17])
def test_every_transient_kind_at_30_percent(emulator: Any, tmp_path: Path, seed: int) -> None:
    emulator.set_faults(rate=0.3, kinds=TRANSIENT, seed=seed)
    with fast(emulator.base_url) as client:
        first, second = version_flow(client, tmp_path, f"transient {seed}")
    injected = emulator.state()["faults"]["injected"]
    emulator.set_faults()
    assert sum(injected.values()) >= 3, f"too few faults injected to prove anything: {injected}"
    state = emulator.state()
    assert sorted(d["id"] for d in state["depositions"]) == [first, second]
    assert all(d["state"] == "done" for d in state["depositions"])
    v1, v2 = tmp_path / "v1", tmp_path / "v2"
    assert held(emulator, first) == {p.name: md5_of(p) for p in v1.iterdir()}
    assert held(emulator, second) == {"kept.bin": md5_of(v2 / "kept.bin")}


@pytest.mark.parametrize("kind", TRANSIENT)
def test_each_kind_alone_is_survived(emulator: Any, tmp_path: Path, kind: str) -> None:
    emulator.set_faults(rate=0.5, kinds=[kind], seed=11)
    with fast(emulator.base_url) as client:
        first, second = version_flow(client, tmp_path, f"alone {kind}")
    injected = emulator.state()["faults"]["injected"]
    emulator.set_faults()
    assert injected.get(kind, 0) > 0, "the fault was never injected: the test proved nothing"
    assert sorted(d["id"] for d in emulator.state()["depositions"]) == [first, second]


def draft_with_bucket(emulator: Any, client: ZenodoClient, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "d.csv"
    path.write_text("x\n")
    dep = client.create({**METADATA, "title": "lasting"})
    client.upload(bucket_of(client, dep.id), path, "d.csv")
    return dep.id, bucket_of(client, dep.id)


@pytest.mark.parametrize(
    ("kind", "fault", "words"),
    [
        ("too_large", "spurious_413", "(413) although it is within the limits"),
        ("quota", "spurious_quota", "although the record holds 6 bytes with it, within"),
        ("transfer_failed", "transfer_failed", "kept failing"),
    ],
)
def test_a_lasting_upload_refusal_says_what_is_true(
    emulator: Any, tmp_path: Path, kind: str, fault: str, words: str
) -> None:
    path = tmp_path / "more.csv"
    path.write_text("abc\n")
    with fast(emulator.base_url, max_retries=3) as client:
        _, bucket = draft_with_bucket(emulator, client, tmp_path)
        emulator.set_faults(rate=1, kinds=[fault])
        with pytest.raises(TransientRefusal) as info:
            client.upload(bucket, path, "more.csv")
    error = info.value
    assert (error.kind, error.key, error.attempts) == (kind, "more.csv", 4)
    assert words in str(error) and "more.csv" in str(error)
    assert "Zenodo's side" in str(error)
    assert not isinstance(error, TooLarge)
    assert TOKEN not in str(error) + repr(error)
    assert emulator.state()["faults"]["injected"] == {fault: 4}


def test_a_413_over_the_file_limit_is_final(emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"y" * 5000)
    with fast(emulator.base_url, max_retries=2, max_file_size=4000) as client:
        _, bucket = draft_with_bucket(emulator, client, tmp_path)
        emulator.set_faults(rate=1, kinds=["spurious_413"])
        with pytest.raises(TooLarge) as info:
            client.upload(bucket, path, "big.csv")
    assert "big.csv holds 5000 bytes, over Zenodo's limit of 4000 bytes per file" in str(info.value)


def test_a_quota_refusal_over_the_record_limit_is_final(emulator: Any, tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"y" * 3000)
    with fast(emulator.base_url, max_retries=2, max_record_size=3001) as client:
        _, bucket = draft_with_bucket(emulator, client, tmp_path)  # holds 2 bytes already
        emulator.set_faults(rate=1, kinds=["spurious_quota"])
        with pytest.raises(TooLarge) as info:
            client.upload(bucket, path, "big.csv")
    assert "would hold 3002 bytes, over Zenodo's quota of 3001 bytes" in str(info.value)


def published_with_draft(client: ZenodoClient, tmp_path: Path) -> tuple[int, int]:
    dep_id, _bucket = draft_with_bucket(None, client, tmp_path)
    client.update(dep_id, {**METADATA, "title": "versioned"})
    client.publish(dep_id)
    return dep_id, client.new_version(dep_id).id


def test_a_lasting_403_on_a_new_version_draft(emulator: Any, tmp_path: Path) -> None:
    with fast(emulator.base_url, max_retries=2) as client:
        _, draft_id = published_with_draft(client, tmp_path)
        emulator.set_faults(rate=1, kinds=["newversion_403"])
        with pytest.raises(TransientRefusal) as info:
            client.get(draft_id)
    assert info.value.kind == "forbidden" and info.value.status == 403
    assert emulator.state()["faults"]["injected"] == {"newversion_403": 3}


def test_a_true_403_is_final_at_once(emulator: Any, tmp_path: Path) -> None:
    """Someone else's deposition, or a token Zenodo refuses: no retry, one check."""
    with fast(emulator.base_url) as alice, fast(emulator.base_url, token="bob-token-5678") as bob:
        dep = alice.create({})
        before = emulator.state()["requests"]["total"]
        with pytest.raises(PermissionDenied):
            bob.get(dep.id)
        assert emulator.state()["requests"]["total"] - before == 2  # the GET, one listing


def test_a_draft_file_that_cannot_be_deleted(emulator: Any, tmp_path: Path) -> None:
    with fast(emulator.base_url, max_retries=2) as client:
        _, draft_id = published_with_draft(client, tmp_path)
        (f,) = client.list_files(draft_id)
        emulator.set_faults(rate=1, kinds=["draft_file_delete_500"])
        with pytest.raises(TransientRefusal) as info:
            client.delete_file(draft_id, f.id)
    assert info.value.kind == "file_delete" and info.value.status == 500
    assert f"deposition {draft_id}" in str(info.value)


def test_a_403_on_the_files_of_a_published_record_is_final(emulator: Any, tmp_path: Path) -> None:
    """Zenodo refuses for good to delete a file of a published record: no retry, no listing."""
    with fast(emulator.base_url) as client:
        dep_id, _bucket = draft_with_bucket(None, client, tmp_path)
        client.update(dep_id, {**METADATA, "title": "published"})
        client.publish(dep_id)
        (f,) = client.list_files(dep_id)
        before = emulator.state()["requests"]["total"]
        with pytest.raises(PermissionDenied) as info:
            client.delete_file(dep_id, f.id)
        assert emulator.state()["requests"]["total"] - before == 1
    assert info.value.status == 403
