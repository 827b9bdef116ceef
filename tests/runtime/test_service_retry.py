"""Retryable failures (Zenodo unavailable) come back after the backoff, in-process with a real
emulator subprocess, a real journal and the real Publisher."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from testkit import TOKEN, Emulator, wait_for
from testkit.daemon import make_dataset, status_file, write_config

from maggot_zenodo.config import load_config
from maggot_zenodo.runtime.service import Runtime


def test_unavailable_zenodo_is_retried_after_backoff(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENODO_TOKEN", TOKEN)
    config = load_config(
        write_config(tmp_path, emulator.base_url, **{"zenodo.max_retries": 0, "storage.settle": 0})
    )
    folder = make_dataset(config.storage.root, "Flaky", semaphore=True)
    emulator.set_faults({"rate": 1.0, "kinds": ["503"]})
    runtime = Runtime(config, retries=True, retry_base=0.5, retry_max=1.0)
    runtime.pool.start()
    runtime.settler.start()
    try:
        assert runtime.trigger(folder, "test")
        wait_for(lambda: runtime.outcomes["retrying"] >= 1, 20, "a retryable failure")
        assert runtime.pool.counts().retrying == 1
        assert status_file(folder)["status"] == "failed"
        emulator.set_faults({"rate": 0})
        wait_for(lambda: runtime.outcomes["draft"] == 1, 20, "the retry to succeed")
        assert status_file(folder)["status"] == "draft"
        counts = runtime.pool.counts()
        assert (counts.done, counts.failed, counts.retrying) == (1, 0, 0)
    finally:
        runtime.drain()
        runtime.close()
    assert len(emulator.depositions()) == 1


def test_a_non_retryable_failure_waits_for_the_next_trigger(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZENODO_TOKEN", TOKEN)
    config = load_config(write_config(tmp_path, emulator.base_url, **{"storage.settle": 0}))
    folder = make_dataset(config.storage.root, "Bad", semaphore=True)
    (folder / "data.bin").unlink()
    runtime = Runtime(config, retries=True, retry_base=0.1, retry_max=0.1)
    runtime.pool.start()
    runtime.settler.start()
    try:
        assert runtime.trigger(folder, "test")
        wait_for(lambda: runtime.outcomes["failed"] == 1, 20, "the failure")
        assert runtime.pool.counts().retrying == 0
        assert not runtime.trigger(folder, "rescan"), "the same request is not retried"
        (folder / "data.bin").write_bytes(os.urandom(100))
        (folder / "META_datafile_ok.txt").touch()
        os.utime(folder / "META_datafile_ok.txt")
        assert runtime.trigger(folder, "inotify")
        wait_for(lambda: runtime.outcomes["draft"] == 1, 20, "the next trigger's run")
    finally:
        runtime.drain()
        runtime.close()
