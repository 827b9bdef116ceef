"""Hostile datasets fail alone, with a message in META_dataverse.txt; the others still go."""

from __future__ import annotations

import json
import os

import yaml
from testkit.dataverse import factory, folders, make_site

from maggot_zenodo.constants import DATAVERSE_STATUS_FILE
from maggot_zenodo.publish.dataverse_workflow import deposit_dataverse
from maggot_zenodo.state.journal import Journal

SEMAPHORE = "META_datafile_ok.txt"


def _dataset(root, name, record=None, raw=None):
    folder = root / "hostile" / name
    folder.mkdir(parents=True)
    meta = folder / f"META_{name}.json"
    meta.write_text(raw if raw is not None else json.dumps(record), encoding="utf-8")
    (folder / SEMAPHORE).touch()
    return folder


def _good(**extra):
    return {
        "profile": "http://maggot.example.org/conf/maggot-schema.json",
        "kindOfData": ["Dataset"],
        "title": "h",
        "fulltitle": "Hostile",
        "description": "d",
        "license": "CC0",
        "subject": ["Chemistry"],
        "contacts": ["Gibon Yves"],
        "authors": ["Gibon Yves"],
        **extra,
    }


def test_hostile_datasets_fail_alone(tmp_path, samples_dir, dv):
    config = make_site(tmp_path, samples_dir, dv)
    journal = Journal(config.state)
    root = tmp_path / "storage"
    hostile = {
        "Deep": _dataset(root, "Deep", raw="[" * 100_000 + "]" * 100_000),
        "Huge": _dataset(root, "Huge", raw=json.dumps(_good(note="x" * 6_000_000))),
        "Types": _dataset(root, "Types", _good(authors=5, fulltitle={"a": 1}, subject=[[1]])),
        "Escape": _dataset(root, "Escape", _good(resources=[{"location": "../../etc/passwd"}])),
        "Nul": _dataset(root, "Nul", _good(resources=[{"location": "a\u0000b.csv"}])),
        "Colon": _dataset(root, "Colon", _good(resources=[{"location": "a:b.txt"}])),
        "Link": _dataset(root, "Link", _good()),
    }
    (hostile["Colon"] / "a:b.txt").write_text("x")
    (hostile["Link"] / SEMAPHORE).unlink()
    os.symlink("/etc/hostname", hostile["Link"] / SEMAPHORE)
    odd = _dataset(root, "Odd", _good(fulltitle='\u202eevil\u202c 🧪 Ünïcødé "q" \\ end'))
    reasons = {
        "Deep": "nested",
        "Huge": "limit",
        "Types": "expected a list",
        "Escape": "..",
        "Nul": "a",
        "Colon": "a:b.txt",
        "Link": "symbolic link",
    }
    for name, folder in hostile.items():
        out = deposit_dataverse(config, journal, folder, client_factory=factory(dv))
        assert out.status == "failed", name
        assert reasons[name] in out.error, (name, out.error)
        assert "internal error" not in (out.error or ""), (name, out.error)
        text = (folder / DATAVERSE_STATUS_FILE).read_text()
        status = yaml.safe_load(text)
        assert status["status"] == "failed" and status["error"], name
        assert "Traceback" not in text
    out = deposit_dataverse(config, journal, odd, client_factory=factory(dv))
    assert out.status == "draft", out.error
    frim = next(f for f in folders(config) if f.name == "frim1")
    assert deposit_dataverse(config, journal, frim, client_factory=factory(dv)).status == "draft"
    titles = sorted(d["versions"][-1]["title"] for d in dv.state()["datasets"])
    odd_title = '\u202eevil\u202c 🧪 Ünïcødé "q" \\ end'
    assert titles == ["FRIM - Fruit Integrative Modelling", odd_title]
    assert len(dv.state()["datasets"]) == 2  # the hostile ones sent nothing
    journal.close()
