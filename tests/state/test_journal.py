"""journal: a real SQLite file in WAL mode, shared by threads, surviving a reopen."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from maggot_zenodo.state.journal import Journal


def test_creates_parent_folders_and_uses_wal(tmp_path):
    path = tmp_path / "a" / "b" / "state.db"
    j = Journal(path)
    j.dataset("http://z", "site", "ds1", "/data/ds1")
    j.close()
    assert path.is_file()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_dataset_row_is_keyed_by_url_account_and_folder(tmp_path):
    j = Journal(tmp_path / "s.db")
    a = j.dataset("http://z", "site", "ds1", "/data/ds1")
    assert a.status == "queued" and a.deposition_id is None
    assert j.dataset("http://z", "site", "ds1", "/data/ds1").id == a.id
    assert j.dataset("http://other", "site", "ds1", "/data/ds1").id != a.id
    assert j.dataset("http://z", "user:bob", "ds1", "/data/ds1").id != a.id
    j.update(a.id, deposition_id=7, files=[{"name": "x", "size": 1, "md5": "m"}])
    assert j.get(a.id).deposition_id == 7
    assert j.get(a.id).file_list == [{"name": "x", "size": 1, "md5": "m"}]
    with pytest.raises(ValueError):
        j.update(a.id, folder="evil")


def test_is_pending_until_fingerprint_handled_and_survives_reopen(tmp_path):
    path = tmp_path / "s.db"
    j = Journal(path)
    row = j.dataset("http://z", "site", "ds1", str(tmp_path / "ds1"))
    assert j.is_pending(tmp_path / "ds1", "1:2:3", ["http://z"])
    j.update(row.id, handled_fingerprint="1:2:3")
    assert not j.is_pending(tmp_path / "ds1", "1:2:3", ["http://z"])
    assert j.is_pending(tmp_path / "ds1", "1:2:4", ["http://z"])
    assert j.is_pending(tmp_path / "other", "1:2:3", ["http://z"])
    j.close()
    j2 = Journal(path)
    assert not j2.is_pending(tmp_path / "ds1", "1:2:3", ["http://z"])


def test_with_two_repositories_a_semaphore_is_pending_until_both_handled_it(tmp_path):
    j = Journal(tmp_path / "s.db")
    folder = tmp_path / "ds1"
    both = ["http://z", "http://dv"]
    zen = j.dataset("http://z", "site", "ds1", str(folder))
    j.update(zen.id, handled_fingerprint="1:2:3")
    assert j.is_pending(folder, "1:2:3", both)
    assert not j.is_pending(folder, "1:2:3", ["http://z"])
    dv = j.dataset("http://dv", "dataverse-file:/t", "ds1", str(folder))
    j.update(dv.id, handled_fingerprint="1:2:2")  # an older request
    assert j.is_pending(folder, "1:2:3", both)
    j.update(dv.id, handled_fingerprint="1:2:3")
    assert not j.is_pending(folder, "1:2:3", both)
    assert j.handled_by(folder, "1:2:3") == {"http://z", "http://dv"}


def test_a_repository_added_later_takes_what_was_handled_as_old(tmp_path):
    j = Journal(tmp_path / "s.db")
    a, b = tmp_path / "a", tmp_path / "b"
    for folder, fingerprint in ((a, "1:1:1"), (b, "2:2:2")):
        row = j.dataset("http://z", "site", folder.name, str(folder))
        j.update(row.id, handled_fingerprint=fingerprint)
    assert j.add_repository("http://z", handled_are_old=True) == 0  # its own rows: an upgrade
    assert j.add_repository("http://z", handled_are_old=True) is None  # known
    assert j.add_repository("http://dv", handled_are_old=True) == 2
    both = ["http://z", "http://dv"]
    assert not j.is_pending(a, "1:1:1", both)
    assert j.is_pending(a, "1:1:9", both)  # touched since: a request for both
    assert j.add_repository("http://dv2", handled_are_old=False) == 0
    assert j.is_pending(b, "2:2:2", ["http://z", "http://dv2"])


def test_markers_uploaded_and_md5_cache(tmp_path):
    j = Journal(tmp_path / "s.db")
    row = j.dataset("http://z", "site", "ds", "/d")
    j.add_marker(row.id, "m1")
    j.add_marker(row.id, "m2")
    assert [m for m, _ in j.open_markers(row.id)] == ["m1", "m2"]
    j.resolve_marker("m1")
    assert [m for m, _ in j.open_markers(row.id)] == ["m2"]
    j.mark_uploaded(row.id, "a.csv", "aa", 3)
    j.mark_uploaded(row.id, "b.csv", "bb", 4)
    j.forget_uploaded(row.id, "a.csv")
    assert j.uploaded(row.id) == {"b.csv": "bb"}
    j.store_md5("/d/a", 10, 111, 5, "cafe")
    assert j.cached_md5("/d/a", 10, 111, 5) == "cafe"
    assert j.cached_md5("/d/a", 10, 112, 5) is None  # touched: read again
    assert j.cached_md5("/d/a", 10, 111, 6) is None  # replaced: read again


def test_steps_are_logged_and_bounded(tmp_path, monkeypatch):
    import maggot_zenodo.state.journal as journal_mod

    monkeypatch.setattr(journal_mod, "MAX_STEPS_PER_DATASET", 5)
    j = Journal(tmp_path / "s.db")
    row = j.dataset("http://z", "site", "ds", "/d")
    for i in range(12):
        j.step(row.id, "upload", "intent", {"i": i})
    steps = j.steps(row.id)
    assert len(steps) == 5
    assert steps[-1] == ("upload", "intent", '{"i": 11}')


def test_threads_each_get_a_connection(tmp_path):
    j = Journal(tmp_path / "s.db")
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            row = j.dataset("http://z", "site", f"ds{n}", f"/d{n}")
            for i in range(20):
                j.step(row.id, "s", "intent", str(i))
                j.update(row.id, deposition_id=i)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.folder for r in j.rows()) == ["ds0", "ds1", "ds2", "ds3"]
    assert all(r.deposition_id == 19 for r in j.rows())
    j.close()
    assert Path(tmp_path / "s.db").exists()


def test_record_deposition_resolves_the_marker_in_the_same_transaction(tmp_path):
    j = Journal(tmp_path / "s.db")
    row = j.dataset("http://z", "site", "ds1", "/data/ds1")
    j.add_marker(row.id, "m1")
    j.mark_uploaded(row.id, "old.csv", "md5", 1)
    j.update(row.id, metadata_hash="h")
    # the marker does not exist yet in another's eyes if the transaction fails midway
    with pytest.raises(ValueError):
        j.record_deposition(row.id, "m1", 41, folder="evil")
    assert j.open_markers(row.id) and j.get(row.id).deposition_id is None
    got = j.record_deposition(row.id, "m1", 42, bucket_url="http://z/b", deposit_url="http://z/d")
    assert (got.deposition_id, got.bucket_url, got.deposit_url) == (42, "http://z/b", "http://z/d")
    assert got.metadata_hash is None and j.uploaded(row.id) == {}
    assert j.open_markers(row.id) == []
    j.close()
    j2 = Journal(tmp_path / "s.db")  # committed on disk
    assert j2.get(row.id).deposition_id == 42 and j2.open_markers(row.id) == []


def test_rekey_moves_a_row_to_a_new_folder_with_its_uploads(tmp_path):
    j = Journal(tmp_path / "s.db")
    old = j.dataset("http://z", "site", "team1/ds1", "/data/team1/ds1")
    j.record_deposition(old.id, None, 7)
    j.mark_uploaded(old.id, "a.csv", "m", 1)
    new = j.dataset("http://z", "site", "archive/ds1", "/data/archive/ds1")
    j.step(new.id, "x", "intent")
    assert [r.id for r in j.with_deposition("http://z", "site", 7)] == [old.id]
    assert j.with_deposition("http://z", "other", 7) == []
    moved = j.rekey(old.id, new.id)
    assert (moved.id, moved.folder, moved.abs_folder) == (
        old.id,
        "archive/ds1",
        "/data/archive/ds1",
    )
    assert moved.deposition_id == 7 and j.uploaded(old.id) == {"a.csv": "m"}
    assert [r.folder for r in j.rows()] == ["archive/ds1"]
    assert ("x", "intent", None) in j.steps(old.id)
    with pytest.raises(ValueError):  # a row that knows a deposition is never replaced
        other = j.dataset("http://z", "site", "b", "/data/b")
        j.record_deposition(other.id, None, 8)
        j.rekey(old.id, other.id)
