"""``maggot-zenodo validate``: the configuration and the environment it names, one line each."""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import TOKEN

from maggot_zenodo.config import parse_config
from maggot_zenodo.publish.environment import (
    check_environment,
    cifs_owner_warning,
    write_hint,
)
from maggot_zenodo.state.health import check_state, state_error
from maggot_zenodo.state.journal import Journal, StateError


def _config(tmp_path: Path, **over):
    root = tmp_path / "storage"
    root.mkdir(exist_ok=True)
    token = tmp_path / "token"
    if not token.exists():
        token.write_text(TOKEN + "\n")
        token.chmod(0o600)
    data = {
        "storage": {"root": str(root)},
        "zenodo": {"url": "http://127.0.0.1:9", "token": {"file": str(token)}},
        "state": str(tmp_path / "state" / "state.db"),
    }
    for key, value in over.items():
        section, _, name = key.partition(".")
        if name:
            data.setdefault(section, {})[name] = value
        else:
            data[section] = value
    return parse_config(data, base_dir=tmp_path)


def _validate(tmp_path: Path, config_data: dict, *extra: str, env=None):
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config_data))
    return subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "validate", "--config", str(path), *extra],
        capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})},
    )  # fmt: skip


def _data(tmp_path: Path, root: Path, state: Path, token: Path, url="http://127.0.0.1:9"):
    return {
        "storage": {"root": str(root)},
        "zenodo": {"url": url, "token": {"file": str(token)}},
        "state": str(state),
    }


def test_a_ready_machine_is_valid(tmp_path: Path) -> None:
    assert check_environment(_config(tmp_path)) == []


def test_a_mistyped_storage_root_is_an_error(tmp_path: Path) -> None:
    config = _config(tmp_path, **{"storage.root": str(tmp_path / "nope")})
    [finding] = check_environment(config)
    assert finding.is_error and finding.key == "storage.root" and "does not exist" in str(finding)
    (tmp_path / "file").write_text("")
    config = _config(tmp_path, **{"storage.root": str(tmp_path / "file")})
    assert "not a directory" in str(check_environment(config)[0])


