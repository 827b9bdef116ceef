"""One daemon per storage space: a lease file in the storage root (#15).

Two daemons with different journals on one storage (two hosts mounting one NAS, a test instance
left running) would deposit every dataset twice. The state file's flock cannot see them: it is
per journal, and flock does not cross hosts on NFS. So the daemon holds a lease in the storage
root itself, ``.maggot-zenodo.lease``: a small JSON text naming the host, the pid, the state file
and the time of the last renewal, rewritten in place every ``storage.lease_interval`` seconds.

A lease is taken over only when stale: not renewed for ``STALE_FACTOR`` periods by both clocks
that can tell (the renewal time the holder wrote, and the file's mtime, which an NFS server sets
from its own clock), or held by a process of this very host that no longer exists (a kill -9
restart does not wait). Nothing here relies on locks: the lease works on NFS, SMB and FUSE mounts
alike, provided the hosts' clocks agree to well within the stale period (use NTP). A holder whose
lease was taken over anyway (a host frozen for minutes) sees it at its next renewal and stops.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

LEASE_NAME = ".maggot-zenodo.lease"
STALE_FACTOR = 3
_SIZE = 512  # the file is rewritten in place at this fixed size: no truncation window


@dataclass(frozen=True)
class Holder:
    """Who holds a lease, as its file says."""

    host: str
    pid: int
    state: str
    renewed: float
    token: str

    def describe(self, now: float) -> str:
        ago = max(0.0, now - self.renewed)
        return f"host {self.host}, pid {self.pid}, renewed {ago:.0f} s ago"


class LeaseHeld(Exception):
    """Another daemon holds the storage's lease; the message names it and the fix."""

    def __init__(self, root: Path, holder: Holder | None, stale_after: float, now: float) -> None:
        self.root, self.holder = root, holder
        who = holder.describe(now) if holder is not None else "an unreadable lease"
        path = root / LEASE_NAME
        super().__init__(
            f"storage {root} is already served by another maggot-zenodo ({who}; {path}). "
            f"Fix: stop that daemon; if it is gone, its lease goes stale {stale_after:.0f} s "
            f"after its last renewal, or delete {path}"
        )


def parse(text: str) -> Holder | None:
    """The holder a lease file names; None when it is not a lease this tool wrote."""
    try:
        data = json.loads(text.strip() or "null")
        return Holder(
            str(data["host"]),
            int(data["pid"]),
            str(data["state"]),
            float(data["renewed"]),
            str(data["token"]),
        )
    except (ValueError, TypeError, KeyError):
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(
    holder: Holder | None, mtime: float, now: float, stale_after: float, host: str
) -> bool:
    """Whether a lease may be taken over (pure but for the same-host pid check)."""
    if holder is not None and holder.host == host and not _pid_alive(holder.pid):
        return True
    renewed = holder.renewed if holder is not None else mtime
    return now - renewed > stale_after and now - mtime > stale_after


class Lease:
    """The lease on ``root`` for this process; ``acquire`` then ``renew`` every ``interval``."""

    def __init__(
        self,
        root: Path,
        interval: float,
        state: Path,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = Path(root)
        self.path = self.root / LEASE_NAME
        self.interval = float(interval)
        self.stale_after = STALE_FACTOR * self.interval
        self.state = str(state)
        self.host = socket.gethostname()
        self.token = secrets.token_hex(8)
        self._clock = clock
        self.held = False
        self.renewed_at = float("-inf")

    def _content(self) -> bytes:
        data = {
            "host": self.host,
            "pid": os.getpid(),
            "state": self.state,
            "renewed": round(self._clock(), 3),
            "token": self.token,
            "what": "maggot-zenodo serves this storage; see its documentation on leases",
        }
        return json.dumps(data).encode("utf-8").ljust(_SIZE, b" ") + b"\n"

    def read(self) -> tuple[Holder | None, float] | None:
        """The holder and the file's mtime; None when there is no lease file."""
        try:
            with open(self.path, "rb") as fh:
                text = fh.read(_SIZE * 2).decode("utf-8", "replace")
                mtime = os.fstat(fh.fileno()).st_mtime
        except FileNotFoundError:
            return None
        return parse(text), mtime

    def acquire(self) -> None:
        """Take the lease, or raise LeaseHeld naming its live holder."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            self._take_over()
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(self._content())
                fh.flush()
                os.fsync(fh.fileno())
        self._confirm()

    def _take_over(self) -> None:
        found = self.read()
        now = self._clock()
        if found is not None:
            holder, mtime = found
            if holder is not None and holder.token == self.token:
                return
            if not is_stale(holder, mtime, now, self.stale_after, self.host):
                raise LeaseHeld(self.root, holder, self.stale_after, now)
        temp = self.root / f"{LEASE_NAME}.{self.token}.tmp"
        temp.write_bytes(self._content())
        os.replace(temp, self.path)

    def _confirm(self) -> None:
        """After writing: a contender that wrote at the same time wins or loses here."""
        found = self.read()
        holder = found[0] if found is not None else None
        if holder is None or holder.token != self.token:
            raise LeaseHeld(self.root, holder, self.stale_after, self._clock())
        self.held = True
        self.renewed_at = time.monotonic()

    def due(self) -> bool:
        return time.monotonic() - self.renewed_at >= self.interval

    def renew(self) -> Holder | None:
        """Rewrite the renewal time in place; returns the new holder when the lease was
        taken over meanwhile (this daemon must stop), else None. I/O errors (a mount gone
        for a moment) are left to the caller, which tries again at the next tick."""
        found = self.read()
        holder = found[0] if found is not None else None
        if found is None:
            self.acquire()  # deleted by hand: take it again (raises if someone else did)
            return None
        if holder is None or holder.token != self.token:
            self.held = False
            return holder or Holder("unknown", 0, "", 0.0, "")
        fd = os.open(self.path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            os.pwrite(fd, self._content(), 0)
            os.fsync(fd)
        finally:
            os.close(fd)
        self.renewed_at = time.monotonic()
        return None

    def release(self) -> None:
        """Remove the lease file if it is still ours."""
        if not self.held:
            return
        self.held = False
        with contextlib.suppress(OSError):
            found = self.read()
            if found is not None and found[0] is not None and found[0].token == self.token:
                self.path.unlink()
