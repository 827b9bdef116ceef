"""Adoption by title (#9): a deposition Maggot's own Publish page made is adopted, not
duplicated; several are never guessed between; another dataset's record is never taken."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from testkit import spawned_emulator
from testkit.publishing import (
    direct_client,
    make_config,
    make_dataset,
    publisher,
    write_config_file,
)

from maggot_zenodo.publish.prepare import load_site, prepare
from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)


@pytest.fixture
def emu(emulator):
    emulator.reset()
    return emulator


@pytest.fixture
def env(tmp_path, emu):
    root = tmp_path / "storage"
    root.mkdir()
    config = make_config(tmp_path, root, emu.base_url)
    journal = Journal(config.state)
    yield root, config, journal
    journal.close()


def _maggot_made(config, folder, *, publish=False, **changes) -> int:
    """A deposition as Maggot's web page would have made it: the dataset's metadata."""
    metadata = dict(prepare(config, load_site(config), folder, with_files=False).metadata)
    metadata.update(changes)
    client = direct_client(config.zenodo.url)
    try:
        dep = client.create(metadata)
        if publish:
            client.upload(client.get(dep.id).bucket, folder / f"META_{folder.name}.json", "m.json")
            client.publish(dep.id)
        return dep.id
    finally:
        client.close()


def test_a_draft_made_by_maggot_is_adopted_and_completed(env, emu):
    root, config, journal = env
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    theirs = _maggot_made(config, folder)
    out = publisher(config, journal).publish(folder)
    assert out.status == "draft" and out.deposition_id == theirs, out
    [dep] = emu.depositions()
    assert {f["filename"] for f in dep["files"]} == {"META_ds.json", "a.csv"}


def test_a_published_record_made_by_maggot_gets_a_new_version(env, emu):
    root, config, journal = env
    folder = make_dataset(root, "pub", {"a.csv": "1\n"})
    theirs = _maggot_made(config, folder, publish=True)
    out = publisher(config, journal).publish(folder)
    assert out.status == "draft" and out.deposition_id != theirs, out
    deps = {d["id"]: d for d in emu.depositions()}
    assert (
        len(deps) == 2 and deps[out.deposition_id]["conceptrecid"] == deps[theirs]["conceptrecid"]
    )


def test_other_creators_or_another_datasets_record_are_not_adopted(env, emu):
    root, config, journal = env
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    stranger = _maggot_made(config, folder, creators=[{"name": "Someone, Else"}])
    out = publisher(config, journal).publish(folder)
    assert out.status == "draft" and out.deposition_id != stranger
    # a second folder with the same title and creators: the first one's record is its own
    twin = make_dataset(root / "elsewhere", "ds", {"a.csv": "1\n"})
    again = publisher(config, journal).publish(twin)
    assert again.status == "draft" and again.deposition_id not in (stranger, out.deposition_id)
    assert len(emu.depositions()) == 3


def test_adopt_never_creates(env, emu, tmp_path):
    root, config, _journal = env
    (tmp_path / "n").mkdir()
    never = make_config(tmp_path / "n", root, emu.base_url, adopt="never")
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    theirs = _maggot_made(config, folder)
    journal = Journal(never.state)
    try:
        out = publisher(never, journal).publish(folder)
    finally:
        journal.close()
    assert out.deposition_id != theirs and len(emu.depositions()) == 2


def test_several_candidates_fail_and_adopt_settles_it(env, emu, tmp_path):
    root, config, journal = env
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    first, second = _maggot_made(config, folder), _maggot_made(config, folder)
    out = publisher(config, journal).publish(folder)
    assert out.status == "failed" and not out.retryable, out
    assert str(first) in out.error and str(second) in out.error
    assert "maggot-zenodo adopt" in out.hint and len(emu.depositions()) == 2
    cfg = write_config_file(tmp_path, config)
    cli = [sys.executable, "-m", "maggot_zenodo"]
    res = subprocess.run(
        [*cli, "adopt", str(folder), str(second), "--config", str(cfg)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    assert f"tied to deposition {second}" in res.stdout
    os.utime(folder / "META_datafile_ok.txt")
    done = publisher(config, journal).publish(folder)
    assert done.status == "draft" and done.deposition_id == second, done
    assert len(emu.depositions()) == 2
    # adopting a deposition of other creators is refused
    other = make_dataset(root, "other", {"b.csv": "2\n"})
    res = subprocess.run(
        [*cli, "adopt", str(other), str(first), "--config", str(cfg)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 1 and "not adopted" in res.stdout, res.stdout
    assert len(emu.depositions()) == 2


def test_a_lost_journal_and_status_file_republish_nothing(env, emu, tmp_path):
    # #9: "a run after the journal is deleted: no new deposition" (0.1.0: a second DOI)
    root, _config, _journal = env
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    (tmp_path / "p").mkdir()
    published = make_config(tmp_path / "p", root, emu.base_url, publish=True)
    first_journal = Journal(published.state)
    try:
        first = publisher(published, first_journal).publish(folder)
    finally:
        first_journal.close()
    assert first.status == "published", first
    os.unlink(published.state)
    (folder / "META_zenodo.txt").unlink()
    writes = emu.writes()
    fresh = Journal(published.state)
    try:
        again = publisher(published, fresh).publish(folder)
    finally:
        fresh.close()
    assert again.status == "published" and again.deposition_id == first.deposition_id, again
    assert len(emu.depositions()) == 1 and emu.writes() == writes
