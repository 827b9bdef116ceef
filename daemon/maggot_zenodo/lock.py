"""Exclusive locks: one daemon per state file, one worker per dataset (the one flock helper).

Two daemons on the same journal would each publish the same dataset. An exclusive,
non-blocking ``flock`` on ``<state>.lock`` refuses the second one; the kernel drops the lock
when the holder dies (even by kill -9), so no stale lock ever needs cleaning by hand.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from types import TracebackType


class AlreadyRunning(Exception):
    """Another process holds the lock; the message names its PID and the state file."""

    def __init__(self, state: Path, pid: int | None) -> None:
        self.state, self.pid = state, pid
        who = f"pid {pid}" if pid else "pid unknown"
        super().__init__(f"another maggot-zenodo ({who}) is already running on {state}")


def try_flock(path: Path, mode: int = 0o600) -> int | None:
    """An open descriptor holding an exclusive ``flock`` on ``path`` (created if needed), or
    None when another process holds it. Closing the descriptor releases the lock; so does the
    holder's death. Other OSErrors (no such folder, read-only) propagate."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, mode)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd


def lock_path(state: Path) -> Path:
    return Path(f"{state}.lock")


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None


class InstanceLock:
    """``with InstanceLock(state):`` holds the lock for the block, or raises AlreadyRunning."""

    def __init__(self, state: Path) -> None:
        self.state = Path(state)
        self.path = lock_path(self.state)
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = try_flock(self.path, 0o644)
        if fd is None:
            raise AlreadyRunning(self.state, self._holder())
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

    def _holder(self) -> int | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            return _read_pid(fd)
        finally:
            os.close(fd)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)  # closing the descriptor drops the flock

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
