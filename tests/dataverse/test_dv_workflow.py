"""The Dataverse deposit end to end: the ten samples against the emulator, exactly once."""

from __future__ import annotations

import time

import pytest
import yaml
from testkit import TOKEN
from testkit.dataverse import factory, folders, make_site

from maggot_zenodo.constants import DATAVERSE_STATUS_FILE
from maggot_zenodo.publish.dataverse_workflow import deposit_dataverse
from maggot_zenodo.state.journal import Journal


@pytest.fixture
def site(tmp_path, samples_dir, dv):
    config = make_site(tmp_path, samples_dir, dv)
    journal = Journal(config.state)
    yield config, journal
    journal.close()


def _run(config, journal, dv, folder, **kw):
    return deposit_dataverse(config, journal, folder, client_factory=factory(dv), **kw)


def _status(folder):
    return yaml.safe_load((folder / DATAVERSE_STATUS_FILE).read_text())


def test_ten_samples_go_once_and_a_second_run_writes_nothing(site, dv):
    config, journal = site
    outcomes = [_run(config, journal, dv, f) for f in folders(config)]
    assert [o.status for o in outcomes] == ["draft"] * 10, [o.error for o in outcomes]
    state = dv.state()
    assert len(state["datasets"]) == 10
    for ds in state["datasets"]:
        assert ds["versions"][-1]["license"] in (None, "etalab 2.0")
        assert ds["otherIds"][0][0] == "maggot-zenodo"
    status = _status(folders(config)[0])
    assert status["status"] == "draft"
    assert status["persistent_id"].startswith("doi:10.5072/FK2/")
    assert status["dataset_url"].startswith(dv.base_url + "/dataset.xhtml?persistentId=doi:")
    writes = state["requests"]["writes"]
    again = [_run(config, journal, dv, f) for f in folders(config)]
    assert [o.status for o in again] == ["draft"] * 10
    assert dv.state()["requests"]["writes"] == writes
    assert len(dv.state()["datasets"]) == 10


def test_files_go_byte_exact_with_folders_then_changes_and_removals(site, dv):
    config, journal = site
    folder = next(f for f in folders(config) if f.name == "frim1")
    (folder / "META_datafile_ok.txt").touch()
    assert _run(config, journal, dv, folder).status == "draft"
    files = dv.state()["datasets"][0]["versions"][-1]["files"]
    assert sorted(f["label"] for f in files) == [
        "META_frim1.json",
        "README.txt",
        "datapackage.json",
    ]
    (folder / "README.txt").write_text("changed\n")
    meta = folder / "META_frim1.json"
    meta.write_text(meta.read_text().replace('"location": "datapackage.json"', '"location": "x"'))
    out = _run(config, journal, dv, folder)
    assert out.status == "failed" and "x" in out.error  # a declared file that is missing
    meta.write_text(meta.read_text().replace('"location": "x"', '"location": "sub/dir/data.csv"'))
    (folder / "sub" / "dir").mkdir(parents=True)
    (folder / "sub" / "dir" / "data.csv").write_text("a,b\n1,2\n")
    assert _run(config, journal, dv, folder).status == "draft"
    files = dv.state()["datasets"][0]["versions"][-1]["files"]
    got = sorted((f["directoryLabel"], f["label"], f["size"]) for f in files)
    assert got == [
        ("", "META_frim1.json", meta.stat().st_size),
        ("", "README.txt", 8),
        ("sub/dir", "data.csv", 8),
    ]
    assert len(dv.state()["datasets"]) == 1


def test_publish_major_first_then_a_new_draft_and_version(tmp_path, samples_dir, dv):
    config = make_site(tmp_path, samples_dir, dv, publish=True)
    journal = Journal(config.state)
    folder = next(f for f in folders(config) if f.name == "Frimouss")
    out = _run(config, journal, dv, folder)
    assert out.status == "published", out.error
    assert _status(folder)["version"] == "1.0"
    meta = next(folder.glob("META_*.json"))
    meta.write_text(meta.read_text().replace('"fulltitle": "', '"fulltitle": "New: '))
    time.sleep(0.05)
    out = _run(config, journal, dv, folder)
    assert out.status == "published", out.error
    assert _status(folder)["version"] == "2.0"
    versions = dv.state()["datasets"][0]["versions"]
    assert [v["number"] for v in versions] == ["1.0", "2.0"]
    assert all(v["license"] == "etalab 2.0" for v in versions)
    journal.close()


def test_a_record_without_licence_is_not_published(tmp_path, samples_dir, dv):
    config = make_site(tmp_path, samples_dir, dv, publish=True)
    journal = Journal(config.state)
    folder = next(f for f in folders(config) if f.name == "Atacama")
    out = _run(config, journal, dv, folder)
    assert out.status == "failed" and "licence" in out.error
    assert dv.state()["datasets"] == [] and dv.state()["requests"]["writes"] == 0
    journal.close()


