"""The two-repository demo's parts, without the daemon: the Dataverse emulator the demo starts
and the configuration it writes, which the real commands accept (validate --online, check)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from maggot_zenodo.config import load_config
from maggot_zenodo.demo.datasets import write_storage
from maggot_zenodo.demo.processes import emulator, emulator_writes
from maggot_zenodo.demo.story import parse_repositories, write_config


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", *args],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_repositories_are_read_in_the_demos_order() -> None:
    assert parse_repositories("zenodo") == ("zenodo",)
    assert parse_repositories("dataverse, Zenodo") == ("zenodo", "dataverse")
    with pytest.raises(ValueError, match="figshare"):
        parse_repositories("zenodo,figshare")
    with pytest.raises(ValueError):
        parse_repositories(" , ")


def test_the_demo_config_with_both_is_accepted_by_both_emulators(tmp_path: Path) -> None:
    storage = tmp_path / "storage"
    write_storage(storage)
    with (
        emulator(tmp_path / "zenodo-emulator") as zenodo,
        emulator(tmp_path / "dataverse-emulator", "dataverse") as dataverse,
    ):
        with urllib.request.urlopen(f"{dataverse}/api/info/version", timeout=10) as answer:  # noqa: S310
            assert json.load(answer)["data"]["version"]
        config_path = write_config(tmp_path, storage, {"zenodo": zenodo, "dataverse": dataverse})
        config = load_config(config_path)
        assert config.dataverse is not None and config.dataverse.collection == "demo"
        assert config.zenodo.url == zenodo and config.dataverse.url == dataverse
        for name in ("token", "dataverse-token"):  # one token each, in a 0600 file
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "token").read_text() != (tmp_path / "dataverse-token").read_text()
        online = cli("validate", "--online", "--config", str(config_path))
        assert online.returncode == 0, online.stdout + online.stderr
        assert f"online: {dataverse}: datasets may be added to 'demo'" in online.stdout
        assert f"online: {zenodo} answers and accepts the token" in online.stdout
        assert emulator_writes(dataverse) == 0 and emulator_writes(zenodo) == 0
        soil = storage / "2024" / "SoilMicrobiome2024"
        shown = cli("check", "--config", str(config_path), str(soil), "--repository", "all")
        assert shown.returncode == 0, shown.stderr
        body = json.loads(shown.stdout)["dataverse"]["datasetVersion"]
        fields = {f["typeName"]: f["value"] for f in body["metadataBlocks"]["citation"]["fields"]}
        [contact] = fields["datasetContact"]  # the demo's people dictionary gives the e-mail
        assert contact["datasetContactEmail"]["value"] == "claire.martin@example.org"
        secrets = [(tmp_path / n).read_text().strip() for n in ("token", "dataverse-token")]
        for out in (online.stdout + online.stderr, shown.stdout + shown.stderr):
            assert not any(secret in out for secret in secrets)


def test_default_demo_config_has_zenodo_alone(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, tmp_path, "http://127.0.0.1:9"))
    assert config.dataverse is None and config.maggot.cvlist_dir is None
    assert not (tmp_path / "dataverse-token").exists()


def test_an_unknown_repository_is_a_usage_error(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo.demo", "--repositories", "figshare"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "REPOSITORIES": ""},
    )  # fmt: skip
    assert res.returncode == 2 and "figshare" in res.stdout
    assert not (tmp_path / "demo-run").exists()
