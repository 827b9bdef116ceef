"""Conversion warnings reach people: in META_zenodo.txt (plain words, with the hint) and in
the log with the dataset named (0.1.0 published without a word)."""

from __future__ import annotations

import io
import json

import pytest
import yaml
from testkit import spawned_emulator
from testkit.publishing import make_config, make_dataset, publisher

from maggot_zenodo.logs import setup_logging
from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)


def test_warnings_go_to_the_status_file_and_the_log(tmp_path, emulator):
    root = tmp_path / "storage"
    config = make_config(tmp_path, root, emulator.base_url)
    folder = make_dataset(root, "granted", {"a.csv": "1\n"}, grantNumbers=["ANR-XX-0001"])
    journal = Journal(config.state)
    log = io.StringIO()
    setup_logging("info", "json", stream=log)
    try:
        out = publisher(config, journal).publish(folder)
    finally:
        journal.close()
        setup_logging("info")
    assert out.status == "draft", out
    status = yaml.safe_load((folder / "META_zenodo.txt").read_text())
    [warning] = status["warnings"]
    assert "ANR-XX-0001" in warning and "Hint:" in warning
    [line] = [json.loads(x) for x in log.getvalue().splitlines() if "conversion warning" in x]
    assert line["event"].startswith("granted: 1 conversion warning(s)")
    assert line["dataset"] == "granted" and "ANR-XX-0001" in line["warnings"][0]


def test_the_warnings_list_is_bounded():
    from maggot_zenodo.state.statusfile import render

    text = render("draft", warnings=[f"w{i}" for i in range(50)])
    listed = yaml.safe_load(text.split("\n", 1)[1] if text.startswith("#") else text)
    assert listed["warnings"][:20] == [f"w{i}" for i in range(20)]
    assert listed["warnings"][20] == "… and 30 more warnings." and len(listed["warnings"]) == 21
