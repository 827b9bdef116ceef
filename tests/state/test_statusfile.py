"""statusfile: YAML with a header, atomic, readable, and never written through a symlink."""

from __future__ import annotations

import os
import stat

import pytest
import yaml

from maggot_zenodo.state import statusfile


def test_render_published_has_every_key():
    text = statusfile.render(
        "published",
        deposit_url="http://z/records/5",
        deposition_id=5,
        record_url="http://z/records/5",
        doi="10.5281/zenodo.5",
        concept_doi="10.5281/zenodo.4",
        files=[{"name": "a.csv", "size": 3, "md5": "abc"}],
        updated="2026-01-01T00:00:00+00:00",
    )
    assert text.startswith("# Written by maggot-zenodo")
    data = yaml.safe_load(text)
    assert data == {
        "status": "published",
        "deposit_url": "http://z/records/5",
        "deposition_id": 5,
        "record_url": "http://z/records/5",
        "doi": "10.5281/zenodo.5",
        "concept_doi": "10.5281/zenodo.4",
        "files": [{"name": "a.csv", "size": 3, "md5": "abc"}],
        "updated": "2026-01-01T00:00:00+00:00",
    }


def test_render_failed_keeps_error_and_hint_only_when_failed():
    data = yaml.safe_load(statusfile.render("failed", error="Bad: 'x'\nline", hint="Fix it"))
    assert data["error"] == "Bad: 'x'\nline" and data["hint"] == "Fix it"
    assert data["updated"].endswith("+00:00")
    assert "error" not in yaml.safe_load(statusfile.render("draft", error="stale"))
    with pytest.raises(ValueError):
        statusfile.render("weird")


def test_write_is_atomic_and_readable(tmp_path):
    os.chmod(tmp_path, 0o755)  # noqa: S103
    path = statusfile.write(tmp_path, statusfile.render("queued"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert statusfile.read(tmp_path)["status"] == "queued"
    statusfile.write(tmp_path, statusfile.render("draft", deposition_id=3))
    assert statusfile.read(tmp_path)["deposition_id"] == 3
    assert [p.name for p in tmp_path.iterdir()] == ["META_zenodo.txt"]  # no temp file left


def test_private_folder_gives_group_readable_file(tmp_path):
    os.chmod(tmp_path, 0o750)  # noqa: S103
    path = statusfile.write(tmp_path, statusfile.render("queued"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert path.stat().st_gid == tmp_path.stat().st_gid


def test_a_planted_symlink_is_replaced_not_followed(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "META_zenodo.txt").symlink_to(victim)
    statusfile.write(folder, statusfile.render("queued"))
    assert victim.read_text() == "precious"
    assert not (folder / "META_zenodo.txt").is_symlink()
    assert statusfile.read(folder)["status"] == "queued"


def test_write_refuses_a_folder_swapped_for_a_symlink(tmp_path):
    real = tmp_path / "elsewhere"
    real.mkdir()
    link = tmp_path / "dataset"
    link.symlink_to(real)
    with pytest.raises(OSError):
        statusfile.write(link, statusfile.render("queued"))
    assert list(real.iterdir()) == []


def test_error_and_hint_are_literal_blocks_and_the_header_names_the_semaphore():
    error = "'../c.csv' goes up with '..'; only files inside the folder go.\nsecond: problem"
    text = statusfile.render("failed", error=error, hint="Fix it: now", semaphore="GO.txt")
    assert "Touch GO.txt to publish again." in text and "META_datafile_ok" not in text
    assert "error: |-\n  '../c.csv' goes up with '..'; only" in text
    assert "''" not in text and "hint: |-\n  Fix it: now\n" in text
    data = yaml.safe_load(text)
    assert data["error"] == error and data["hint"] == "Fix it: now"
    assert "Touch META_datafile_ok.txt" in statusfile.render("queued")
    assert "Touch GO.txt" in statusfile.queued_text({"deposition_id": 3}, "GO.txt")


def test_a_failure_notes_its_next_attempt_once_and_nothing_else_does(tmp_path):
    failed = statusfile.render("failed", error="Zenodo is unavailable.", hint="Nothing to do.")
    statusfile.write(tmp_path, failed)
    assert statusfile.note_next_attempt(tmp_path, 1_800_000_000.0)
    assert statusfile.note_next_attempt(tmp_path, 1_800_000_060.0)  # replaced, not added
    text = (tmp_path / "META_zenodo.txt").read_text(encoding="utf-8")
    assert text.count("next_attempt:") == 1
    data = statusfile.read(tmp_path)
    assert data["next_attempt"] == "2027-01-15T08:01:00+00:00"
    assert data["status"] == "failed" and data["error"].strip() == "Zenodo is unavailable."
    statusfile.write(tmp_path, statusfile.render("draft", deposit_url="http://z/deposit/1"))
    assert not statusfile.note_next_attempt(tmp_path, 1_800_000_000.0)
    assert "next_attempt" not in statusfile.read(tmp_path)
    assert not statusfile.note_next_attempt(tmp_path / "missing", 1.0)
