"""Is this machine ready to run the daemon? One check for `validate` and the daemon's start.

:func:`check_environment` looks at what the configuration names — the storage root, the state
database, the token sources (Zenodo's when configured, Dataverse's), the Maggot definition
files — and at whether the service can write into the storage. Each finding is one line
naming the key and the fix; an ``error`` means the daemon must not start (exit 2), a
``warning`` that it will run but something is off.
Tokens are read to prove they can be, never printed.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

from maggot_zenodo import tokens
from maggot_zenodo.config import Config, SecretSource
from maggot_zenodo.convert.maggot import SiteError
from maggot_zenodo.publish.explain import write_hint
from maggot_zenodo.publish.prepare import load_site
from maggot_zenodo.state.health import check_state

#: The file the write probe creates (and removes at once) in the storage root.
PROBE_NAME = ".maggot-zenodo-write-probe"


@dataclass(frozen=True)
class Finding:
    """One thing wrong with the environment: ``key`` names the setting, ``message`` says it all."""

    key: str
    message: str
    severity: str = "error"  # "error" | "warning"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def __str__(self) -> str:
        return f"{self.severity}: {self.key}: {self.message}"


def probe_write(folder: Path) -> OSError | None:
    """Create and remove a small file in ``folder``; the error when that is not possible."""
    probe = folder / f"{PROBE_NAME}.{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        return exc
    os.close(fd)
    try:
        os.unlink(probe)
    except OSError as exc:
        return exc
    return None


def _storage(config: Config) -> list[Finding]:
    root = config.storage.root
    if not root.exists():
        return [Finding("storage.root", f"{root} does not exist; fix the path or mount it")]
    if not root.is_dir():
        return [Finding("storage.root", f"{root} is not a directory; give the storage folder")]
    if not os.access(root, os.R_OK | os.X_OK):
        return [Finding("storage.root", f"{root} cannot be read by the service user")]
    failed = probe_write(root)
    if failed is None:
        return []
    severity = "error" if failed.errno == errno.EROFS else "warning"
    return [Finding("storage.root", write_hint(failed, root), severity)]


CIFS_TYPES = frozenset({"cifs", "smb3", "smbfs"})


def cifs_owner_warning(config: Config, fstype: str | None) -> Finding | None:
    """With ``tokens.owners_dir`` on a CIFS/SMB mount every file has the mount's owner, so
    the owner rule would send every dataset to one account. ``fstype`` is the storage's file
    system type (runtime and validate know it from ``watch.fstype``)."""
    if config.tokens.owners_dir is None or fstype not in CIFS_TYPES:
        return None
    return Finding(
        "tokens.owners_dir",
        f"the storage is a {fstype} mount, where every file has the mount's owner: every "
        "dataset would go to that one user's account; use a site token (zenodo.token) instead",
        "warning",
    )


def _token(config: Config) -> list[Finding]:
    findings = []
    if config.zenodo.token is not None:
        try:
            tokens.read_source(config.zenodo.token)
        except tokens.TokenError as exc:
            findings.append(Finding("zenodo.token", f"{exc.message} Fix: {exc.hint}".strip()))
    if config.dataverse is not None and config.dataverse.token is not None:
        findings += _dataverse_token(config.dataverse.token)
    owners = config.tokens.owners_dir
    if owners is not None and not (owners.is_dir() and os.access(owners, os.R_OK | os.X_OK)):
        findings.append(
            Finding("tokens.owners_dir", f"{owners} is not a folder the service user can read")
        )
    return findings


def _dataverse_token(source: SecretSource) -> list[Finding]:
    """The Dataverse token can be read, and is one a header can carry."""
    from maggot_zenodo.dataverse.transport import clean_token

    try:
        clean_token(tokens.read_source(source))
    except tokens.TokenError as exc:
        return [Finding("dataverse.token", f"{exc.message} Fix: {exc.hint}".strip())]
    except ValueError as exc:
        return [Finding("dataverse.token", f"{exc}; put the token alone in its source")]
    return []


def _definitions(config: Config) -> list[Finding]:
    try:
        load_site(config)
    except SiteError as exc:
        return [Finding("maggot.conf_dir", str(p)) for p in exc.problems]
    return []


def check_environment(config: Config, fstype: str | None = None) -> list[Finding]:
    """Everything wrong with the environment ``config`` names (errors first); [] when ready.
    ``fstype``: the storage's file system type when the caller knows it."""
    findings = _storage(config)
    cifs = cifs_owner_warning(config, fstype)
    if cifs is not None:
        findings.append(cifs)
    state = check_state(config.state)
    if state is not None:
        findings.append(Finding("state", state.message))
    findings += _token(config) + _definitions(config)
    return sorted(findings, key=lambda f: not f.is_error)
