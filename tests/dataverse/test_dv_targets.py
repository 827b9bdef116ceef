"""Zenodo and Dataverse for the same dataset, independently."""

from __future__ import annotations

import json

from testkit.dataverse import factory, folders, make_site

from maggot_zenodo.config import parse_config
from maggot_zenodo.publish.targets import combined, publish_all
from maggot_zenodo.publish.workflow import Publisher
from maggot_zenodo.state.journal import Journal


def _both(tmp_path, samples_dir, dv, zenodo_url, token):
    make_site(tmp_path, samples_dir, dv)
    data = json.loads((tmp_path / "config.yaml").read_text())
    zt = tmp_path / "zenodo-token"
    zt.write_text(token)
    zt.chmod(0o600)
    data["zenodo"] = {"url": zenodo_url, "token": {"file": str(zt)}}
    return parse_config(data, base_dir=tmp_path)


def test_both_repositories_and_one_failing_does_not_hold_the_other(
    tmp_path, samples_dir, dv, emulator, emulator_token
):
    config = _both(tmp_path, samples_dir, dv, emulator.base_url, emulator_token)
    journal = Journal(config.state)
    publisher = Publisher(config, journal)
    folder = next(f for f in folders(config) if f.name == "frim1")
    outs = publish_all(publisher, folder, dataverse_client=factory(dv))
    assert {k: o.status for k, o in outs.items()} == {"zenodo": "draft", "dataverse": "draft"}
    assert (folder / "META_zenodo.txt").is_file() and (folder / "META_dataverse.txt").is_file()
    dv.set_faults(rate=1, kinds=["500"])
    outs = publish_all(publisher, folder, dataverse_client=factory(dv))
    assert outs["zenodo"].ok and not outs["dataverse"].ok and outs["dataverse"].retryable
    both = combined(outs)
    assert both.status == "failed" and both.error.startswith("dataverse: ") and both.retryable
    assert len(dv.state()["datasets"]) == 1
    journal.close()