@pytest.mark.parametrize("kind", ["directory", "garbage", "truncated"])
def test_state_database_problems_name_the_file_and_the_fix(tmp_path: Path, kind: str) -> None:
    state = tmp_path / "state.db"
    if kind == "directory":
        state.mkdir()
    elif kind == "garbage":
        state.write_bytes(b"this is not sqlite at all" * 100)
    else:
        journal = Journal(state)
        journal.dataset("u", "a", "f", "/f")
        journal.close()
        data = state.read_bytes()
        state.write_bytes(data[: len(data) // 3] + b"\0" * 10)
    problem = check_state(state)
    assert problem is not None and str(state) in problem.message and "Fix:" in problem.message
    with pytest.raises(StateError) as info:
        Journal(state).rows()
    assert str(state) in info.value.message and "\n" not in info.value.message


def test_read_only_and_full_are_told_apart() -> None:
    path = Path("/srv/state.db")
    ro = state_error(path, sqlite3.OperationalError("attempt to write a readonly database"))
    full = state_error(path, sqlite3.OperationalError("database or disk is full"))
    assert "cannot be written" in ro.message and "write access" in ro.message
    assert "disk is full" in full.message and "free space" in full.message


def test_every_command_exits_2_with_one_line_on_a_bad_state_database(tmp_path: Path) -> None:
    root, token = tmp_path / "storage", tmp_path / "token"
    root.mkdir()
    token.write_text(TOKEN)
    token.chmod(0o600)
    state = tmp_path / "state.db"
    state.write_bytes(b"garbage" * 300)
    data = _data(tmp_path, root, state, token)
    result = _validate(tmp_path, data)
    assert result.returncode == 2, result
    assert result.stderr.count("\n") == 1 and str(state) in result.stderr
    assert "Traceback" not in result.stderr
    for command in (["status"], ["run", "--once"], ["scan"]):
        path = tmp_path / "config.yaml"
        run = subprocess.run(
            [sys.executable, "-m", "maggot_zenodo", *command, "--config", str(path)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 2, (command, run.stderr)
        assert "Traceback" not in run.stderr and str(state) in run.stderr, (command, run.stderr)


def test_a_token_path_that_is_a_directory_is_one_line_exit_2(tmp_path: Path) -> None:
    root, token = tmp_path / "storage", tmp_path / "tokendir"
    root.mkdir()
    token.mkdir()
    result = _validate(tmp_path, _data(tmp_path, root, tmp_path / "s.db", token))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "zenodo.token" in result.stderr and "is a directory" in result.stderr
    assert result.stderr.count("\n") == 1


def test_a_site_definition_file_that_does_not_parse_is_an_error(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "maggot-schema.json").write_text("{ not json")
    findings = check_environment(_config(tmp_path, **{"maggot.conf_dir": str(conf)}))
    assert findings and findings[0].is_error and findings[0].key == "maggot.conf_dir"


def test_the_token_is_never_printed(tmp_path: Path) -> None:
    root, token = tmp_path / "storage", tmp_path / "token"
    root.mkdir()
    token.write_text(TOKEN + " extra words\n")  # refused: more than one word
    token.chmod(0o600)
    result = _validate(tmp_path, _data(tmp_path, root, tmp_path / "s.db", token))
    assert result.returncode == 2
    assert TOKEN not in result.stdout + result.stderr


def test_read_only_mount_and_missing_permission_get_different_fixes() -> None:
    where = Path("/data")
    erofs = write_hint(OSError(errno.EROFS, "Read-only file system"), where)
    eacces = write_hint(OSError(errno.EACCES, "Permission denied"), where)
    assert "ReadWritePaths=/data" in erofs and "setgid" not in erofs
    assert "setgid" in eacces and "ReadWritePaths" not in eacces


def test_cifs_with_owners_dir_warns(tmp_path: Path) -> None:
    owners = tmp_path / "owners"
    owners.mkdir()
    config = _config(tmp_path, **{"tokens.owners_dir": str(owners)})
    warning = cifs_owner_warning(config, "cifs")
    assert warning is not None and not warning.is_error and "mount's owner" in warning.message
    assert cifs_owner_warning(config, "ext4") is None
    assert cifs_owner_warning(_config(tmp_path), "cifs") is None


def test_online_prints_the_rate_limit_and_refuses_a_bad_token(tmp_path, emulator_factory) -> None:
    emu = emulator_factory(tokens=(TOKEN,), rate_limit="60/min")
    root, token = tmp_path / "storage", tmp_path / "token"
    root.mkdir()
    token.write_text(TOKEN + "\n")
    token.chmod(0o600)
    data = _data(tmp_path, root, tmp_path / "s.db", token, url=emu.base_url)
    good = _validate(tmp_path, data, "--online")
    assert good.returncode == 0, good.stderr
    assert "accepts the token" in good.stdout and "rate limit 60" in good.stdout
    token.write_text("not-the-right-token\n")
    bad = _validate(tmp_path, data, "--online")
    assert bad.returncode == 1 and "refuses the token" in bad.stderr
    assert TOKEN not in good.stdout + good.stderr + bad.stdout + bad.stderr


def test_publish_as_root_with_the_packaged_credential_says_what_to_do(tmp_path: Path) -> None:
    # 0.1.0: failed with "$CREDENTIALS_DIRECTORY is not set", yet wrote a META_zenodo.txt
    # promising "it will be tried again automatically"
    root = tmp_path / "storage"
    folder = root / "ds"
    folder.mkdir(parents=True)
    (folder / "META_ds.json").write_text("{}")
    (folder / "META_datafile_ok.txt").touch()
    data = {
        "storage": {"root": str(root)},
        "zenodo": {"url": "http://127.0.0.1:9", "token": {"credential": "zenodo-token"}},
        "state": str(tmp_path / "state.db"),
    }
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(data))
    env = {k: v for k, v in os.environ.items() if k != "CREDENTIALS_DIRECTORY"}
    result = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "publish", str(folder), "--config", str(path)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert result.returncode == 2, result
    assert "systemd-run" in result.stderr and "LoadCredential=zenodo-token" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (folder / "META_zenodo.txt").exists()
