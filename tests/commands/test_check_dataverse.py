"""``maggot-zenodo check`` on a site with Dataverse: one JSON document on stdout (Zenodo's
unchanged when Zenodo is configured), the Dataverse heading and warnings on stderr, and
``--repository`` to choose."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from testkit.dataverse import client, cvlist_with_emails

from maggot_zenodo.config import load_config
from maggot_zenodo.convert.dataverse import load_definition
from maggot_zenodo.publish import dataverse_plan

NO_EMAIL = {
    "profile": "p",
    "title": "toy",
    "fulltitle": "A toy dataset",
    "subject": ["Chemistry"],
    "description": "Numbers.",
    "contacts": ["van Delft Pierre"],
    "authors": ["van Delft Pierre"],
    "kindOfData": ["Dataset"],
    "access_rights": "Public",
    "license": "CC BY 4.0",
    "language": ["English"],
}


def site(
    tmp_path: Path, samples: Path, *, zenodo: bool, url: str = "https://dv.example.org"
) -> Path:
    """A configuration over the sample storage, with the contacts' e-mails in the cvlist."""
    cvlist = cvlist_with_emails(tmp_path, samples)
    storage = tmp_path / "storage"
    shutil.copytree(samples / "storage" / "frim1", storage / "frim1")
    lines = [
        f"storage: {{root: {storage}}}",
        f"dataverse: {{url: '{url}', token: {{env: NO_SUCH_DV}}, collection: demo}}",
        f"maggot: {{conf_dir: {samples / 'maggot-site/conf'}, cvlist_dir: {cvlist}}}",
        f"state: {tmp_path / 'state' / 'state.db'}",
    ]
    if zenodo:
        lines.append("zenodo: {token: {env: NO_SUCH_TOKEN}}")
    (tmp_path / "state").mkdir(exist_ok=True)
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def check(config: Path, folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "check", "--config", str(config), str(folder),
         *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
        env={**os.environ, "MAGGOT_ZENODO_CONFIG": "/nonexistent/config.yaml"},
    )  # fmt: skip


def fields(body: dict) -> dict:
    return {f["typeName"]: f["value"] for f in body["metadataBlocks"]["citation"]["fields"]}


def test_both_configured_stdout_stays_zenodos_and_dataverse_is_checked_on_stderr(
    tmp_path: Path, samples_dir: Path
) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=True)
    proc = check(cfg, tmp_path / "storage" / "frim1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('{\n  "metadata": {\n')
    assert list(json.loads(proc.stdout)) == ["metadata"]
    assert "Dataverse (blocks: built-in stock blocks)" in proc.stderr
    assert "warning: " in proc.stderr.split("Dataverse (blocks:")[1]
    assert "check --repository dataverse (or all)" in proc.stderr


def test_repository_dataverse_prints_the_create_body(tmp_path: Path, samples_dir: Path) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=True)
    proc = check(cfg, tmp_path / "storage" / "frim1", "--repository", "dataverse")
    assert proc.returncode == 0, proc.stderr
    body = json.loads(proc.stdout)
    assert list(body) == ["datasetVersion"]
    got = fields(body["datasetVersion"])
    assert got["title"] == "FRIM - Fruit Integrative Modelling"
    other = [o["otherIdValue"]["value"] for o in got["otherId"]]
    assert "frim1" in other  # the stable marker: the path under the storage root
    assert all("@" in c["datasetContactEmail"]["value"] for c in got["datasetContact"])
    assert proc.stderr.startswith("Dataverse (blocks: built-in stock blocks)\n")


def test_repository_all_prints_both_under_their_names(tmp_path: Path, samples_dir: Path) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=True)
    proc = check(cfg, tmp_path / "storage" / "frim1", "--repository", "all")
    assert proc.returncode == 0, proc.stderr
    both = json.loads(proc.stdout)
    assert list(both) == ["zenodo", "dataverse"]
    assert "metadata" in both["zenodo"] and "datasetVersion" in both["dataverse"]
    zenodo_alone = check(cfg, tmp_path / "storage" / "frim1", "--repository", "zenodo")
    assert json.loads(zenodo_alone.stdout) == both["zenodo"]
    assert "Dataverse" not in zenodo_alone.stderr


def test_dataverse_only_site_prints_only_dataverse(tmp_path: Path, samples_dir: Path) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=False)
    proc = check(cfg, tmp_path / "storage" / "frim1")
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)) == ["datasetVersion"]
    assert "Zenodo" not in proc.stderr
    wrapped = check(cfg, tmp_path / "storage" / "frim1", "--repository", "all")
    assert list(json.loads(wrapped.stdout)) == ["dataverse"]


def test_a_contact_without_email_fails_even_when_zenodo_would_take_it(
    tmp_path: Path, samples_dir: Path
) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=True)
    folder = tmp_path / "storage" / "toy"
    folder.mkdir()
    (folder / "META_toy.json").write_text(json.dumps(NO_EMAIL))
    proc = check(cfg, folder)
    assert proc.returncode == 1
    assert proc.stdout == ""  # exit 1: nothing a script could take for the answer
    dv_part = proc.stderr.split("Dataverse (blocks: built-in stock blocks)\n")[1]
    assert "error: contacts: the contact “van Delft Pierre”" in dv_part
    assert "Dataverse requires a contact e-mail" in dv_part
    assert "nothing would be sent to Dataverse" in dv_part
    zenodo_alone = check(cfg, folder, "--repository", "zenodo")
    assert zenodo_alone.returncode == 0 and "metadata" in json.loads(zenodo_alone.stdout)


def test_repository_dataverse_without_a_dataverse_section_is_a_usage_error(
    tmp_path: Path,
) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"storage: {{root: {tmp_path}}}\nzenodo: {{token: {{env: X}}}}\n")
    folder = tmp_path / "toy"
    folder.mkdir()
    (folder / "META_toy.json").write_text(json.dumps(NO_EMAIL))
    proc = check(cfg, folder, "--repository", "dataverse")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "has no 'dataverse:' section" in proc.stderr and str(cfg) in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_broken_dataverse_definition_is_a_configuration_problem(
    tmp_path: Path, samples_dir: Path
) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=False)
    conf = tmp_path / "conf"
    shutil.copytree(samples_dir / "maggot-site" / "conf", conf)
    (conf / "dataverse.txt").write_text("Field\tTypename\ntitle\ttitle\nkeywords\n")
    cfg.write_text(cfg.read_text().replace(str(samples_dir / "maggot-site/conf"), str(conf)))
    proc = check(cfg, tmp_path / "storage" / "frim1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert f"{conf / 'dataverse.txt'}, line 3: a row needs at least a Field" in proc.stderr


def test_blocks_the_daemon_cached_are_the_ones_checked_against(
    tmp_path: Path, samples_dir: Path, dv
) -> None:
    cfg = site(tmp_path, samples_dir, zenodo=False, url=dv.base_url)
    config = load_config(cfg)
    rows, _origin = load_definition(config.maggot.conf_dir)
    dataverse_plan.site_blocks(client(dv), config, rows)  # what a deposit does first
    assert (dataverse_plan.cache_dir(config) / "licenses.json").is_file()
    proc = check(cfg, tmp_path / "storage" / "frim1")
    assert proc.returncode == 0, proc.stderr
    assert f"Dataverse (blocks: cached in {dataverse_plan.cache_dir(config)})" in proc.stderr
