"""The exactly-once workflow against the emulator over loopback, with real files and SQLite."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from testkit import spawned_emulator
from testkit.publishing import (
    SEMAPHORE,
    copy_samples,
    direct_client,
    expected_files,
    held_files,
    make_config,
    make_dataset,
    publisher,
    until_ok,
)

from maggot_zenodo.publish.datafiles import local_locations
from maggot_zenodo.publish.workflow import MARKER_PREFIX
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)


@pytest.fixture
def emu(emulator):
    emulator.reset()
    return emulator


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


def _setup(tmp_path, root, emu, **zenodo):
    config = make_config(tmp_path, root, emu.base_url, **zenodo)
    journal = Journal(config.state)
    return config, journal, publisher(config, journal)


def test_ten_samples_end_to_end_then_a_second_run_writes_nothing(tmp_path, emu, samples_dir):
    root = tmp_path / "storage"
    folders = copy_samples(samples_dir, root)
    assert len(folders) == 10
    _config, journal, pub = _setup(tmp_path, root, emu)
    started = time.monotonic()
    outcomes = [pub.publish(f) for f in folders]
    first_time = time.monotonic() - started
    first = emu.state()["requests"]
    assert [o.status for o in outcomes] == ["draft"] * 10, [o.error for o in outcomes]
    deps = {d["id"]: d for d in emu.depositions()}
    assert len(deps) == 10
    for folder, outcome in zip(folders, outcomes, strict=True):
        meta = json.loads(next(folder.glob("META_*.json")).read_text())
        dep = deps[outcome.deposition_id]
        assert held_files(dep) == expected_files(folder, local_locations(meta))
        assert MARKER_PREFIX not in str(dep["metadata"].get("notes", ""))
        status = statusfile.read(folder)
        assert status["status"] == "draft"
        assert status["deposit_url"] == outcome.deposit_url
        assert status["deposition_id"] == outcome.deposition_id
        assert {f["name"] for f in status["files"]} == set(held_files(dep))
        assert not journal.is_pending(
            folder, semaphore_fingerprint(folder / SEMAPHORE), [pub.config.zenodo.url]
        )
    started = time.monotonic()
    again = [pub.publish(f) for f in folders]
    second_time = time.monotonic() - started
    second = emu.state()["requests"]
    assert [o.deposition_id for o in again] == [o.deposition_id for o in outcomes]
    assert second["writes"] == first["writes"]  # nothing sent but GETs
    assert second["total"] - first["total"] == 10  # one GET per dataset
    print(
        f"\nten samples: {first['total']} requests ({first['total'] / 10:.1f}/dataset, "
        f"{first['writes']} writes) in {first_time:.2f} s; second run: "
        f"{second['total'] - first['total']} requests, 0 writes, in {second_time:.2f} s"
    )


def test_changed_file_is_uploaded_again_and_removed_resource_deleted(tmp_path, emu, root):
    files = {"a.csv": "1,2\n", "b.csv": "3,4\n", "sub/c.csv": "5,6\n"}
    folder = make_dataset(root, "ds", files)
    _config, journal, pub = _setup(tmp_path, root, emu)
    out = pub.publish(folder)
    assert out.status == "draft"
    before = emu.state()["requests"]
    (folder / "a.csv").write_text("1,2\n9,9\n")
    meta = folder / "META_ds.json"
    rec = json.loads(meta.read_text())
    rec["resources"] = [r for r in rec["resources"] if r["location"] != "b.csv"]
    meta.write_text(json.dumps(rec))
    (folder / SEMAPHORE).touch()
    n_steps = len(journal.steps(journal.rows()[0].id))
    assert pub.publish(folder).status == "draft"
    after = emu.state()["requests"]
    by = {
        m: after["by_method"].get(m, 0) - before["by_method"].get(m, 0) for m in after["by_method"]
    }
    steps = journal.steps(journal.rows()[0].id)[n_steps:]
    uploads = [json.loads(d)["key"] for s, p, d in steps if (s, p) == ("upload", "result")]
    # a.csv and the metadata file (its bytes changed); sub/c.csv untouched; b.csv deleted
    assert sorted(uploads) == ["META_ds.json", "a.csv"]
    metadata_puts = sum(1 for s, p, _ in steps if (s, p) == ("metadata", "result"))
    assert by.get("PUT") == 2 + metadata_puts
    assert by.get("DELETE") == 1 and by.get("POST", 0) == 0
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, ["a.csv", "sub/c.csv"])


def test_publish_records_doi_and_a_retrigger_makes_a_full_new_version(tmp_path, emu, root):
    folder = make_dataset(root, "pub", {"data.csv": "x\n1\n"})
    _config, _journal, pub = _setup(tmp_path, root, emu, publish=True)
    out = pub.publish(folder)
    assert out.status == "published" and out.doi
    status = statusfile.read(folder)
    assert status["status"] == "published" and status["doi"] == out.doi
    assert status["concept_doi"] and status["record_url"]
    writes = emu.writes()
    (folder / SEMAPHORE).touch()
    assert pub.publish(folder).status == "published"
    assert emu.writes() == writes  # nothing changed: no new version
    (folder / "data.csv").write_text("x\n1\n2\n")
    (folder / SEMAPHORE).touch()
    out2 = pub.publish(folder)
    assert out2.status == "published" and out2.deposition_id != out.deposition_id
    assert out2.doi and out2.doi != out.doi
    deps = {d["id"]: d for d in emu.depositions()}
    old, new = deps[out.deposition_id], deps[out2.deposition_id]
    assert old["conceptrecid"] == new["conceptrecid"]
    assert new["state"] == "done"
    for key in ("title", "creators", "description", "license", "upload_type"):
        assert new["metadata"].get(key) == old["metadata"].get(key), key
    assert held_files(new) == expected_files(folder, ["data.csv"])
    assert statusfile.read(folder)["doi"] == out2.doi


def test_published_on_zenodo_by_the_researcher_then_changed(tmp_path, emu, root):
    folder = make_dataset(root, "byhand", {"d.csv": "1\n"})
    _config, _journal, pub = _setup(tmp_path, root, emu)
    out = pub.publish(folder)
    client = direct_client(emu.base_url)
    client.publish(out.deposition_id)
    (folder / SEMAPHORE).touch()
    again = pub.publish(folder)
    assert again.status == "published" and again.doi  # noticed by a GET, nothing written
    (folder / "d.csv").write_text("2\n")
    (folder / SEMAPHORE).touch()
    third = pub.publish(folder)
    assert third.status == "draft" and third.deposition_id != out.deposition_id
    assert len(emu.depositions()) == 2
    client.close()


def test_deleted_deposition_is_created_anew_and_inprogress_is_left_alone(tmp_path, emu, root):
    folder = make_dataset(root, "gone", {"d.csv": "1\n"})
    _config, journal, pub = _setup(tmp_path, root, emu)
    out = pub.publish(folder)
    client = direct_client(emu.base_url)
    client.delete(out.deposition_id)
    (folder / SEMAPHORE).touch()
    out2 = pub.publish(folder)
    assert out2.status == "draft" and out2.deposition_id != out.deposition_id
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, ["d.csv"])
    client.publish(out2.deposition_id)
    client.edit(out2.deposition_id)
    (folder / "d.csv").write_text("changed\n")
    (folder / SEMAPHORE).touch()
    out3 = pub.publish(folder)
    assert out3.status == "failed" and not out3.retryable
    assert "being edited" in statusfile.read(folder)["error"]
    # a non-retryable failure is handled: the daemon does not retry it in a loop
    assert not journal.is_pending(
        folder, semaphore_fingerprint(folder / SEMAPHORE), [pub.config.zenodo.url]
    )
    client.close()


def test_a_create_whose_answer_was_lost_is_adopted_not_repeated(tmp_path, emu, root):
    folder = make_dataset(root, "lost", {"d.csv": "1\n"})
    config, journal, pub = _setup(tmp_path, root, emu)
    # The state a crash leaves between the POST and the journal write: marker journaled,
    # deposition created on Zenodo, its id unknown to us.
    row = journal.dataset(config.zenodo.url, "site", "lost", str(folder))
    marker = f"{MARKER_PREFIX}{uuid.uuid4()}"
    journal.add_marker(row.id, marker)
    client = direct_client(emu.base_url)
    created = client.create({"notes": marker, "upload_type": "dataset"})
    client.close()
    out = pub.publish(folder)
    assert out.status == "draft" and out.deposition_id == created.id
    [dep] = emu.depositions()
    assert MARKER_PREFIX not in str(dep["metadata"].get("notes", ""))


def test_after_commit_on_every_create_still_one_deposition(tmp_path, emu, root):
    folder = make_dataset(root, "ac", {"d.csv": "1\n"})
    _config, _journal, pub = _setup(tmp_path, root, emu)
    emu.set_faults(rate=1.0, kinds=["after_commit"], methods=["POST"], match="/deposit/depositions")
    out = pub.publish(folder)
    emu.set_faults(rate=0.0, kinds=[])
    assert out.status == "draft", out
    assert len(emu.depositions()) == 1
    assert held_files(emu.depositions()[0]) == expected_files(folder, ["d.csv"])


@pytest.mark.parametrize("seed", [7, 8, 9])
def test_every_fault_kind_at_20_percent_still_exactly_once(tmp_path, emu, root, seed):
    datasets = {
        f"f{i}": make_dataset(root, f"f{i}", {f"d{j}.bin": bytes([i, j]) * 5000 for j in range(3)})
        for i in range(6)
    }
    config = make_config(tmp_path, root, emu.base_url, publish=True)
    journal = Journal(config.state)
    pub = publisher(config, journal)
    emu.set_faults(
        rate=0.2,
        kinds=["500", "502", "503", "504", "429", "reset", "reset_mid_upload", "slow",
               "after_commit"],
        seed=seed,
        delay=[0.01, 0.05],
    )  # fmt: skip
    outcomes = {name: until_ok(pub, folder)[0] for name, folder in datasets.items()}
    emu.set_faults(rate=0.0, kinds=[])
    state = emu.state()
    assert state["faults"]["total"] >= 3
    deps = state["depositions"]
    assert len(deps) == len(datasets)
    by_id = {d["id"]: d for d in deps}
    for name, folder in datasets.items():
        dep = by_id[outcomes[name].deposition_id]
        assert dep["state"] == "done"
        assert held_files(dep) == expected_files(folder, ["d0.bin", "d1.bin", "d2.bin"])


def test_hostile_datasets_fail_alone_and_nothing_outside_is_sent(tmp_path, emu, root):
    import os

    secret = tmp_path / "secret.txt"
    secret.write_text("the sysadmin's secret\n")
    good = make_dataset(root, "good", {"ok.csv": "1\n"})
    bad = {
        "traversal": make_dataset(root, "traversal", {"x.csv": "1"}, declared=["../../secret.txt"]),
        "absolute": make_dataset(root, "absolute", {"x.csv": "1"}, declared=[str(secret)]),
        "escape": make_dataset(root, "escape", {}, declared=["link.txt"]),
        "missing": make_dataset(root, "missing", {}, declared=["nothere.csv"]),
        "dupes": make_dataset(root, "dupes", {"a/x.csv": "1", "b/x.csv": "2"}),
        "fifo": make_dataset(root, "fifo", {}, declared=["pipe.csv"]),
        "directory": make_dataset(root, "directory", {"d/f": "1"}, declared=["d"]),
        "semlink": make_dataset(root, "semlink", {"x.csv": "1"}, semaphore=False),
    }
    for name, text in {"badjson": "{not json", "deep": "[" * 5000 + "]" * 5000}.items():
        bad[name] = make_dataset(root, name, {})
        (bad[name] / f"META_{name}.json").write_text(text)
    bad["types"] = make_dataset(root, "types", {}, authors="not a list", kindOfData=7)
    (bad["escape"] / "link.txt").symlink_to(secret)
    os.mkfifo(bad["fifo"] / "pipe.csv")  # as root, chmod 000 reads fine: a FIFO cannot
    (tmp_path / "elsewhere").write_text("")
    (bad["semlink"] / SEMAPHORE).symlink_to(tmp_path / "elsewhere")
    _config, _journal, pub = _setup(tmp_path, root, emu)
    for name, folder in bad.items():
        out = pub.publish(folder)
        assert out.status == "failed" and not out.retryable, name
        status = statusfile.read(folder)
        assert status["status"] == "failed" and status["error"] and status["hint"], name
        assert "Traceback" not in status["error"]
    assert pub.publish(good).status == "draft"
    state = emu.state()
    assert len(state["depositions"]) == 1  # refused before any request
    assert state["requests"]["by_method"].get("POST") == 1
    sent = {f["checksum"] for d in state["depositions"] for f in d["files"]}
    assert not any(c.endswith(_md5(secret)) for c in sent)


def _md5(path: Path) -> str:
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324


def test_without_semaphore_only_the_metadata_file_goes(tmp_path, emu, root):
    folder = make_dataset(root, "nosem", {"d.csv": "1\n"}, semaphore=False)
    _config, _journal, pub = _setup(tmp_path, root, emu)
    assert pub.publish(folder).status == "draft"
    [dep] = emu.depositions()
    assert list(held_files(dep)) == ["META_nosem.json"]


def test_removing_the_semaphore_keeps_the_data_files_already_sent(tmp_path, emu, root):
    folder = make_dataset(root, "keep", {"d.csv": "1\n"})
    _config, _journal, pub = _setup(tmp_path, root, emu)
    assert pub.publish(folder).status == "draft"
    (folder / SEMAPHORE).unlink()
    writes = emu.writes()
    assert pub.publish(folder).status == "draft"
    assert emu.writes() == writes
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, ["d.csv"])


def test_stop_event_checkpoints_with_a_retryable_outcome(tmp_path, emu, root):
    import threading

    folder = make_dataset(root, "stop", {"d.csv": "1\n"})
    config = make_config(tmp_path, root, emu.base_url)
    journal = Journal(config.state)
    stop = threading.Event()
    stop.set()
    out = publisher(config, journal, stop=stop).publish(folder)
    assert out.status == "failed" and out.retryable
    assert emu.writes() == 0
    assert journal.is_pending(folder, "anything", [config.zenodo.url])
    assert publisher(config, journal).publish(folder).status == "draft"


def test_one_process_at_a_time_per_dataset(tmp_path, emu, root):
    import os

    folder = make_dataset(root, "locked", {"d.csv": "1\n"})
    _config, _journal, pub = _setup(tmp_path, root, emu)
    held = pub._lock(folder)  # as another worker or `maggot-zenodo publish` would hold it
    assert held is not None
    out = pub.publish(folder)
    assert out.status == "failed" and out.retryable and "Another" in out.error
    assert emu.writes() == 0
    os.close(held)
    assert pub.publish(folder).status == "draft"


def test_a_resource_removed_after_publication_is_absent_from_the_new_version(tmp_path, emu, root):
    folder = make_dataset(root, "shrink", {"keep.csv": "1\n", "drop.csv": "2\n"})
    _config, _journal, pub = _setup(tmp_path, root, emu, publish=True)
    first = pub.publish(folder)
    assert first.status == "published"
    meta = folder / "META_shrink.json"
    rec = json.loads(meta.read_text())
    rec["resources"] = [r for r in rec["resources"] if r["location"] != "drop.csv"]
    meta.write_text(json.dumps(rec))
    (folder / SEMAPHORE).touch()
    second = pub.publish(folder)
    assert second.status == "published" and second.deposition_id != first.deposition_id
    new = {d["id"]: d for d in emu.depositions()}[second.deposition_id]
    assert held_files(new) == expected_files(folder, ["keep.csv"])
