"""The Dataverse client against the emulator: real HTTP over loopback, faults included."""

from __future__ import annotations

import hashlib
import time

import pytest
from testkit import TOKEN
from testkit.dataverse import client, minimal_version

from maggot_zenodo.dataverse.errors import (
    BadApiKey,
    BadRequest,
    DataverseUnavailable,
    LockTimeout,
    NotPermitted,
    Refused,
)


def _new(dvc, **kw):
    return dvc.create_dataset("maggot", {"datasetVersion": minimal_version(**kw)})


def test_site_calls(dv, dvc):
    assert dvc.server_version() == "6.4"
    assert dvc.me().startswith("@user")
    assert dvc.collection("maggot")["isReleased"] is True
    assert dvc.collection_permissions("maggot")["canAddDataset"] is True
    block = dvc.metadata_block("citation")
    assert block["fields"]["title"]["typeClass"] == "primitive"
    assert "etalab 2.0" in [lic["name"] for lic in dvc.licenses()]


def test_bad_token_is_a_user_error_without_the_token(dv):
    bad = client(dv, token="not-the-token-8c1d")
    with pytest.raises(BadApiKey) as info:
        bad.me()
    assert "not-the-token-8c1d" not in str(info.value) + info.value.hint
    assert "dataverse.token" in info.value.hint


def test_create_read_update_and_files(dv, dvc, tmp_path):
    ref = _new(dvc, marker="s:one")
    version = dvc.dataset(ref.id)
    assert (version.ref, version.state, version.license_name) == (ref, "DRAFT", "CC0 1.0")
    assert version.other_ids == (("maggot-zenodo", "s:one"),)
    dvc.replace_metadata(ref.id, minimal_version(title="Renamed"))
    assert dvc.dataset(ref.id).title == "Renamed"
    data = tmp_path / "table.csv"
    data.write_bytes(b"x,y\n1,2\n" * 1000)
    sent, md5 = dvc.add_file(ref.id, data, name="table.csv", directory="raw/2024")
    assert md5 == hashlib.md5(data.read_bytes(), usedforsecurity=False).hexdigest()
    assert (sent.label, sent.directory) == ("table.csv", "raw/2024")  # no ingest: byte-exact
    assert sent.checksum == hashlib.md5(data.read_bytes(), usedforsecurity=False).hexdigest()
    assert [f.path for f in dvc.dataset(ref.id).files] == ["raw/2024/table.csv"]
    dvc.delete_file(sent.id)
    dvc.delete_file(sent.id)  # already gone: not an error
    assert dvc.dataset(ref.id).files == ()


def test_publish_waits_for_finalisation(dv, dvc):
    dv.set_faults(rate=1, kinds=["async_publish"], count=1)
    ref = _new(dvc)
    started = time.monotonic()
    dvc.publish(ref.id, "major")
    assert time.monotonic() - started >= 0.3  # it waited for finalizePublication
    version = dvc.dataset(ref.id)
    assert (version.state, version.number) == ("RELEASED", "1.0")
    with pytest.raises(Refused) as info:
        dvc.publish(ref.id, "major")
    assert "already released" in info.value.message


def test_lock_wait_is_bounded(dv, tmp_path):
    slow = client(dv, lock_timeout=0.2)
    ref = _new(slow)
    dv.set_faults(rate=1, kinds=["lingering_lock"], count=1)
    f = tmp_path / "a.txt"
    f.write_text("a")
    slow.add_file(ref.id, f, name="a.txt")
    with pytest.raises(LockTimeout) as info:
        slow.wait_unlocked(ref.id)
    assert info.value.retryable and "Ingest" in info.value.message


def test_reads_are_retried_through_gateway_errors_and_429(dv, dvc):
    dv.set_faults(rate=1, kinds=["502", "503", "504", "429", "500", "reset"], count=6, seed=3)
    assert dvc.server_version() == "6.4"
    assert dv.state()["faults"]["total"] == 6


def test_a_create_is_never_sent_twice(dv, dvc):
    dv.set_faults(rate=1, kinds=["after_commit"], count=1)
    with pytest.raises(DataverseUnavailable) as info:
        _new(dvc)
    assert info.value.maybe_committed
    assert len(dv.state()["datasets"]) == 1
    time.sleep(0.1)
    assert [r.id for r in dvc.find_by_marker("x", "maggot")] == []


def test_an_add_whose_answer_was_lost_is_not_repeated(dv, dvc, tmp_path):
    ref = _new(dvc)
    f = tmp_path / "data.txt"
    f.write_bytes(b"payload")
    dv.set_faults(rate=1, kinds=["after_commit"], count=1, match="/add")
    remote, _ = dvc.add_file(ref.id, f, name="data.txt")
    labels = [x["label"] for x in dv.state()["datasets"][0]["versions"][-1]["files"]]
    assert labels == ["data.txt"] and remote.label == "data.txt"


def test_refusals_map_to_typed_errors(dv, dvc):
    v = minimal_version()
    v["license"] = {"name": "Etalab V2.0 license"}
    with pytest.raises(BadRequest) as bad:
        dvc.create_dataset("maggot", {"datasetVersion": v})
    assert "Invalid license" in bad.value.message
    with pytest.raises(NotPermitted):
        dvc.create_dataset("root", {"datasetVersion": minimal_version()})


def test_find_by_marker_after_the_index_caught_up(dv, dvc):
    ref = _new(dvc, marker="site:frim1")
    _new(dvc, marker="site:other")
    deadline = time.monotonic() + 5
    while not (found := dvc.find_by_marker("site:frim1", "maggot")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert found == [ref]


def test_the_token_travels_only_in_the_header(dv, dvc, tmp_path):
    ref = _new(dvc)
    f = tmp_path / "x.txt"
    f.write_text("x")
    dvc.add_file(ref.id, f, name="x.txt")
    assert dv.state()["requests"]["key_in_query"] == 0
    assert TOKEN not in repr(dvc) and TOKEN not in repr(dvc._auth)


def test_recent_lists_the_newest_first(dv, dvc):
    refs = [_new(dvc) for _ in range(3)]
    time.sleep(0.1)
    assert dvc.recent("maggot", 2) == refs[::-1][:2]


def test_an_add_refused_by_429_is_sent_again_whole(dv, dvc, tmp_path):
    ref = _new(dvc)
    f = tmp_path / "big.bin"
    f.write_bytes(bytes(range(256)) * 8192)
    dv.set_faults(rate=1, kinds=["429"], count=2, match="/add")
    remote, md5 = dvc.add_file(ref.id, f, name="big.bin")
    assert md5 == hashlib.md5(f.read_bytes(), usedforsecurity=False).hexdigest() == remote.checksum
    files = dv.state()["datasets"][0]["versions"][-1]["files"]
    assert [(x["label"], x["size"]) for x in files] == [("big.bin", f.stat().st_size)]
