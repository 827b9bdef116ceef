"""``make demo`` (python -m maggot_zenodo.demo) on a fresh folder: it works and cleans up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def test_demo_runs_publishes_and_stops_its_emulator(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    run = tmp_path / "demo-run"
    soil = run / "storage" / "2024" / "SoilMicrobiome2024"
    status = yaml.safe_load((soil / "META_zenodo.txt").read_text())
    assert status["status"] == "draft"
    assert status["deposit_url"].startswith("http://127.0.0.1:")
    assert {f["name"] for f in status["files"]} == {
        "META_SoilMicrobiome2024.json", "otu_counts.csv", "soil_chemistry.csv", "README.txt",
    }  # fmt: skip
    assert status["deposit_url"] in res.stdout
    assert "write requests Zenodo received meanwhile: 0" in res.stdout
    assert not (run / "storage" / "2024" / "GrapeBerryNMR" / "META_zenodo.txt").exists()
    assert _processes_mentioning(str(run / "emulator")) == []
    # a second demo in the same place starts afresh
    again = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo.demo"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
