"""tokens: sources, permission check, owners_dir, and no token in any message or repr."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from maggot_zenodo.config import parse_config
from maggot_zenodo.logs import scrub
from maggot_zenodo.tokens import TokenError, read_source, read_token_file, token_for

SECRET = "tok-SECRET-1234567890abcdef"


def _config(tmp_path: Path, **zenodo) -> object:
    data = {"storage": {"root": str(tmp_path)}, "zenodo": zenodo}
    return parse_config(data, base_dir=tmp_path)


def _token_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_file_token_is_stripped_and_registered(tmp_path):
    f = _token_file(tmp_path / "token", f"  {SECRET}\n")
    tok = token_for(_config(tmp_path, token={"file": str(f)}), None)
    assert tok.value == SECRET
    assert tok.account == "site"
    assert SECRET not in repr(tok) and SECRET not in str(tok)
    assert scrub(f"x {SECRET} y") == "x *** y"


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_file_readable_by_others_is_refused_with_fix(tmp_path, mode):
    f = _token_file(tmp_path / "token", SECRET, mode)
    with pytest.raises(TokenError) as err:
        read_token_file(f)
    assert f"chmod 600 {f}" in err.value.hint
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("text", ["", "  \n\n"])
def test_empty_token_file_is_an_error(tmp_path, text):
    f = _token_file(tmp_path / "token", text)
    with pytest.raises(TokenError, match="empty"):
        read_token_file(f)


def test_missing_token_file(tmp_path):
    with pytest.raises(TokenError, match="does not exist"):
        read_token_file(tmp_path / "nope")


def test_env_token(tmp_path, monkeypatch):
    monkeypatch.setenv("MZ_TEST_TOKEN", SECRET + "\n")
    assert token_for(_config(tmp_path, token={"env": "MZ_TEST_TOKEN"}), None).value == SECRET
    monkeypatch.delenv("MZ_TEST_TOKEN")
    with pytest.raises(TokenError, match="MZ_TEST_TOKEN is not set"):
        token_for(_config(tmp_path, token={"env": "MZ_TEST_TOKEN"}), None)


def test_systemd_credential(tmp_path, monkeypatch):
    creds = tmp_path / "creds"
    creds.mkdir()
    _token_file(creds / "zenodo-token", SECRET, 0o400)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    cfg = _config(tmp_path, token={"credential": "zenodo-token"})
    assert token_for(cfg, None).value == SECRET
    monkeypatch.delenv("CREDENTIALS_DIRECTORY")
    with pytest.raises(TokenError, match="CREDENTIALS_DIRECTORY"):
        token_for(cfg, None)


def test_systemd_257_credential_mode_0440_is_accepted_but_not_0444(tmp_path, monkeypatch):
    """systemd 257 (Debian trixie) makes credential files 0440; others may still not read."""
    creds = tmp_path / "creds"
    creds.mkdir()
    _token_file(creds / "zenodo-token", SECRET, 0o440)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(creds))
    cfg = _config(tmp_path, token={"credential": "zenodo-token"})
    assert token_for(cfg, None).value == SECRET
    os.chmod(creds / "zenodo-token", 0o444)
    with pytest.raises(TokenError, match="readable by group or others"):
        token_for(cfg, None)
    # A plain token file keeps the strict rule: group-readable is refused.
    site = _token_file(tmp_path / "site", SECRET, 0o440)
    with pytest.raises(TokenError, match="readable by group or others"):
        token_for(_config(tmp_path, token={"file": str(site)}), None)


def test_owner_token_wins_then_site_token(tmp_path):
    owners = tmp_path / "tokens.d"
    owners.mkdir()
    sem = tmp_path / "META_datafile_ok.txt"
    sem.touch()
    user = pwd.getpwuid(os.lstat(sem).st_uid).pw_name
    site = _token_file(tmp_path / "site", "site-token-xyz")
    data = {
        "storage": {"root": str(tmp_path)},
        "zenodo": {"token": {"file": str(site)}},
        "tokens": {"owners_dir": str(owners)},
    }
    cfg = parse_config(data, base_dir=tmp_path)
    assert token_for(cfg, sem).value == "site-token-xyz"  # no file for the owner yet
    _token_file(owners / user, SECRET)
    tok = token_for(cfg, sem)
    assert (tok.value, tok.account) == (SECRET, f"user:{user}")
    (owners / user).chmod(0o644)
    with pytest.raises(TokenError, match="chmod 600"):
        token_for(cfg, sem)


def test_owners_dir_without_site_token_names_the_user(tmp_path):
    owners = tmp_path / "tokens.d"
    owners.mkdir()
    sem = tmp_path / "META_datafile_ok.txt"
    sem.touch()
    cfg = parse_config(
        {"storage": {"root": str(tmp_path)}, "zenodo": {}, "tokens": {"owners_dir": str(owners)}},
        base_dir=tmp_path,
    )
    user = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(TokenError, match=user):
        token_for(cfg, sem)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        (f"{SECRET} second-word", "more than one word"),
        (f"{SECRET}\x07", "control or non-ASCII"),
        (f"{SECRET}é", "control or non-ASCII"),
    ],
)
def test_a_malformed_token_is_a_clear_error_that_does_not_echo_it(tmp_path, text, words):
    f = _token_file(tmp_path / "token", text)
    with pytest.raises(TokenError, match=words) as err:
        read_token_file(f)
    assert SECRET not in str(err.value) + err.value.hint


def test_a_token_path_that_is_a_directory_or_a_fifo_is_a_clear_error(tmp_path):
    # 0.1.0: a directory gave a raw IsADirectoryError traceback; a FIFO would block forever
    folder = tmp_path / "token-dir"
    folder.mkdir()
    with pytest.raises(TokenError, match="is a directory") as info:
        read_token_file(folder)
    assert str(folder) in info.value.message and info.value.hint
    fifo = tmp_path / "token-fifo"
    os.mkfifo(fifo)
    with pytest.raises(TokenError, match="not a regular file"):
        read_token_file(fifo)  # returns at once: opened without blocking


def test_check_token_text_is_the_one_token_check_and_never_echoes():
    from maggot_zenodo.errors import UserError
    from maggot_zenodo.tokens import check_token_text

    check_token_text("abcDEF123-_.")
    for bad in ("", "two words", "tab\there", "é-token", "nul\x00x"):
        with pytest.raises(TokenError) as info:
            check_token_text(bad, "the token file /etc/t")
        assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)
        assert "/etc/t" in info.value.message
        if bad:
            assert bad not in info.value.message


def test_a_dataverse_token_source_is_named_dataverse_in_every_message(tmp_path, monkeypatch):
    monkeypatch.delenv("DV_TOKEN_TEST", raising=False)
    config = parse_config(
        {
            "storage": {"root": str(tmp_path)},
            "dataverse": {
                "url": "https://dv.example.org",
                "token": {"env": "DV_TOKEN_TEST"},
                "collection": "c",
            },
        },
        base_dir=tmp_path,
    )
    source = config.dataverse.token
    with pytest.raises(TokenError) as unset:
        read_source(source)
    assert "Dataverse token" in unset.value.hint and "Zenodo" not in str(unset.value.hint)
    monkeypatch.setenv("DV_TOKEN_TEST", "two words")
    with pytest.raises(TokenError) as spaced:
        read_source(source)
    assert "Zenodo" not in spaced.value.message + spaced.value.hint
    credential = type(source)("credential", "dataverse-token", "Dataverse")
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    with pytest.raises(TokenError) as missing:
        read_source(credential)
    assert "LoadCredential=dataverse-token:/etc/maggot-zenodo/dataverse-token" in missing.value.hint
