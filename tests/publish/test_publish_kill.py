"""``maggot-zenodo publish`` killed with SIGKILL at random points, then run again: exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from testkit import spawned_emulator
from testkit.publishing import (
    SEMAPHORE,
    expected_files,
    held_files,
    make_config,
    make_dataset,
    write_config_file,
)

emulator = pytest.fixture(scope="module")(spawned_emulator)

FILES = [f"part{i:02d}.bin" for i in range(12)]


def _run(config_file: Path, folder: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo", "publish", str(folder), "--config",
         str(config_file)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip


def _finish(config_file: Path, folder: Path) -> str:
    """Run to completion (a retryable failure is retried, as the daemon would)."""
    for _ in range(10):
        proc = _run(config_file, folder)
        out, _err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            return out
    raise AssertionError(f"publish kept failing: {out}")


@pytest.mark.slow
@pytest.mark.parametrize(("publish", "seed"), [(False, 11), (True, 23)])
def test_sigkill_at_random_points_then_resume(tmp_path, emulator, publish, seed):
    emulator.reset()
    rng = random.Random(seed)
    root = tmp_path / "storage"
    folder = make_dataset(root, "killme", {f: os.urandom(100_000) for f in FILES})
    config = make_config(tmp_path, root, emulator.base_url, publish=publish)
    config_file = write_config_file(tmp_path, config)
    # slow answers spread each run over a second or so, so kills land in every step
    emulator.set_faults(rate=1.0, kinds=["slow"], delay=[0.03, 0.1], seed=seed)
    kills = 0
    for _ in range(20):
        if not publish:  # the data change between attempts, too
            for name in rng.sample(FILES, 2):
                (folder / name).write_bytes(os.urandom(rng.randrange(50_000, 150_000)))
        (folder / SEMAPHORE).touch()
        proc = _run(config_file, folder)
        deadline = time.monotonic() + rng.uniform(0.1, 0.9)
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait(timeout=30)
        if proc.stdout:
            proc.stdout.close()
    emulator.set_faults(rate=0.0, kinds=[])
    assert kills >= (6 if not publish else 3), "the kills must land mid-run"
    out = _finish(config_file, folder)
    deps = emulator.depositions()
    assert len(deps) == 1, [(d["id"], d["state"]) for d in deps]
    [dep] = deps
    assert held_files(dep) == expected_files(folder, FILES)
    assert dep["state"] == ("done" if publish else "unsubmitted")
    assert str(dep["id"]) in out
    # and once more: nothing to do, nothing written
    writes = emulator.writes()
    _finish(config_file, folder)
    assert emulator.writes() == writes
