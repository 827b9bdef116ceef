"""journal: a real SQLite file in WAL mode, shared by threads, surviving a reopen."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from maggot_zenodo.journal import Journal


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
    assert j.is_pending(tmp_path / "ds1", "1:2:3")
    j.update(row.id, handled_fingerprint="1:2:3")
    assert not j.is_pending(tmp_path / "ds1", "1:2:3")
    assert j.is_pending(tmp_path / "ds1", "1:2:4")
    assert j.is_pending(tmp_path / "other", "1:2:3")
    j.close()
    j2 = Journal(path)
    assert not j2.is_pending(tmp_path / "ds1", "1:2:3")


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
    import maggot_zenodo.journal as journal_mod

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
