"""Hostile folder situations: a folder in the status file's place, the storage root itself,
and a dataset folder renamed while its first upload runs."""

from __future__ import annotations

import os
import threading
import time
import uuid

from testkit.publishing import direct_client, make_dataset

from maggot_zenodo.publish import markers
from maggot_zenodo.state import statusfile


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
    # slow enough that the rename lands while uploads are still to start, whatever the
    # upload concurrency (zenodo.upload_concurrency, default 4)
    emu.set_faults(rate=1, kinds=["slow"], delay=1.0, methods=["PUT"], match="/files/")
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


def test_a_folder_renamed_before_its_status_file_named_the_deposition_keeps_it(site, emu):
    # Found by the soak: a kill -9 just after the create (the journal knows the deposition,
    # the status file does not yet), then a rename. The renamed folder claimed nothing, the
    # title search skipped the deposition the vanished row owned: a second deposition.
    folder = make_dataset(site.root, "early", {"a.csv": "1\n", "b.csv": "2\n"})
    first = site.pub.publish(folder)
    assert first.status == "draft", first
    statusfile.write(folder, "status: publishing\n")  # as the daemon left it when killed
    renamed = site.root / "group" / "early-renamed"
    renamed.parent.mkdir()
    os.rename(folder, renamed)
    again = site.pub.publish(renamed)
    assert again.status == "draft", again
    assert again.deposition_id == first.deposition_id
    [dep] = emu.depositions()
    assert sorted(f["filename"] for f in dep["files"]) == ["META_early.json", "a.csv", "b.csv"]


def test_two_vanished_folders_of_one_title_are_not_guessed_between(site, emu):
    # the journal alone cannot tell which vanished folder this is: a new deposition, no takeover
    one = site.pub.publish(make_dataset(site.root, "twin", {"a.csv": "1\n"}))
    os.rename(site.root / "twin", site.root / "twin-old")
    two = site.pub.publish(site.root / "twin-old")
    assert two.deposition_id == one.deposition_id  # a plain rename, named by its status file
    copy = make_dataset(site.root / "elsewhere", "twin", {"a.csv": "1\n"})
    made = site.pub.publish(copy)
    assert made.deposition_id != one.deposition_id  # a copy next to a live original: its own
    for path in (site.root / "twin-old", copy):
        statusfile.write(path, "status: publishing\n")
    os.rename(site.root / "twin-old", site.root / "gone-1")
    os.rename(copy, site.root / "gone-2")
    for path in (site.root / "gone-1", site.root / "gone-2"):
        (path / "META_twin.json").unlink()  # both vanished as datasets
    third = site.pub.publish(make_dataset(site.root / "third", "twin", {"a.csv": "1\n"}))
    assert third.status == "draft", third
    assert third.deposition_id not in (one.deposition_id, made.deposition_id)
    assert len(emu.depositions()) == 3


def test_a_folder_renamed_after_a_lost_create_answer_adopts_that_create(site, emu):
    # The create reached Zenodo, its answer was lost, the daemon was killed, the folder was
    # renamed: the vanished row's open marker names that deposition; it is adopted, not doubled.
    folder = make_dataset(site.root, "lost", {"a.csv": "1\n"})
    emu.set_faults(rate=1, kinds=["503"])  # the row exists; nothing reaches Zenodo
    assert site.pub.publish(folder).status == "failed"
    emu.set_faults(rate=0)
    [row] = site.journal.rows()
    uid = str(uuid.uuid4())
    marker = markers.MARKER_PREFIX + uid
    site.journal.add_marker(row.id, marker)  # the intent, journaled before the request
    title = "lost: measurements of a test campaign"
    with direct_client(emu.base_url) as client:  # the request that reached Zenodo
        client.create({"title": markers.marker_title(title, uid), "notes": marker})
    os.rename(folder, site.root / "found")
    again = site.pub.publish(site.root / "found")
    assert again.status == "draft", again
    [dep] = emu.depositions()
    assert again.deposition_id == dep["id"] and dep["title"] == title


def test_a_folder_renamed_before_the_metadata_update_keeps_its_marked_deposition(site, emu):
    # Found by the soak: killed between the create and the metadata update, the deposition
    # still bears the create marker's title; the renamed folder must still recognise it.
    folder = make_dataset(site.root, "marked", {"a.csv": "1\n"})
    emu.set_faults(rate=1, kinds=["503"], methods=["PUT"])  # the create lands, the update never
    first = site.pub.publish(folder)
    emu.set_faults(rate=0)
    assert first.status == "failed" and first.retryable, first
    [dep] = emu.depositions()
    assert "[maggot-zenodo " in dep["title"]
    statusfile.write(folder, "status: publishing\n")
    os.rename(folder, site.root / "marked-renamed")
    again = site.pub.publish(site.root / "marked-renamed")
    assert again.status == "draft", again
    [dep] = emu.depositions()
    assert again.deposition_id == dep["id"] and "[maggot-zenodo " not in dep["title"]
