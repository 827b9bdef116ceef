"""prepare(): everything local about a dataset, without any server (the URL points nowhere)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from pathlib import Path

import pytest
from testkit.publishing import make_config, make_dataset

from maggot_zenodo.commands import check as checkcmd
from maggot_zenodo.publish.explain import Failure
from maggot_zenodo.publish.prepare import Plan, convert_dataset, load_site, prepare
from maggot_zenodo.state.journal import Journal

NOWHERE = "http://127.0.0.1:9"  # discard port: any request would fail loudly
TODAY = dt.date(2026, 1, 2)


@pytest.fixture
def config(tmp_path: Path):
    return make_config(tmp_path, tmp_path / "storage", NOWHERE)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324


def test_a_plan_holds_the_metadata_the_files_and_their_md5s(config, tmp_path: Path) -> None:
    folder = make_dataset(config.storage.root, "ds1", {"a.csv": "1,2\n", "sub/b.txt": "b"})
    plan = prepare(config, load_site(config), folder, with_files=True, today=TODAY, read_ahead=True)
    assert isinstance(plan, Plan) and plan.folder == folder
    assert plan.metadata["title"].startswith("ds1")
    assert plan.metadata["publication_date"] == "2026-01-02"
    assert [f.key for f in plan.files] == ["META_ds1.json", "a.csv", "b.txt"]
    assert plan.md5["a.csv"] == _md5(b"1,2\n") and plan.md5["b.txt"] == _md5(b"b")
    assert plan.wanted() == {f.key: plan.md5[f.key] for f in plan.files}
    assert {f["name"] for f in plan.file_list()} == {"META_ds1.json", "a.csv", "b.txt"}


def test_without_files_only_the_metadata_file_goes(config) -> None:
    folder = make_dataset(config.storage.root, "ds2", {"a.csv": "1\n"})
    plan = prepare(config, load_site(config), folder, with_files=False, today=TODAY)
    assert [f.key for f in plan.files] == ["META_ds2.json"] and not plan.with_files


def test_md5s_come_from_the_cache_when_the_file_is_unchanged(config, tmp_path: Path) -> None:
    folder = make_dataset(config.storage.root, "ds3", {"a.csv": "1\n"})
    journal = Journal(tmp_path / "j.db")
    try:
        first = prepare(
            config, load_site(config), folder, with_files=True, md5_cache=journal, read_ahead=True
        )
        f = next(f for f in first.files if f.key == "a.csv")
        assert journal.cached_md5(str(f.path), f.size, f.mtime_ns, f.ino) == _md5(b"1\n")
        journal.store_md5(str(f.path), f.size, f.mtime_ns, f.ino, "0" * 32)  # a marked value
        again = prepare(config, load_site(config), folder, with_files=True, md5_cache=journal)
        assert again.md5["a.csv"] == "0" * 32
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("files", "declared", "extra", "words"),
    [
        ({}, ["missing.csv"], {}, "declared but missing"),
        ({"a\nb.csv": "x"}, None, {}, "control character"),
        ({"a.csv": "x"}, None, {"license": "nonsense licence"}, "cannot go to Zenodo"),
        ({"a.csv": "x"}, None, {"description": ""}, "metadata cannot be read"),
    ],
)
def test_a_bad_dataset_is_a_failure_before_any_request(config, files, declared, extra, words):
    folder = make_dataset(config.storage.root, "bad", files, declared=declared, **extra)
    with pytest.raises(Failure) as info:
        prepare(config, load_site(config), folder, with_files=True)
    assert words in info.value.message and not info.value.retryable
    assert info.value.hint


def test_check_and_prepare_send_the_same_metadata(config) -> None:
    folder = make_dataset(config.storage.root, "same", {"a.csv": "1\n"})
    out, err = io.StringIO(), io.StringIO()
    assert checkcmd.run(config, folder, today=TODAY, out=out, err=err) == 0, err.getvalue()
    plan = prepare(config, load_site(config), folder, with_files=True, today=TODAY)
    assert json.loads(out.getvalue()) == {"metadata": dict(plan.metadata)}
    converted = convert_dataset(config, load_site(config), folder, today=TODAY)
    assert converted.metadata == plan.metadata and converted.warnings == plan.warnings


def test_check_refuses_a_file_name_with_a_tab(config) -> None:
    # 0.1.0: check passed it, then the publication failed after the deposition was created
    folder = make_dataset(config.storage.root, "tabbed", {"a\tb.csv": "1\n"})
    out, err = io.StringIO(), io.StringIO()
    assert checkcmd.run(config, folder, today=TODAY, out=out, err=err) == 1
    assert "control character" in err.getvalue() and "a\\tb.csv" in err.getvalue()
    assert out.getvalue() == ""
