"""Checks made before a daemon or a ``run --once`` takes any work: the environment (tokens
included, through ``publish.environment``), the state file's lock, and the storage's lease
(kept while the process runs)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from maggot_zenodo.config import Config
from maggot_zenodo.lock import AlreadyRunning, InstanceLock
from maggot_zenodo.logs import get_logger
from maggot_zenodo.runtime.lease import STALE_FACTOR, Lease, LeaseHeld

log = get_logger("maggot_zenodo.runtime.startup")


def refuse_bad_environment(config: Config) -> bool:
    """The environment check of `validate`, at start: True (after one line per error on
    stderr and in the log, each naming the key and the fix) when the daemon must not start —
    storage root missing or read-only, state not writable, token unreadable, a Maggot
    definition file that does not parse. Warnings are logged and the daemon starts."""
    from maggot_zenodo.publish.environment import check_environment
    from maggot_zenodo.watch.fstype import MOUNTINFO, fs_type_for

    try:
        fstype = fs_type_for(str(Path(config.storage.root).resolve()), MOUNTINFO.read_text())
    except OSError:
        fstype = None
    refused = False
    for finding in check_environment(config, fstype):
        line = f"{finding.key}: {finding.message}"
        if finding.is_error:
            refused = True
            log.error(f"refusing to start: {line}", error=finding.message, key=finding.key)
            print(f"maggot-zenodo: {line}", file=sys.stderr, flush=True)
        else:
            log.warning(line, key=finding.key)
    return refused


def acquire(config: Config) -> InstanceLock | None:
    lock = InstanceLock(config.state)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        log.error("refusing to start", error=str(exc))
        print(f"maggot-zenodo: {exc}", file=sys.stderr, flush=True)
        return None
    return lock


class Held:
    """The state file's lock and the storage's lease, for as long as this process works."""

    def __init__(self, lock: InstanceLock, lease: Lease) -> None:
        self.lock, self.lease = lock, lease
        self._io_logged = False

    def keep(self) -> str | None:
        """Renew the lease when due, or take it once the storage root is there; returns why
        this process must stop (another daemon took the storage), else None."""
        lease = self.lease
        try:
            if not lease.held:
                if lease.root.is_dir() and lease.due():
                    lease.acquire()
                return None
            if not lease.due():
                return None
            holder = lease.renew()
        except LeaseHeld as exc:
            return str(exc)
        except OSError as exc:
            lease.renewed_at = time.monotonic()  # try again one interval later
            if not self._io_logged:
                why = exc.strerror or str(exc)
                log.warning(f"{lease.path}: cannot write the lease file: {why}", error=why)
                self._io_logged = True
            return None
        self._io_logged = False
        if holder is not None:
            now = time.time()
            return (
                f"{lease.path}: lease taken over by another maggot-zenodo ({holder.describe(now)})"
            )
        return None

    def move(self, config: Config) -> str | None:
        """A reload onto another storage root: take its lease, then give up the old one.
        Returns why not (the new storage is another daemon's), else None."""
        if Path(config.storage.root) == self.lease.root:  # only the period changed
            self.lease.interval = config.storage.lease_interval
            self.lease.stale_after = STALE_FACTOR * self.lease.interval
            return None
        lease = Lease(config.storage.root, config.storage.lease_interval, config.state)
        try:
            if lease.root.is_dir():
                lease.acquire()
        except LeaseHeld as exc:
            return str(exc)
        except OSError:
            pass  # keep() takes it at a later tick
        self.lease.release()
        self.lease = lease
        return None

    def release(self) -> None:
        self.lease.release()
        self.lock.release()


def hold(config: Config) -> Held | None:
    """Lock the state file, then take the storage's lease; None (with one line on stderr
    naming the holder and the fix) when another daemon has either."""
    lock = acquire(config)
    if lock is None:
        return None
    held = Held(lock, Lease(config.storage.root, config.storage.lease_interval, config.state))
    problem = held.keep()
    if problem is not None:
        log.error(f"refusing to start: {problem}", error=problem)
        print(f"maggot-zenodo: {problem}", file=sys.stderr, flush=True)
        lock.release()
        return None
    return held
