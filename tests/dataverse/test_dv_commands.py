"""``validate`` (the environment, ``--online``) and ``status --check`` on a site with
Dataverse, against the Dataverse emulator over loopback: Dataverse's own words, and no
Zenodo where the site has none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from testkit import TOKEN, Emulator
from testkit.daemon import run_cli

from maggot_zenodo.config import parse_config
from maggot_zenodo.publish.environment import check_environment
from maggot_zenodo.state.journal import Journal

BAD = "not-the-right-token-123456"


def site(tmp_path: Path, url: str, *, token: str = TOKEN, collection: str = "maggot",
         zenodo: str | None = None) -> dict[str, Any]:  # fmt: skip
    root = tmp_path / "storage"
    root.mkdir(exist_ok=True)
    (tmp_path / "state").mkdir(exist_ok=True)
    token_file = tmp_path / "dv-token"
    token_file.write_text(token + "\n")
    token_file.chmod(0o600)
    data: dict[str, Any] = {
        "storage": {"root": str(root)},
        "dataverse": {"url": url, "token": {"file": str(token_file)}, "collection": collection},
        "state": str(tmp_path / "state" / "state.db"),
    }
    if zenodo is not None:
        data["zenodo"] = {"url": zenodo, "token": {"env": "ZENODO_TOKEN"}}
    return data


def validate(tmp_path: Path, data: dict[str, Any], *extra: str) -> subprocess.CompletedProcess:
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(data))
    return subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "validate", "--config", str(path), *extra],
        capture_output=True, text=True, timeout=120,
        env={**os.environ, "ZENODO_TOKEN": TOKEN},
    )  # fmt: skip


def test_online_on_a_dataverse_only_site_names_version_account_and_collection(
    tmp_path: Path, dv
) -> None:
    good = validate(tmp_path, site(tmp_path, dv.base_url), "--online")
    assert good.returncode == 0, good.stderr
    assert f"online: {dv.base_url} is Dataverse 6.4 (account @user" in good.stdout
    assert f"online: {dv.base_url}: datasets may be added to 'maggot'" in good.stdout
    assert "Zenodo" not in good.stdout + good.stderr
    assert "no site token to try" not in good.stdout + good.stderr
    assert TOKEN not in good.stdout + good.stderr


def test_online_problems_exit_1_in_dataverses_words(tmp_path: Path, dv) -> None:
    refused = validate(tmp_path, site(tmp_path, dv.base_url, token=BAD), "--online")
    assert refused.returncode == 1
    assert "maggot-zenodo: error: dataverse: " in refused.stderr and "token" in refused.stderr
    assert BAD not in refused.stdout + refused.stderr
    missing = validate(tmp_path, site(tmp_path, dv.base_url, collection="nope"), "--online")
    assert missing.returncode == 1
    assert "dataverse.collection: no collection 'nope'" in missing.stderr
    closed = validate(tmp_path, site(tmp_path, dv.base_url, collection="root"), "--online")
    assert closed.returncode == 1 and "may not add datasets to 'root'" in closed.stderr
    offline = validate(tmp_path, site(tmp_path, dv.base_url, collection="nope"))
    assert offline.returncode == 0, offline.stderr  # without --online: no request


def test_online_with_both_asks_both(tmp_path: Path, dv, emulator_factory) -> None:
    zen: Emulator = emulator_factory(tokens=(TOKEN,))
    res = validate(tmp_path, site(tmp_path, dv.base_url, zenodo=zen.base_url), "--online")
    assert res.returncode == 0, res.stderr
    assert f"online: {zen.base_url} answers and accepts the token" in res.stdout
    assert f"online: {dv.base_url} is Dataverse 6.4" in res.stdout
    refused = validate(
        tmp_path, site(tmp_path, dv.base_url, token=BAD, zenodo=zen.base_url), "--online"
    )
    assert refused.returncode == 1
    assert "accepts the token" in refused.stdout and "error: dataverse:" in refused.stderr


def test_the_environment_checks_the_dataverse_token_source(tmp_path: Path) -> None:
    data = site(tmp_path, "https://dv.example.org")
    assert check_environment(parse_config(data, base_dir=tmp_path)) == []  # no Zenodo demanded
    (tmp_path / "dv-token").unlink()
    [finding] = check_environment(parse_config(data, base_dir=tmp_path))
    assert finding.is_error and finding.key == "dataverse.token"
    assert str(tmp_path / "dv-token") in finding.message
    res = validate(tmp_path, data)
    assert res.returncode == 2 and "error: dataverse.token: " in res.stderr
    spaced = site(tmp_path, "https://dv.example.org", token="two words")
    [finding] = check_environment(parse_config(spaced, base_dir=tmp_path))
    assert finding.key == "dataverse.token" and "two words" not in str(finding)


def status_check(tmp_path: Path, data: dict[str, Any], *extra: str) -> tuple[int, str]:
    Journal(Path(data["state"])).close()  # a state the check can read (no daemon runs)
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(data))
    res = run_cli("status", "--check", "--config", str(path), "--timeout", "5", *extra)
    assert res.stderr == "" and TOKEN not in res.stdout and BAD not in res.stdout
    assert res.stdout.startswith("MAGGOT-ZENODO ") and res.stdout.count("\n") == 1
    return res.returncode, res.stdout


def test_status_check_probes_dataverse_and_no_zenodo_on_a_dataverse_only_site(
    tmp_path: Path, dv
) -> None:
    code, line = status_check(tmp_path, site(tmp_path, dv.base_url))
    assert code == 2 and "daemon not running" in line  # no daemon here: CRITICAL for that
    assert "Dataverse reachable" in line and "Zenodo" not in line
    code, line = status_check(tmp_path, site(tmp_path, dv.base_url, token=BAD))
    assert code == 2 and f"Dataverse {dv.base_url} refuses the token" in line
    base = dv.base_url
    dv.stop()
    code, line = status_check(tmp_path, site(tmp_path, base))
    assert code == 2 and f"Dataverse {base} unreachable" in line
    code, line = status_check(tmp_path, site(tmp_path, base), "--no-network")
    assert "Dataverse" not in line and "Zenodo" not in line