def test_a_contact_without_email_fails_alone_with_a_message(site, dv):
    config, journal = site
    folder = next(f for f in folders(config) if f.name == "frim1")
    meta = folder / "META_frim1.json"
    meta.write_text(meta.read_text().replace('"Gibon Yves"', '"Nobody Known"', 1))
    out = _run(config, journal, dv, folder)
    assert out.status == "failed"
    status = _status(folder)
    assert "Nobody Known" in status["error"] and "people.txt" in status["hint"]
    assert dv.state()["requests"]["writes"] == 0


def test_adopts_the_dataset_maggots_web_page_made(site, dv, dvc):
    from testkit.dataverse import field, minimal_version

    config, journal = site
    version = minimal_version(title="made by Maggot")
    version["metadataBlocks"]["citation"]["fields"].append(
        field(
            "otherId",
            [
                {
                    "otherIdAgency": field("otherIdAgency", "Maggot"),
                    "otherIdValue": field("otherIdValue", "frim1@2025"),
                }
            ],
            "compound",
            True,
        )
    )
    del version["license"]  # Maggot's update dropped it
    ref = dvc.create_dataset("maggot", {"datasetVersion": version})
    time.sleep(0.1)  # the index catches up
    folder = next(f for f in folders(config) if f.name == "frim1")
    assert _run(config, journal, dv, folder).status == "draft"
    state = dv.state()["datasets"]
    assert [d["id"] for d in state] == [ref.id]
    assert state[0]["versions"][-1]["license"] == "etalab 2.0"
    assert state[0]["versions"][-1]["title"] == "FRIM - Fruit Integrative Modelling"


def test_no_token_in_any_output(site, dv):
    import io
    import logging

    import structlog

    from maggot_zenodo.logs import setup_logging

    config, journal = site
    log = io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    setup_logging("debug", "json", stream=log)
    try:
        for f in folders(config)[:3]:
            _run(config, journal, dv, f)
    finally:
        structlog.reset_defaults()
        root.handlers[:], root.level = handlers, level
    assert "dataset done" in log.getvalue()  # the log was captured
    assert dv.state()["requests"]["key_in_query"] == 0
    texts = [log.getvalue()] + [
        (f / DATAVERSE_STATUS_FILE).read_text() for f in folders(config)[:3]
    ]
    texts.append(repr([r.__dict__ for r in journal.rows()]))
    assert all(TOKEN not in t for t in texts)
    state_dir = config.state.parent  # journal, WAL, locks, the blocks cache
    for path in [*state_dir.rglob("*"), *config.storage.root.rglob("META_*")]:
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), path


def test_a_moved_folder_keeps_its_dataset_and_a_copy_gets_its_own(site, dv):
    config, journal = site
    folder = next(f for f in folders(config) if f.name == "frim1")
    first = _run(config, journal, dv, folder)
    assert _status(folder)["dataset_id"] == first.deposition_id
    moved = folder.parent / "frim1-moved"
    folder.rename(moved)
    again = _run(config, journal, dv, moved)
    assert again.deposition_id == first.deposition_id and len(dv.state()["datasets"]) == 1
    other = dv.state()["datasets"][0]["otherIds"]
    assert other == [["maggot-zenodo", "frim1-moved"]]  # the stable marker follows the folder
    import shutil

    copy = moved.parent / "frim1-copy"
    shutil.copytree(moved, copy)
    third = _run(config, journal, dv, copy)
    assert third.deposition_id != first.deposition_id and len(dv.state()["datasets"]) == 2


def test_check_uses_the_blocks_a_deposit_cached(site, dv):
    from maggot_zenodo.publish.dataverse_plan import check_conversion

    config, journal = site
    folder = next(f for f in folders(config) if f.name == "frim1")
    requests = dv.state()["requests"]["total"]
    before = check_conversion(config, folder)
    assert before.ok and before.blocks_origin == "built-in stock blocks"
    assert dv.state()["requests"]["total"] == requests  # check made no request
    _run(config, journal, dv, folder)
    after = check_conversion(config, folder)
    assert after.ok and after.blocks_origin.startswith("cached in ")
    assert after.create_body() == before.create_body()


def test_a_revoked_token_fails_retryably_in_dataverse_words(tmp_path, samples_dir, dv):
    from testkit import OTHER_TOKEN

    config = make_site(tmp_path, samples_dir, dv)
    journal = Journal(config.state)
    folder = next(f for f in folders(config) if f.name == "frim1")
    assert _run(config, journal, dv, folder).status == "draft"
    (tmp_path / "dv-token").write_text(OTHER_TOKEN)  # another account's token
    out = _run(config, journal, dv, folder)
    assert out.status == "failed" and out.retryable
    assert "Dataverse refused access" in out.error and "dataverse.token" in out.hint
    assert len(dv.state()["datasets"]) == 1
    journal.close()
