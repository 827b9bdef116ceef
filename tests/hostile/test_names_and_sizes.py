"""Hostile file names and sizes: refused before any request, with a message that names them."""

from __future__ import annotations

import yaml
from testkit.publishing import make_dataset

from maggot_zenodo.state import statusfile


def test_a_file_name_with_a_newline_fails_before_any_request(site, emu):
    # 0.1.0: passed, then "internal error (ValueError)" after the create, retried forever
    folder = make_dataset(site.root, "nl", {"bad\nname.csv": "1\n"})
    writes = emu.writes()
    out = site.pub.publish(folder)
    assert out.status == "failed" and not out.retryable, out
    assert "control character" in out.error and "bad\\nname.csv" in out.error
    assert emu.writes() == writes and emu.depositions() == []


def test_the_tools_own_files_cannot_be_declared(site, emu):
    folder = make_dataset(site.root, "own", {}, declared=["META_zenodo.txt"])
    statusfile.write(folder, "status: draft\n")
    out = site.pub.publish(folder)
    assert out.status == "failed" and "writes itself" in out.error
    assert emu.depositions() == []


def test_a_spaced_file_name_is_kept_as_it_is(site, emu):
    folder = make_dataset(site.root, "sp", {" spaced .csv": "1\n"})
    out = site.pub.publish(folder)
    assert out.status == "draft", out
    [dep] = emu.depositions()
    assert " spaced .csv" in {f["filename"] for f in dep["files"]}


def test_thirty_thousand_missing_files_make_a_bounded_status_file(site, emu):
    names = [f"missing-{i:06d}.csv" for i in range(30_000)]  # what 5 MB of metadata holds
    folder = make_dataset(site.root, "many", {}, declared=names)
    out = site.pub.publish(folder)
    assert out.status == "failed"
    text = (folder / "META_zenodo.txt").read_text()
    assert len(text) < 10_000, len(text)  # 0.1.0: about 2 MB here (6.8 MB for 100 000)
    error = yaml.safe_load(text)["error"]
    assert "missing-000019.csv" in error and "missing-000020.csv" not in error
    assert "and 29980 more problems" in error
