"""Taking over another person's Zenodo account or record: a hard link as the semaphore, a
semaphore owned by someone else than the metadata, a revoked token. Needs root (chown)."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from testkit import TOKEN
from testkit.publishing import make_dataset, publisher, token_file

from maggot_zenodo.config import parse_config
from maggot_zenodo.state.journal import Journal

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="chown to other users needs root")
A, B = "daemon", "nobody"  # two accounts every Debian has


def _uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def _owners_site(tmp_path: Path, emu_url: str):
    root = tmp_path / "storage"
    root.mkdir()
    owners = tmp_path / "tokens.d"
    owners.mkdir()
    for user in (A, B):
        token_file(owners, f"{TOKEN}-{user}").rename(owners / user)
    config = parse_config(
        {
            "storage": {"root": str(root), "settle": 0},
            "zenodo": {"url": emu_url, "rate_limit": 100000},
            "tokens": {"owners_dir": str(owners)},
            "state": str(tmp_path / "state" / "state.db"),
        },
        base_dir=tmp_path,
    )
    return root, config


def _chown_tree(folder: Path, user: str) -> None:
    for path in [folder, *folder.rglob("*")]:
        os.lchown(path, _uid(user), -1)


@needs_root
def test_a_hardlinked_semaphore_is_refused(tmp_path, emu):
    # 0.1.0: A hard-links a file B owns as the semaphore; A's dataset goes to B's account
    root, config = _owners_site(tmp_path, emu.base_url)
    theirs = root / "b-file.txt"
    theirs.write_text("")
    os.chown(theirs, _uid(B), -1)
    folder = make_dataset(root, "a-data", {"a.csv": "1\n"}, semaphore=False)
    _chown_tree(folder, A)
    os.link(theirs, folder / "META_datafile_ok.txt")
    journal = Journal(config.state)
    try:
        out = publisher(config, journal).publish(folder)
    finally:
        journal.close()
    assert out.status == "failed" and not out.retryable and "hard links" in out.error, out
    assert emu.depositions() == []


@needs_root
def test_a_semaphore_owned_by_another_than_the_metadata_is_refused(tmp_path, emu):
    root, config = _owners_site(tmp_path, emu.base_url)
    folder = make_dataset(root, "a-data", {"a.csv": "1\n"})
    _chown_tree(folder, A)
    os.chown(folder / "META_datafile_ok.txt", _uid(B), -1)  # B dropped it in A's folder
    journal = Journal(config.state)
    try:
        out = publisher(config, journal).publish(folder)
        assert out.status == "failed" and "belongs to nobody" in out.error, out
        assert emu.depositions() == []
        os.chown(folder / "META_datafile_ok.txt", _uid(A), -1)
        os.utime(folder / "META_datafile_ok.txt")  # A asks, as the owner
        assert publisher(config, journal).publish(folder).status == "draft"
    finally:
        journal.close()
    [dep] = emu.depositions()
    assert dep["owner"] != "" and len(emu.depositions()) == 1


def test_a_revoked_token_is_retryable_and_says_whom_to_ask(site, emu, tmp_path):
    # 0.1.0: a 403 was final, and the researcher was not told to contact the administrator
    folder = make_dataset(site.root, "ds", {"a.csv": "1\n"})
    assert site.pub.publish(folder).status == "draft"
    token_file(tmp_path, "another-account-token")  # the site's token replaced (other account)
    os.utime(folder / "META_datafile_ok.txt")
    out = site.pub.publish(folder)
    assert out.status == "failed" and out.retryable, out
    assert "administrator" in out.hint and "token" in out.error
    assert len(emu.depositions()) == 1
