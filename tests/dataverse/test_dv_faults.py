"""Every fault kind at 20 %: each sample ends as exactly one dataset with exactly its files."""

from __future__ import annotations

import json
import time

import pytest
from testkit.dataverse import factory, folders, make_site

from maggot_zenodo.emulator.dataverse.faults import KINDS
from maggot_zenodo.publish.dataverse_workflow import deposit_dataverse
from maggot_zenodo.state.journal import Journal

ROUNDS = 25


def _converge(config, journal, dv, targets):
    """Run every unfinished dataset again until all succeed (bounded in rounds and time)."""
    pending, deadline = list(targets), time.monotonic() + 240
    for _ in range(ROUNDS):
        outcomes = {
            f: deposit_dataverse(config, journal, f, client_factory=factory(dv)) for f in pending
        }
        for f, out in outcomes.items():
            assert out.ok or out.retryable, (f, out.error)
        pending = [f for f, out in outcomes.items() if not out.ok]
        if not pending or time.monotonic() > deadline:
            break
    return pending


def _with_licence(targets):
    """Give the three samples without a licence one: publishing needs it."""
    for folder in targets:
        meta = next(folder.glob("META_*.json"))
        record = json.loads(meta.read_text())
        record.setdefault("license", "CC-BY-4.0")
        meta.write_text(json.dumps(record))


@pytest.mark.parametrize("kind", KINDS)
def test_each_fault_kind_at_20_percent(tmp_path, samples_dir, dv, kind):
    publish = kind in ("async_publish", "lingering_lock", "after_commit", "502")
    config = make_site(tmp_path, samples_dir, dv, publish=publish)
    journal = Journal(config.state)
    targets = folders(config)
    if publish:
        _with_licence(targets)
    for f in targets:
        (f / "META_datafile_ok.txt").touch()
    dv.set_faults(rate=0.2, kinds=[kind], seed=7, delay=0.1)
    assert _converge(config, journal, dv, targets) == []
    dv.set_faults()
    # once the faults stop, one more pass cleans up any orphan of an unanswered create
    assert _converge(config, journal, dv, targets) == []
    live = dv.state()["datasets"]
    assert len(live) == len(targets), [d["otherIds"] for d in live]
    markers = sorted(d["otherIds"][0][1] for d in live)
    assert len(set(markers)) == len(targets)
    for ds in live:
        labels = [f["label"] for f in ds["versions"][-1]["files"]]
        assert len(labels) == len(set(labels)) and not any("-1." in x for x in labels), labels
    assert dv.state()["faults"]["total"] > 0
    if publish:
        assert {d["versions"][-1]["state"] for d in live} == {"RELEASED"}
    journal.close()


def test_all_kinds_together_with_files_changing_between_runs(tmp_path, samples_dir, dv):
    config = make_site(tmp_path, samples_dir, dv)
    journal = Journal(config.state)
    targets = folders(config)
    for f in targets:
        (f / "META_datafile_ok.txt").touch()
    dv.set_faults(rate=0.2, kinds=list(KINDS), seed=11, delay=0.1)
    assert _converge(config, journal, dv, targets) == []
    enzymes = next(f for f in targets if f.name == "AmaizingEnzymes")
    (enzymes / "Data-Maize-Enzym-Prot-2013.txt").write_text("new content\n")
    assert _converge(config, journal, dv, [enzymes]) == []
    dv.set_faults()
    assert _converge(config, journal, dv, targets) == []
    live = dv.state()["datasets"]
    assert len(live) == len(targets)
    ds = next(d for d in live if d["otherIds"][0][1].endswith("AmaizingEnzymes"))
    sizes = {f["label"]: f["size"] for f in ds["versions"][-1]["files"]}
    assert sizes["Data-Maize-Enzym-Prot-2013.txt"] == len("new content\n")
    assert len(sizes) == 7  # six declared files and the metadata file, no duplicate
    journal.close()
