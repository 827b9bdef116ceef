"""A process dying right after EVERY journal commit of a first publication, then run again:
exactly one deposition, with exactly the declared files. Plus a create whose answer is lost
followed by a Zenodo outage while the next run adopts it.

The child is ``maggot-zenodo publish`` run through a small wrapper script (written here, in
the test) that wraps the ``Journal`` write methods in the child process only and calls
``os._exit`` (what a ``kill -9`` leaves) right after the chosen commit returns.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from testkit import spawned_emulator
from testkit.publishing import (
    expected_files,
    held_files,
    make_config,
    make_dataset,
    publisher,
    until_ok,
    write_config_file,
)

from maggot_zenodo.publish.workflow import MARKER_PREFIX
from maggot_zenodo.state.journal import Journal

emulator = pytest.fixture(scope="module")(spawned_emulator)

CRASH_RC = 9
WRAPPER = """
import os, sys
from maggot_zenodo import cli
from maggot_zenodo.state.journal import Journal

MODE = sys.argv[1]   # "0": never crash; "N": after the N-th commit; "step:NAME:PHASE"
WRITES = ("dataset", "update", "step", "add_marker", "resolve_marker", "record_deposition",
          "rekey", "mark_uploaded", "forget_uploaded", "store_md5")
count = [0]

def wrap(name):
    orig = getattr(Journal, name)
    def inner(self, *args, **kw):
        result = orig(self, *args, **kw)
        count[0] += 1
        if MODE == str(count[0]):
            os._exit(CRASH_RC)
        if name == "step" and MODE == f"step:{args[1]}:{args[2]}":
            os._exit(CRASH_RC)
        return result
    setattr(Journal, name, inner)

for n in WRITES:
    if hasattr(Journal, n):
        wrap(n)
rc = cli.main(["publish", *sys.argv[2:]])
print("WRITES", count[0], flush=True)
sys.exit(rc)
""".replace("CRASH_RC", str(CRASH_RC))

FILES = {"a.csv": "x,y\n1,2\n", "b.csv": "z\n" + "9\n" * 500}


def _child(
    tmp_path: Path, config_file: Path, folder: Path, mode: str
) -> subprocess.CompletedProcess:
    script = tmp_path / "crash_wrapper.py"
    if not script.exists():
        script.write_text(WRAPPER)
    return subprocess.run(
        [sys.executable, str(script), mode, str(folder), "--config", str(config_file)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _deps_of(emu, name: str) -> list[dict]:
    return [d for d in emu.depositions() if name in str(d.get("title") or "")]


def test_a_crash_after_every_journal_commit_leaves_one_deposition(tmp_path, emulator):
    emulator.reset()
    root = tmp_path / "storage"
    config = make_config(tmp_path, root, emulator.base_url, publish=True)
    config_file = write_config_file(tmp_path, config)
    # how many commits a first publication makes (with 2 files, published)
    ref = make_dataset(root, "crash000", FILES)
    done = _child(tmp_path, config_file, ref, "0")
    assert done.returncode == 0, done.stdout + done.stderr
    writes = int(done.stdout.split("WRITES")[-1])
    assert writes >= 20, done.stdout
    journal = Journal(config.state)
    pub = publisher(config, journal)
    [ref_row] = journal.rows()
    seen = {(step, phase) for step, phase, _ in journal.steps(ref_row.id)}
    for step in ("create", "metadata", "upload", "publish"):  # each crashed after, in turn
        assert {(step, "intent"), (step, "result")} <= seen, seen
    uploads = [s for s in journal.steps(ref_row.id) if s[:2] == ("upload", "result")]
    assert len(uploads) == 3  # the metadata file and both data files
    try:
        for k in range(1, writes + 1):
            name = f"crash{k:03d}"
            folder = make_dataset(root, name, FILES)
            died = _child(tmp_path, config_file, folder, str(k))
            assert died.returncode == CRASH_RC, (k, died.stdout, died.stderr)
            outcome, _n = until_ok(pub, folder)
            assert len(emulator.depositions()) == k + 1, k  # one more, drafts included
            deps = _deps_of(emulator, name)
            assert len(deps) == 1, (k, [(d["id"], d["title"]) for d in deps])
            [dep] = deps
            assert outcome.status == "published" and outcome.deposition_id == dep["id"], k
            assert dep["state"] == "done", k
            assert held_files(dep) == expected_files(folder, list(FILES)), k
            assert "maggot-zenodo" not in dep["title"], (k, dep["title"])
            assert MARKER_PREFIX not in str(dep["metadata"].get("notes", "")), k
    finally:
        journal.close()
    # the reference dataset and every crashed one: nothing else was created
    assert len(emulator.depositions()) == writes + 1


def test_lost_create_answer_then_outage_during_adoption(tmp_path, emulator):
    emulator.reset()
    root = tmp_path / "storage"
    folder = make_dataset(root, "lostanswer", FILES)
    config = make_config(tmp_path, root, emulator.base_url)
    config_file = write_config_file(tmp_path, config)
    # run 1: the POST takes effect, its answer is a 502; the process then dies
    emulator.set_faults(
        rate=1.0, kinds=["after_commit"], methods=["POST"], match="/deposit/depositions", count=1
    )
    died = _child(tmp_path, config_file, folder, "step:create:error")
    assert died.returncode == CRASH_RC, died.stdout + died.stderr
    [created] = emulator.depositions()
    # run 2: the search lists it, but fetching it fails (Zenodo unavailable)
    emulator.set_faults(rate=1.0, kinds=["503"], methods=["GET"], match="/deposit/depositions/")
    journal = Journal(config.state)
    try:
        pub = publisher(config, journal)
        out = pub.publish(folder)
        assert out.status == "failed" and out.retryable, out
        [row] = journal.rows()
        assert row.deposition_id == created["id"]  # recorded before the failing GET
        # run 3: Zenodo is back
        emulator.set_faults(rate=0.0)
        out = pub.publish(folder)
        assert out.status == "draft" and out.deposition_id == created["id"], out
        [dep] = emulator.depositions()
        assert held_files(dep) == expected_files(folder, list(FILES))
        assert not journal.open_markers(row.id)
    finally:
        journal.close()


def test_a_rejected_metadata_put_leaves_a_recognisable_title(tmp_path, emulator):
    emulator.reset()
    root = tmp_path / "storage"
    folder = make_dataset(root, "titled", FILES)
    config = make_config(tmp_path, root, emulator.base_url)
    journal = Journal(config.state)
    try:
        pub = publisher(config, journal)
        emulator.set_faults(rate=1.0, kinds=["500"], methods=["PUT"], match="/deposit/depositions/")
        out = pub.publish(folder)
        assert out.status == "failed" and out.retryable, out
        [draft] = emulator.depositions()
        title = draft["title"]
        assert title.startswith("titled") and title.endswith("]"), title
        assert " [maggot-zenodo " in title
        assert str(draft["metadata"]["notes"]).startswith(MARKER_PREFIX)
        emulator.set_faults(rate=0.0)
        out = pub.publish(folder)
        assert out.status == "draft" and out.deposition_id == draft["id"], out
        [dep] = emulator.depositions()
        assert dep["title"] == title.split(" [maggot-zenodo ")[0]
        assert MARKER_PREFIX not in str(dep["metadata"].get("notes", ""))
    finally:
        journal.close()
