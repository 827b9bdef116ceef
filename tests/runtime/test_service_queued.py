"""``status: queued`` in META_zenodo.txt while a dataset waits for a worker: the pure
renderer, the guarded reader, and a real daemon with one busy worker."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from testkit import Emulator, wait_for
from testkit.daemon import DaemonProcess, drop_semaphore, make_dataset, status_file, write_config

from maggot_zenodo.state import statusfile
from maggot_zenodo.state.statusfile import MAX_STATUS_FILE, queued_text, write_queued
from maggot_zenodo.state.statusfile import read as read_status_file

PUBLISHED = {
    "status": "published",
    "deposit_url": "https://zenodo.org/deposit/123",
    "deposition_id": 123,
    "record_url": "https://zenodo.org/records/123",
    "doi": "10.5281/zenodo.123",
    "concept_doi": "10.5281/zenodo.122",
    "files": [{"name": "data.csv", "size": 10, "md5": "0" * 32}],
    "updated": "2026-01-01T00:00:00+00:00",
}


def test_queued_keeps_what_the_earlier_write_back_said_about_the_deposition() -> None:
    data = yaml.safe_load(queued_text(PUBLISHED))
    assert data["status"] == "queued"
    for key in ("deposit_url", "deposition_id", "record_url", "doi", "concept_doi", "files"):
        assert data[key] == PUBLISHED[key], key
    assert data["updated"] != PUBLISHED["updated"]


def test_queued_of_nothing_and_of_a_failure_says_only_queued() -> None:
    assert set(yaml.safe_load(queued_text(None))) == {"status", "updated"}
    failed = {"status": "failed", "error": "bad license", "hint": "fix it", "deposition_id": 7}
    data = yaml.safe_load(queued_text(failed))
    assert data["status"] == "queued" and data["deposition_id"] == 7
    assert "error" not in data and "hint" not in data


@pytest.mark.parametrize(
    "bad",
    [
        {"deposit_url": ["x"], "deposition_id": "123", "files": "data.csv"},
        {"deposit_url": 5, "deposition_id": True, "files": [{"name": "a", "size": "1"}]},
        {"doi": {"a": 1}, "deposition_id": 1.5, "files": [{"name": "a", "size": -1, "md5": "x"}]},
        {"files": ["a", {"name": "b", "size": 1, "md5": "y"}]},
    ],
)
def test_queued_drops_fields_of_the_wrong_type(bad: dict) -> None:
    data = yaml.safe_load(queued_text(bad))
    assert set(data) == {"status", "updated"}, data


def test_read_status_file_refuses_links_fifos_huge_and_broken_files(tmp_path: Path) -> None:
    name = statusfile.STATUS_FILE
    assert read_status_file(tmp_path) is None
    (tmp_path / name).write_text("status: draft\ndeposition_id: 4\n")
    assert read_status_file(tmp_path) == {"status": "draft", "deposition_id": 4}
    (tmp_path / name).write_text("status: [unclosed\n")
    assert read_status_file(tmp_path) is None
    (tmp_path / name).write_text("just a string\n")
    assert read_status_file(tmp_path) is None
    (tmp_path / name).write_text("status: draft\n" + "#" * MAX_STATUS_FILE)
    assert read_status_file(tmp_path) is None
    (tmp_path / name).unlink()
    target = tmp_path / "elsewhere.txt"
    target.write_text("deposit_url: https://evil.example/\n")
    (tmp_path / name).symlink_to(target)
    assert read_status_file(tmp_path) is None
    (tmp_path / name).unlink()
    os.mkfifo(tmp_path / name)  # would block a plain open() for ever
    assert read_status_file(tmp_path) is None
    # write_queued replaces the FIFO by a regular file
    assert write_queued(tmp_path)
    assert yaml.safe_load((tmp_path / name).read_text())["status"] == "queued"


def test_write_queued_keeps_the_link_and_leaves_a_symlinked_folder_alone(tmp_path: Path) -> None:
    folder = tmp_path / "ds"
    folder.mkdir()
    statusfile.write(
        folder, statusfile.render("draft", deposit_url="http://x/d/1", deposition_id=1)
    )
    assert write_queued(folder)
    data = yaml.safe_load((folder / statusfile.STATUS_FILE).read_text())
    assert data["status"] == "queued" and data["deposit_url"] == "http://x/d/1"
    # a dataset folder that is a symlink is left alone
    (tmp_path / "link").symlink_to(folder)
    assert not write_queued(tmp_path / "link")


def test_a_dataset_waiting_for_the_busy_worker_shows_queued_and_keeps_its_link(
    tmp_path: Path,
) -> None:
    emulator = Emulator.spawn(tmp_path / "emulator")
    config = write_config(tmp_path, emulator.base_url, workers=1, **{"storage.settle": 0.1})
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        # a first publication gives Known its deposit link
        known = make_dataset(root, "Known", semaphore=True)
        first = wait_for(
            lambda: (s := status_file(known)) and s.get("status") == "draft" and s, 30, "draft"
        )
        # uploads now take 3 s: Busy holds the only worker
        emulator.set_faults(
            {"rate": 1.0, "kinds": ["slow"], "delay": 3, "methods": ["PUT"], "match": "/files/"}
        )
        busy = make_dataset(root, "Busy", semaphore=True)
        wait_for(
            lambda: (s := status_file(busy)) and s.get("status") == "publishing", 20, "publishing"
        )
        drop_semaphore(known)  # the researcher asks again while the worker is busy
        queued = wait_for(
            lambda: (s := status_file(known)) and s.get("status") == "queued" and s, 20, "queued"
        )
        assert (busy / statusfile.STATUS_FILE).exists()
        assert status_file(busy)["status"] == "publishing"  # still holding the worker
        for key in ("deposit_url", "deposition_id", "files"):
            assert queued[key] == first[key], key
        emulator.set_faults({"rate": 0})
        wait_for(lambda: (s := status_file(busy)) and s.get("status") == "draft", 30, "Busy done")
        again = wait_for(
            lambda: (s := status_file(known)) and s.get("status") == "draft" and s, 30, "Known"
        )
        assert again["deposit_url"] == first["deposit_url"]
        assert daemon.find("queued", dataset="Known")
        assert len(emulator.depositions()) == 2
    finally:
        code = daemon.stop()
        emulator.stop()
    assert code == 0
