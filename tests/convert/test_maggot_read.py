"""Reading a dataset folder: every way a Maggot metadata file can be wrong fails clearly."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from maggot_zenodo.convert.maggot import (
    Dataset,
    SiteError,
    find_metadata_file,
    load_site,
    local_resources,
    parse_metadata,
    read_dataset,
    validate_record,
)
from maggot_zenodo.convert.problems import DatasetError, Problem

GOOD = {
    "profile": "https://example.org/maggot-schema.json",
    "title": "toy",
    "fulltitle": "A toy dataset for tests",
    "subject": ["Chemistry"],
    "description": "Numbers.",
    "contacts": ["Jacob Daniel"],
    "authors": ["Jacob Daniel"],
    "kindOfData": ["Dataset"],
}
SITE = load_site(None, None)


def write(folder: Path, name: str, content: bytes | str | dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if isinstance(content, dict):
        content = json.dumps(content, ensure_ascii=False)
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def problems_of(folder: Path, **kw) -> list[Problem]:
    with pytest.raises(DatasetError) as info:
        read_dataset(folder, site=kw.pop("site", SITE), **kw)
    assert str(info.value)  # str() lists the problems
    return list(info.value.problems)


def test_reads_the_one_metadata_file_ignoring_what_this_tool_writes(tmp_path: Path) -> None:
    write(tmp_path, "META_toy.json", GOOD)
    write(tmp_path, "META_zenodo.txt", "status: draft\n")
    write(tmp_path, "META_datafile_ok.txt", "")
    write(tmp_path, "META_other.json.tmp", "{}")
    ds = read_dataset(tmp_path, site=SITE)
    assert isinstance(ds, Dataset)
    assert ds.metadata_file == tmp_path / "META_toy.json"
    assert ds.record["title"] == "toy"


def test_no_metadata_file(tmp_path: Path) -> None:
    (p,) = problems_of(tmp_path)
    assert "no Maggot metadata file" in p.message and p.hint


def test_several_metadata_files_are_named(tmp_path: Path) -> None:
    write(tmp_path, "META_a.json", GOOD)
    write(tmp_path, "META_b.json", GOOD)
    (p,) = problems_of(tmp_path)
    assert "META_a.json" in p.message and "META_b.json" in p.message


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"cannot be listed|not a folder"):
        find_metadata_file(tmp_path / "nope")


def test_invalid_json_gives_line_and_column(tmp_path: Path) -> None:
    write(tmp_path, "META_x.json", '{\n  "title": "x",\n  "oops"\n}')
    (p,) = problems_of(tmp_path)
    assert "line 4, column 1" in p.message and p.field == "META_x.json"


def test_not_an_object(tmp_path: Path) -> None:
    write(tmp_path, "META_x.json", "[1, 2]")
    (p,) = problems_of(tmp_path)
    assert "not a JSON object" in p.message


def test_size_limit_checked_before_reading(tmp_path: Path) -> None:
    write(tmp_path, "META_x.json", {**GOOD, "description": "x" * 5000})
    (p,) = problems_of(tmp_path, max_size=1000)
    assert "more than the 1000-byte limit" in p.message


def test_not_utf8(tmp_path: Path) -> None:
    write(
        tmp_path, "META_x.json", json.dumps(GOOD).replace("Numbers.", "Num\xe9").encode("latin-1")
    )
    (p,) = problems_of(tmp_path)
    assert "not UTF-8" in p.message


def test_utf8_bom_is_fine(tmp_path: Path) -> None:
    write(tmp_path, "META_x.json", b"\xef\xbb\xbf" + json.dumps(GOOD).encode())
    assert read_dataset(tmp_path, site=SITE).record["title"] == "toy"


def test_symlinked_metadata_is_refused(tmp_path: Path) -> None:
    real = write(tmp_path / "elsewhere", "META_real.json", GOOD)
    (tmp_path / "ds").mkdir()
    os.symlink(real, tmp_path / "ds" / "META_x.json")
    (p,) = problems_of(tmp_path / "ds")
    assert "symbolic link" in p.message


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "META_x.json")
    (p,) = problems_of(tmp_path)
    assert "not a regular file" in p.message


def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "META_x.json", GOOD)
    path.chmod(0)
    if os.access(path, os.R_OK):
        pytest.skip("running as root: permissions do not apply")
    (p,) = problems_of(tmp_path)
    assert "cannot be read" in p.message


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 50 + "1" + "}" * 50,
        '{"title": NaN}',
        '{"title": "\\ud800"}',
    ],
)
def test_hostile_content_fails_with_a_message(text: str) -> None:
    with pytest.raises(DatasetError) as info:
        parse_metadata(text.encode(), "META_x.json")
    assert info.value.problems[0].message


def test_schema_errors_in_a_researchers_words() -> None:
    record = {**GOOD, "authors": [], "subject": ["Biology"]}
    del record["contacts"]
    found = {(p.field, p.message) for p in validate_record(record, SITE.schema)}
    assert ("authors", "at least one author is required") in found
    assert ("contacts", "at least one contact is required") in found
    (enum,) = [m for f, m in found if f == "subject[0]"]
    assert enum.startswith('"Biology" is not one of Maggot\'s subjects: Agricultural Sciences, ')


def test_wrong_types_are_named() -> None:
    found = {p.field: p.message for p in validate_record({**GOOD, "title": 3}, SITE.schema)}
    assert found == {"title": "expected text, found a number"}


def test_local_resources_are_the_non_urls() -> None:
    record = {
        "resources": [
            {"location": "data.csv"},
            {"location": "https://x.org/a"},
            {"location": "sub/b.txt"},
            {"location": ""},
            "junk",
            {"x": 1},
        ]
    }
    assert local_resources(record) == ["data.csv", "sub/b.txt"]
    assert local_resources({"resources": "nope"}) == []


def test_local_locations_keep_their_spaces_exactly() -> None:
    """A file may be named " spaced .csv": the location is the name, spaces and all (#15)."""
    names = [" spaced .csv", "trailing.csv  ", "\tlead tab.txt", "in  side.txt"]
    record = {"resources": [{"datatype": "Dataset", "location": n} for n in names]}
    record["resources"].append({"location": "   "})  # a blank row of Maggot's form
    assert local_resources(record) == names
    assert local_resources(record)[0].encode() == b" spaced .csv"


def test_a_dataset_error_is_a_user_error() -> None:
    from maggot_zenodo.errors import UserError

    problems = [Problem("title", "is missing", "fill it"), Problem("", "bad", "")]
    err = DatasetError(problems)
    assert isinstance(err, UserError) and not err.retryable
    assert err.problems == tuple(problems)
    assert str(err) == "title: is missing (hint: fill it)\nbad" == err.message
    single = DatasetError(problems[0])
    assert single.problems == (problems[0],) and str(single) == "title: is missing (hint: fill it)"


def test_site_files_are_read(samples_dir: Path) -> None:
    site = load_site(samples_dir / "maggot-site/conf", samples_dir / "maggot-site/cvlist")
    assert any(r.type == "communities" for r in site.definition)
    assert site.dictionaries["people"][0][:2] == ("Einstein", "Albert")
    assert site.dictionaries["grant"][0][:3] == ("MetaboHub", "ANR", "ANR-11-INBS-0010")
    assert site.schema["$id"].endswith("maggot-schema.json")


def test_broken_definition_file_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "zenodo.txt", "Field\tType\tLevel\tArray\n\ttitle\tzero\tFALSE\n")
    with pytest.raises(SiteError) as info:
        load_site(tmp_path, None)
    assert "line 2" in info.value.problems[0].field


def test_sample_records_pass_both_schemas(samples_dir: Path) -> None:
    site = load_site(samples_dir / "maggot-site/conf", None)
    folders = sorted(p.parent for p in (samples_dir / "storage").rglob("META_*.json"))
    assert len(folders) == 10
    for folder in folders:
        assert read_dataset(folder, site=site).record
        assert read_dataset(folder, site=SITE).record
