"""The single-instance lock, with real flock between processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from maggot_zenodo.lock import AlreadyRunning, InstanceLock, lock_path


def test_second_lock_in_same_process_is_refused_with_pid(tmp_path: Path) -> None:
    state = tmp_path / "state" / "state.db"
    with InstanceLock(state) as first:
        assert first.held
        assert lock_path(state).read_text().strip() == str(os.getpid())
        with pytest.raises(AlreadyRunning) as caught:
            InstanceLock(state).acquire()
        assert caught.value.pid == os.getpid()
        assert str(caught.value) == (
            f"another maggot-zenodo (pid {os.getpid()}) is already running on {state}"
        )
    # released: a new holder gets it
    with InstanceLock(state):
        pass


def test_lock_held_by_another_process_and_freed_when_it_dies(tmp_path: Path) -> None:
    state = tmp_path / "state.db"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from maggot_zenodo.lock import InstanceLock
                lock = InstanceLock(Path({str(state)!r}))
                lock.acquire()
                print("locked", flush=True)
                sys.stdin.readline()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(AlreadyRunning) as caught:
            InstanceLock(state).acquire()
        assert caught.value.pid == holder.pid
    finally:
        holder.kill()  # kill -9: the kernel drops the lock
        holder.wait(10)
    with InstanceLock(state) as lock:
        assert lock.held
