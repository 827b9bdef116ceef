"""Find the Zenodo token for a dataset: the semaphore owner's own, or the site's.

A token is a password to a Zenodo account, so a token file that group or others could read
is refused (rather than silently used), and every token read is registered with
:func:`logs.register_secret` so that no log line can ever show it.
"""

from __future__ import annotations

import os
import pwd
import stat as stat_module
from dataclasses import dataclass
from pathlib import Path

from maggot_zenodo.config import Config, SecretSource
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import register_secret

MAX_TOKEN_FILE = 64 * 1024


class TokenError(UserError, ValueError):
    """No usable token; ``hint`` says what a sysadmin should do. Never holds the token.

    A ValueError too, so that callers that validate a token argument (the client) raise one
    type that both the CLI and plain Python code understand."""


@dataclass(frozen=True)
class Token:
    """A token and the account label the journal keys depositions by (never the token)."""

    value: str
    account: str

    def __repr__(self) -> str:
        return f"Token(account={self.account!r}, value=***)"

    __str__ = __repr__


def read_token_file(path: Path, *, credential: bool = False, repository: str = "Zenodo") -> str:
    """Read a token file, refusing one that group or others may read.

    A systemd credential is exempt from the group check: systemd makes the file itself, in a
    directory only the service may enter, 0400 up to systemd 256 and 0440 (the service's own
    group) from 257 on (Debian trixie)."""
    try:
        # O_NONBLOCK: a FIFO in place of the file must not hang the daemon
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise TokenError(
            f"The token file {path} does not exist.",
            f"Put the {repository} token in {path} (owned by the service user, chmod 600 {path}).",
        ) from None
    except OSError as exc:
        raise TokenError(
            f"The token file {path} cannot be read ({exc.strerror}).",
            f"Make it readable by the service user only: chown it and chmod 600 {path}.",
        ) from None
    st = os.fstat(fd)
    if not stat_module.S_ISREG(st.st_mode):
        os.close(fd)
        kind = "a directory" if stat_module.S_ISDIR(st.st_mode) else "not a regular file"
        raise TokenError(
            f"The token file {path} is {kind}.",
            f"Put the {repository} token in a regular file at {path} (chmod 600), "
            "or point the token setting at the file inside that folder.",
        )
    with os.fdopen(fd, "rb") as fh:
        if st.st_mode & (0o007 if credential else 0o077):
            raise TokenError(
                f"The token file {path} is readable by group or others "
                f"(mode {stat_module.S_IMODE(st.st_mode):04o}); it is refused. "
                f"Fix: chmod 600 {path}",
                f"Run: chmod 600 {path}",
            )
        data = fh.read(MAX_TOKEN_FILE + 1)
    if len(data) > MAX_TOKEN_FILE:
        raise TokenError(f"The token file {path} is far too large to hold a token.", "")
    return _clean(data.decode("utf-8", errors="replace"), f"the token file {path}", repository)


def check_token_text(
    value: str, where: str = "the Zenodo token", repository: str = "Zenodo"
) -> None:
    """Refuse a token that cannot go into an HTTP header as it is (the one token check).

    ``value`` is the token already stripped of surrounding whitespace. The error names
    ``where`` the token came from and never echoes the value (requests would, in its
    InvalidHeader message)."""
    label = f"{where[0].upper()}{where[1:]}"
    if not isinstance(value, str) or not value:
        raise TokenError(f"{label} is empty.", f"Put the {repository} token in it.")
    if any(c.isspace() for c in value):
        raise TokenError(
            f"{label} holds more than one word; a token is one word.",
            "Keep only the token in it, on one line.",
        )
    if not value.isascii() or not value.isprintable():
        raise TokenError(
            f"{label} holds control or non-ASCII characters; a {repository} token has none.",
            f"Keep only the token in it, on one line, as {repository} shows it.",
        )


def header_token(token: str, repository: str = "Zenodo") -> str:
    """The token a client puts in its header: without surrounding whitespace (token files end
    with a newline), refused by the one token check as a ValueError that never echoes it."""
    value = token.strip() if isinstance(token, str) else ""
    try:
        check_token_text(value, f"the {repository} token", repository)
    except TokenError as error:
        # requests would echo the whole header value in its InvalidHeader message.
        raise ValueError(f"{error.message} {error.hint}".strip()) from None
    return value


def _clean(text: str, where: str, repository: str = "Zenodo") -> str:
    value = text.strip()
    check_token_text(value, where, repository)
    return value


def credential_file(source: SecretSource) -> str:
    """Where the README's unit keeps the file a systemd credential of ``source`` loads."""
    name = "token" if source.repository == "Zenodo" else f"{source.repository.lower()}-token"
    return f"/etc/maggot-zenodo/{name}"


def read_source(source: SecretSource) -> str:
    """Read a secret from a file, a systemd credential or an environment variable."""
    repository = source.repository
    if source.kind == "file":
        value = read_token_file(Path(source.value), repository=repository)
    elif source.kind == "credential":
        directory = os.environ.get("CREDENTIALS_DIRECTORY")
        if not directory:
            raise TokenError(
                f"The systemd credential {source.value!r} is configured, but "
                "$CREDENTIALS_DIRECTORY is not set.",
                f"Add 'LoadCredential={source.value}:{credential_file(source)}' to the unit, "
                "or use 'token: {file: ...}' outside systemd.",
            )
        path = Path(directory) / source.value
        if not path.exists():
            raise TokenError(
                f"The systemd credential {source.value!r} is missing from $CREDENTIALS_DIRECTORY.",
                f"Check the unit's LoadCredential={source.value}:... line.",
            )
        value = read_token_file(path, credential=True, repository=repository)
    elif source.kind == "env":
        raw = os.environ.get(source.value)
        if raw is None:
            raise TokenError(
                f"The environment variable {source.value} is not set.",
                f"Set {source.value} to the {repository} token, or configure a token file.",
            )
        value = _clean(raw, f"the environment variable {source.value}", repository)
    else:  # the config schema allows nothing else
        raise TokenError(f"Unknown token source {source.kind!r}.", "")
    register_secret(value)
    return value


def owner_name(path: Path) -> str | None:
    """User name of ``path``'s owner (the link itself is not followed); None if unknown."""
    try:
        uid = os.lstat(path).st_uid
    except OSError:
        return None
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def token_for(config: Config, semaphore: Path | None) -> Token:
    """The token for a dataset whose semaphore is ``semaphore`` (None: no semaphore).

    With ``tokens.owners_dir``, the semaphore owner's file ``owners_dir/<user>`` is used when
    it exists; otherwise the site token ``zenodo.token``; otherwise a :class:`TokenError`.
    """
    owners_dir = config.tokens.owners_dir
    user = owner_name(semaphore) if (owners_dir and semaphore is not None) else None
    if owners_dir and user and "/" not in user and not user.startswith("."):
        candidate = owners_dir / user
        if os.path.lexists(candidate):
            value = read_token_file(candidate)
            register_secret(value)
            return Token(value, f"user:{user}")
    if config.zenodo.token is not None:
        return Token(read_source(config.zenodo.token), "site")
    if owners_dir:
        who = f"user {user!r}" if user else "this dataset (no semaphore, so no owner)"
        raise TokenError(
            f"No Zenodo token is configured for {who}.",
            f"Put that user's token in {owners_dir}/{user or '<user>'} (chmod 600), "
            "or configure a site token zenodo.token.",
        )
    raise TokenError("No Zenodo token is configured.", "Set zenodo.token in the configuration.")
