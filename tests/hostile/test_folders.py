"""Hostile folder situations: a folder in the status file's place, the storage root itself,
and a dataset folder renamed while its first upload runs."""

from __future__ import annotations

import os
import threading
import time

from testkit.publishing import make_dataset


def test_a_folder_named_like_the_status_file_is_a_final_failure_with_the_right_hint(site, emu):
    # 0.1.0: "make the folder group-writable", retried forever
    folder = make_dataset(site.root, "dir", {"a.csv": "1\n"})
    (folder / "META_zenodo.txt").mkdir()
    out = site.pub.publish(folder)
    assert out.status == "failed" and not out.retryable, out
    assert "folder named META_zenodo.txt" in out.error and "remove the folder" in out.hint
    assert "group-writable" not in out.hint
    assert emu.depositions() == []
    [row] = site.journal.rows()
    assert row.handled_fingerprint is not None  # not tried again until the semaphore changes


def test_publishing_the_storage_root_says_so(site, emu):
    # 0.1.0: "The dataset folder ... does not exist."
    out = site.pub.publish(site.root)
    assert out.status == "failed" and "is the storage root" in out.error
    assert "does not exist" not in out.error


def test_a_folder_renamed_during_its_first_upload_keeps_one_deposition(site, emu):
    # 0.1.0: a second deposition, and "internal error (FileNotFoundError)" for the old row
    folder = make_dataset(site.root, "moving", {f"f{i}.csv": "x" * 1000 for i in range(6)})
    renamed = site.root / "moved"
    emu.set_faults(rate=1, kinds=["slow"], delay=0.3, methods=["PUT"], match="/files/")
    mover = threading.Thread(target=_rename_once_the_id_is_known, args=(folder, renamed))
    mover.start()
    first = site.pub.publish(folder)
    mover.join(30)
    emu.set_faults(rate=0)
    assert not folder.exists() and renamed.is_dir()
    assert first.status == "failed" and "disappeared" in first.error, first
    assert "internal error" not in first.error
    again = site.pub.publish(renamed)
    assert again.status == "draft", again
    [dep] = emu.depositions()
    assert again.deposition_id == dep["id"]
    assert len(dep["files"]) == 7  # six data files and the metadata file, once each


def _rename_once_the_id_is_known(folder, renamed) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            text = (folder / "META_zenodo.txt").read_text()
        except FileNotFoundError:
            text = ""  # not written yet
        if "deposition_id:" in text:  # written as soon as the deposition exists
            time.sleep(0.4)  # an upload or two in
            os.rename(folder, renamed)
            return
        time.sleep(0.01)
    raise AssertionError("the status file never named the deposition")
