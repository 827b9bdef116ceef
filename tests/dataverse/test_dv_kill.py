"""kill -9 in the middle of a run: the next run finishes without a second dataset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from testkit.dataverse import factory, folders, make_site

from maggot_zenodo.publish.dataverse_workflow import deposit_dataverse
from maggot_zenodo.state.journal import Journal

CHILD = """
import sys
from pathlib import Path
from maggot_zenodo.config import load_config
from maggot_zenodo.publish.dataverse_workflow import deposit_dataverse
from maggot_zenodo.state.journal import Journal
config = load_config(sys.argv[1])
journal = Journal(config.state)
for meta in sorted(Path(config.storage.root).rglob("META_*.json")):
    deposit_dataverse(config, journal, meta.parent)
"""


@pytest.mark.parametrize("writes", [3, 12, 25])
def test_kill_9_then_resume_exactly_once(tmp_path, samples_dir, dv, writes):
    config = make_site(tmp_path, samples_dir, dv)
    for f in folders(config):
        (f / "META_datafile_ok.txt").touch()
    dv.set_faults(rate=1, kinds=["slow"], delay=0.05)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "config.yaml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while dv.state()["requests"]["writes"] < writes and child.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)
    dv.set_faults()
    journal = Journal(config.state)
    for _round in range(3):
        outs = [
            deposit_dataverse(config, journal, f, client_factory=factory(dv))
            for f in folders(config)
        ]
        if all(o.ok for o in outs):
            break
    assert all(o.ok for o in outs), [o.error for o in outs if not o.ok]
    live = dv.state()["datasets"]
    assert len(live) == len(folders(config))
    for ds in live:
        labels = [(f["directoryLabel"], f["label"]) for f in ds["versions"][-1]["files"]]
        assert len(labels) == len(set(labels))
    journal.close()
