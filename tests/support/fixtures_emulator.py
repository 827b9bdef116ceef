"""pytest fixtures that run the Zenodo emulator on loopback (registered in tests/conftest.py).

Fixtures
--------
``emulator``
    Function-scoped, in-process: the real HTTP server in a background thread on
    ``127.0.0.1:<free port>``, data under ``tmp_path / "emulator"``. An
    :class:`~maggot_zenodo.emulator.EmulatorHandle` with ``base_url`` (give it to the client as
    the Zenodo URL), ``api_url``, ``url(path)``, ``state()`` (same dict as
    ``GET /_emulator/state``), ``set_faults(...)`` (e.g. ``set_faults(rate=1, kinds=["502"],
    count=1)``; no argument clears), ``reset()``, ``stop()``, ``data_dir``. Any non-empty
    bearer token is accepted as its own user; use ``emulator_token``.
``emulator_token``
    A token the emulators accept (``"emulator-test-token"``).
``emulator_factory``
    ``emulator_factory(tokens=("a",), rate_limit="5/min", faults=..., seed=..., max_files=...,
    max_file_size=..., latency=0.3, index_delay=1.0, curators=("slug",),
    communities=("slug",), data_dir=...)`` → a started handle; every handle is stopped at
    teardown.
``emulator_process``
    The real ``maggot-zenodo emulator`` subprocess (``python -m maggot_zenodo emulator --port 0
    --data <tmp> --quiet``), its first stdout line read for the URL. An :class:`EmulatorProcess`
    with ``base_url``, ``api_url``, ``url()``, ``state()``/``set_faults()``/``reset()`` over
    HTTP, ``proc`` (the Popen) and ``stop()``; terminated (SIGTERM) at teardown.
    ``spawn_emulator_process(data_dir, *extra_args)`` starts one with other options.

State shape (``state()``): ``{"depositions": [{id, conceptrecid, state, submitted, owner,
title, doi, bucket, metadata, files: [{filename, filesize, checksum}]}], "deleted": [ids],
"requests": {"total", "by_status": {"201": n}, "by_method": {"PUT": n}, "writes"},
"faults": {"injected": {kind: n}, "total": n, "spec": {...}}, "communities": {"communities":
{slug: "all" | [user ids]}, "requests": [...]}}``; ``requests`` counts /api/
requests only, ``writes`` the non-GET ones.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from maggot_zenodo.emulator import EmulatorHandle, start_emulator

TOKEN = "emulator-test-token"


class EmulatorProcess:
    """A ``maggot-zenodo emulator`` subprocess, driven over HTTP."""

    def __init__(self, proc: subprocess.Popen[str], base_url: str, data_dir: Path) -> None:
        self.proc, self.base_url, self.data_dir = proc, base_url, data_dir
        self.api_url = f"{base_url}/api"

    def url(self, path: str) -> str:
        return self.base_url + path

    def state(self) -> dict[str, Any]:
        return requests.get(self.url("/_emulator/state"), timeout=10).json()

    def set_faults(self, spec: dict[str, Any] | None = None, **kw: Any) -> None:
        body = spec if spec is not None else (kw or {"rate": 0})
        requests.put(self.url("/_emulator/faults"), json=body, timeout=10).raise_for_status()

    def reset(self) -> None:
        requests.post(self.url("/_emulator/reset"), timeout=10).raise_for_status()

    def stop(self, timeout: float = 10.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode


def spawn_emulator_process(
    data_dir: Path, *extra: str, quiet: bool = True, timeout: float = 20.0
) -> EmulatorProcess:
    """Start the CLI emulator and wait (with a deadline) for its first stdout line."""
    args = [sys.executable, "-m", "maggot_zenodo", "emulator", "--port", "0"]
    args += ["--data", str(data_dir), *extra] + (["--quiet"] if quiet else [])
    proc = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL if quiet else subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while not sel.select(timeout=0.1):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("the emulator did not print its URL")
    line = proc.stdout.readline().strip()
    if not line.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"unexpected first line from the emulator: {line!r}")
    return EmulatorProcess(proc, line, data_dir)


@pytest.fixture
def emulator_token() -> str:
    return TOKEN


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[EmulatorHandle]:
    handle = start_emulator(tmp_path / "emulator")
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture
def emulator_factory(tmp_path: Path) -> Iterator[Any]:
    handles: list[EmulatorHandle] = []

    def make(data_dir: Path | None = None, **kwargs: Any) -> EmulatorHandle:
        handle = start_emulator(data_dir or tmp_path / f"emulator-{len(handles)}", **kwargs)
        handles.append(handle)
        return handle

    try:
        yield make
    finally:
        for handle in handles:
            handle.stop()


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[EmulatorProcess]:
    proc = spawn_emulator_process(tmp_path / "emulator-process")
    try:
        yield proc
    finally:
        proc.stop()
