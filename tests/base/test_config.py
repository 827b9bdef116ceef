"""The configuration: defaults, relative paths, and one clear message per mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from maggot_zenodo.config import ConfigError, load_config

MINIMAL = "storage:\n  root: data\nzenodo:\n  token: {env: ZENODO_TOKEN}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_minimal_config_gets_every_default(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL))
    assert config.storage.root == tmp_path / "data"
    assert config.storage.semaphore == "META_datafile_ok.txt"
    assert config.storage.watch == "auto"
    assert config.storage.poll_interval == 30
    assert config.storage.settle == 5
    assert config.zenodo.url == "https://zenodo.org"
    assert config.zenodo.publish is False
    assert config.zenodo.communities == ()
    assert config.zenodo.include_metadata_file is True
    assert config.zenodo.token is not None
    assert (config.zenodo.token.kind, config.zenodo.token.value) == ("env", "ZENODO_TOKEN")
    assert config.tokens.owners_dir is None
    assert config.maggot.conf_dir is None
    assert config.maggot.max_metadata_size == 5_000_000
    assert config.state == Path("/var/lib/maggot-zenodo/state.db")
    assert config.workers == 2


def test_full_config_is_read(tmp_path: Path) -> None:
    text = """
storage: {root: /srv/data, semaphore: GO.txt, watch: poll, poll_interval: 2.5, settle: 0}
zenodo:
  url: http://127.0.0.1:5000/
  token: {file: secret/token}
  publish: true
  communities: [inrae, zenodo]
  include_metadata_file: false
tokens: {owners_dir: tokens.d}
maggot: {conf_dir: /opt/maggot/web/conf, cvlist_dir: /opt/maggot/web/cvlist}
state: state.db
workers: 4
"""
    config = load_config(write(tmp_path, text))
    assert config.storage.root == Path("/srv/data")
    assert config.storage.watch == "poll"
    assert config.storage.poll_interval == 2.5
    assert config.zenodo.url == "http://127.0.0.1:5000"
    assert config.zenodo.token is not None
    assert config.zenodo.token.value == str(tmp_path / "secret/token")
    assert config.zenodo.communities == ("inrae", "zenodo")
    assert config.tokens.owners_dir == tmp_path / "tokens.d"
    assert config.state == tmp_path / "state.db"
    assert config.workers == 4


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        (MINIMAL + "storage_root: x\n", "storage_root", "unknown key"),
        (MINIMAL.replace("root: data", "root: data\n  polling: 3"), "storage.polling", "unknown"),
        ("zenodo:\n  token: {env: T}\n", "storage", "missing required key"),
        ("storage: {}\nzenodo: {token: {env: T}}\n", "storage.root", "missing required key"),
        ("storage: {root: x}\nzenodo: {}\n", "zenodo.token", "no Zenodo token"),
        (MINIMAL + "workers: two\n", "workers", "expected integer"),
        (MINIMAL.replace("root: data", "root: data\n  watch: fanotify"), "storage.watch", "not"),
        (MINIMAL + "state: ''\n", "state", "out of range"),
        ("storage: {root: x}\nzenodo: {token: {env: T, file: f}}\n", "zenodo.token", "exactly one"),
        ("storage: {root: x}\nzenodo: {url: ftp://x, token: {env: T}}\n", "zenodo.url", "http"),
        ("storage: {root: x}\nzenodo: {url: 'https://', token: {env: T}}\n", "zenodo.url", "host"),
        (
            "storage: {root: x}\nzenodo: {url: 'http://h:99999', token: {env: T}}\n",
            "zenodo.url",
            "valid",
        ),
    ],
)
def test_each_mistake_names_the_key_and_a_fix(
    tmp_path: Path, text: str, key: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: ")
    assert words in message
    assert "Fix: " in message


def test_invalid_yaml_points_at_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "storage:\n  root: [unclosed\n")
    with pytest.raises(ConfigError, match="line 3"):
        load_config(path)


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_environment_variable_names_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, MINIMAL)
    monkeypatch.setenv("MAGGOT_ZENODO_CONFIG", str(path))
    assert load_config().source == path


def test_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "bogus: 1\n")
    result = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "validate", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "bogus: unknown key" in result.stderr
    (tmp_path / "data").mkdir()  # validate checks the environment too (#9): make it ready
    ready = MINIMAL + f"state: {tmp_path / 'state.db'}\n"
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "maggot_zenodo",
            "validate",
            "--config",
            str(write(tmp_path, ready)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ZENODO_TOKEN": "a-token-for-validate"},
    )
    assert ok.returncode == 0, ok.stderr


@pytest.mark.parametrize(
    ("zenodo", "words"),
    [
        ("{token: s3cr3t-inline-token-value}", "must not be written in the configuration"),
        ("{token: {s3cr3t-inline-token-value: x}}", "exactly one of file, credential or env"),
        ("{token: {file: [s3cr3t-inline-token-value]}}", "exactly one of file, credential or env"),
        (
            "{url: 'https://zenodo.org/?access_token=s3cr3t-inline-token-value', token: {env: T}}",
            "query string",
        ),
        (
            "{url: 'https://me:s3cr3t-inline-token-value@zenodo.org', token: {env: T}}",
            "user name or password",
        ),
    ],
)
def test_a_secret_written_in_the_wrong_place_is_never_echoed(
    tmp_path: Path, zenodo: str, words: str
) -> None:
    path = write(tmp_path, f"storage: {{root: x}}\nzenodo: {zenodo}\n")
    result = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "validate", "--config", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert words in result.stderr
    assert "s3cr3t" not in result.stderr + result.stdout
