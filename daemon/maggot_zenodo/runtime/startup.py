"""Checks made before a daemon or a ``run --once`` takes any work: the token, the lock."""

from __future__ import annotations

import sys

from maggot_zenodo.config import Config
from maggot_zenodo.lock import AlreadyRunning, InstanceLock
from maggot_zenodo.logs import get_logger

log = get_logger("maggot_zenodo.runtime.startup")


def token_problem(config: Config) -> str | None:
    """Read the site token once at start, so that a missing or unreadable token stops the
    daemon with the fix (exit 2, as any bad configuration) instead of failing every dataset.
    Reading it also registers it for scrubbing from the logs."""
    if config.zenodo.token is None:
        return None  # tokens.owners_dir only: each dataset's owner brings a token
    from maggot_zenodo import tokens

    try:
        tokens.read_source(config.zenodo.token)
    except tokens.TokenError as exc:
        return f"{exc.message} Fix: {exc.hint}" if exc.hint else exc.message
    return None


def refuse_bad_token(config: Config) -> bool:
    problem = token_problem(config)
    if problem is None:
        return False
    log.error("refusing to start", error=problem)
    print(f"maggot-zenodo: zenodo.token: {problem}", file=sys.stderr, flush=True)
    return True


def acquire(config: Config) -> InstanceLock | None:
    lock = InstanceLock(config.state)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        log.error("refusing to start", error=str(exc))
        print(f"maggot-zenodo: {exc}", file=sys.stderr, flush=True)
        return None
    return lock
