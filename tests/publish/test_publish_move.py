"""Folders moved, renamed or copied inside the storage; unusable lock and dataset folders;
what a researcher reads in META_zenodo.txt. Real emulator on loopback, real SQLite."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import pytest
import yaml
from testkit import spawned_emulator
from testkit.publishing import (
    expected_files,
    held_files,
    make_config,
    make_dataset,
    publisher,
    token_file,
)

from maggot_zenodo.config import parse_config
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)

FILES = {"a.csv": "x\n1\n", "sub/b.csv": "y\n2\n"}


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
    yield root, config, journal, publisher(config, journal)
    journal.close()


def _moved(env, emu, src: str, dst: str) -> None:
    root, _config, journal, pub = env
    folder = make_dataset(root / os.path.dirname(src), os.path.basename(src), FILES)
    first = pub.publish(folder)
    assert first.status == "draft", first
    (root / dst).parent.mkdir(parents=True, exist_ok=True)
    os.rename(folder, root / dst)
    (root / dst / "a.csv").write_text("x\n1\n3\n")  # and a change, to be synced
    again = pub.publish(root / dst)
    assert again.status == "draft" and again.deposition_id == first.deposition_id, again
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(root / dst, ["a.csv", "sub/b.csv"])
    [row] = journal.rows()
    assert row.folder == dst and row.abs_folder == str(root / dst)
    assert set(journal.uploaded(row.id)) >= {"a.csv", "b.csv"}  # its upload records kept
    assert statusfile.read(root / dst)["deposition_id"] == first.deposition_id


def test_a_moved_dataset_keeps_its_deposition(env, emu):
    _moved(env, emu, "team1/ds1", "archive/ds1")


def test_a_renamed_dataset_keeps_its_deposition(env, emu):
    _moved(env, emu, "team1/ds1", "team1/ds1-final")


def test_a_copied_dataset_gets_its_own_deposition(env, emu):
    root, _config, journal, pub = env
    folder = make_dataset(root / "team1", "ds1", FILES)
    first = pub.publish(folder)
    shutil.copytree(folder, root / "team1" / "ds2")  # META_zenodo.txt copied along
    assert statusfile.read(root / "team1" / "ds2")["deposition_id"] == first.deposition_id
    copy = pub.publish(root / "team1" / "ds2")
    assert copy.status == "draft" and copy.deposition_id not in (None, first.deposition_id)
    assert len(emu.depositions()) == 2
    rows = {r.folder: r.deposition_id for r in journal.rows()}
    assert rows == {"team1/ds1": first.deposition_id, "team1/ds2": copy.deposition_id}
    # the original still works on its own deposition
    assert pub.publish(folder).deposition_id == first.deposition_id
    assert len(emu.depositions()) == 2


def test_a_lost_journal_readopts_the_verified_deposition(tmp_path, env, emu):
    # 0.1.0 made a second deposition here (this test asserted it); #15: a deposition that is
    # verifiably this dataset's (same account, title and creators) is adopted again
    root, config, journal, pub = env
    folder = make_dataset(root, "ds1", FILES)
    first = pub.publish(folder)
    journal.close()
    os.unlink(config.state)  # the journal is lost; the status file still names the deposition
    writes = emu.writes()
    fresh = Journal(config.state)
    try:
        again = publisher(config, fresh).publish(folder)
    finally:
        fresh.close()
    assert again.status == "draft" and again.deposition_id == first.deposition_id
    assert len(emu.depositions()) == 1
    assert emu.writes() == writes  # same metadata, same files: nothing sent again


@pytest.mark.parametrize("journal_lost", [False, True])
def test_a_status_file_naming_another_record_is_not_adopted(tmp_path, env, emu, journal_lost):
    # #15: B's dataset is published and its folder deleted; A writes B's deposition_id into a
    # META_zenodo.txt of its own. 0.1.0 moved B's row to A and made A's data B's new version.
    root, config, journal, pub = env
    theirs = pub.publish(make_dataset(root, "theirs", FILES))
    shutil.rmtree(root / "theirs")
    if journal_lost:
        journal.close()
        os.unlink(config.state)
    mine = make_dataset(root, "mine", FILES)
    statusfile.write(mine, f"status: draft\ndeposition_id: {theirs.deposition_id}\n")
    fresh = Journal(config.state)
    try:
        out = publisher(config, fresh).publish(mine)
    finally:
        fresh.close()
    assert out.status == "draft" and out.deposition_id != theirs.deposition_id
    deps = {d["id"]: d for d in emu.depositions()}
    assert deps[theirs.deposition_id]["title"].startswith("theirs")
    assert len(deps) == 2


def test_an_unusable_lock_folder_is_a_failed_retryable_outcome(tmp_path, env):
    root, config, _journal, pub = env
    folder = make_dataset(root, "ds1", FILES)
    locks = config.state.parent / "locks"
    shutil.rmtree(locks, ignore_errors=True)
    locks.write_text("not a folder")
    out = pub.publish(folder)
    assert out.status == "failed" and out.retryable
    assert "administrator" in out.hint and str(locks) in out.detail


@contextlib.contextmanager
def _unwritable(folder):
    """Deny writes to ``folder``: chmod for a normal user, the immutable flag for root."""
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield
        finally:
            folder.chmod(0o755)
        return
    if shutil.which("chattr") is None:
        pytest.skip("root without chattr: cannot make a folder unwritable")
    res = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if res.returncode != 0:
        pytest.skip("this filesystem has no immutable flag")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_an_unwritable_dataset_folder_fails_clearly_before_any_request(env, emu):
    root, _config, journal, pub = env
    folder = make_dataset(root, "ro", FILES)
    with _unwritable(folder):
        out = pub.publish(folder)
    assert out.status == "failed" and not out.retryable, out
    assert "internal error" not in out.error
    assert "write access" in out.detail and str(folder) in out.detail
    assert "write access" in out.hint
    assert emu.state()["requests"]["total"] == 0  # nothing sent
    [row] = journal.rows()
    assert row.status == "failed" and row.handled_fingerprint  # not retried in a loop


def test_the_status_file_reads_plainly_and_names_the_sites_semaphore(tmp_path, emu):
    root = tmp_path / "storage"
    folder = make_dataset(root, "bad", {"a.csv": "1\n"}, declared=["../c.csv", "a.csv"])
    (folder / "META_datafile_ok.txt").rename(folder / "GO.txt")
    data = {
        "storage": {"root": str(root), "settle": 0, "semaphore": "GO.txt"},
        "zenodo": {"url": emu.base_url, "token": {"file": str(token_file(tmp_path))}},
        "state": str(tmp_path / "state" / "state.db"),
    }
    config = parse_config(data, base_dir=tmp_path)
    journal = Journal(config.state)
    try:
        out = publisher(config, journal).publish(folder)
    finally:
        journal.close()
    assert out.status == "failed"
    text = (folder / statusfile.STATUS_FILE).read_text()
    assert "Touch GO.txt to publish again" in text and "META_datafile_ok" not in text
    assert "error: |" in text and "''" not in text
    assert yaml.safe_load(text)["error"].strip() == out.error.strip()


def test_a_token_problem_tells_the_researcher_plainly(tmp_path, env, emu):
    root, _config, _journal, pub = env
    folder = make_dataset(root, "ds1", FILES)
    token = tmp_path / "token"
    token.chmod(0o644)  # refused: readable by others
    out = pub.publish(folder)
    assert out.status == "failed" and out.retryable
    written = yaml.safe_load((folder / statusfile.STATUS_FILE).read_text())
    assert "site administrator" in written["hint"]
    assert str(token) not in written["error"] + written["hint"]
    assert "chmod" not in written["error"] + written["hint"]
    assert f"chmod 600 {token}" in out.detail  # the sysadmin's detail stays available
    assert emu.state()["requests"]["total"] == 0
