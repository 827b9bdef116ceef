"""Single-instance lock: one daemon per state file.

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
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.state, pid) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        self._fd = fd

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
