"""The one Zenodo emulator of the tests, in this process or as the CLI subprocess.

Both faces offer the same interface: ``base_url`` (the client's Zenodo URL), ``api_url``,
``url(path)``, ``state()`` (the dict of ``GET /_emulator/state``), ``depositions()``,
``writes()``, ``set_faults(...)`` (e.g. ``set_faults(rate=1, kinds=["502"], count=1)``; no
argument clears), ``reset()``, ``stop()`` and ``data_dir``. :meth:`Emulator.in_process` runs
the real HTTP server in a thread (fast; options such as ``rate_limit="5/min"``, ``latency``,
``curators``); :meth:`Emulator.spawn` runs ``python -m maggot_zenodo emulator --port 0`` and
reads its first stdout line for the URL (``proc`` is then the Popen).

State shape: ``{"depositions": [{id, conceptrecid, state, submitted, owner, title, doi, bucket,
metadata, files: [{filename, filesize, checksum}]}], "deleted": [ids], "requests": {"total",
"by_status": {"201": n}, "by_method": {"PUT": n}, "writes"}, "faults": {"injected": {kind: n},
"total": n, "spec": {...}}, "communities": {...}}``; ``requests`` counts /api/ requests only,
``writes`` the non-GET ones.
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


class Emulator:
    """A running Zenodo emulator; build one with :meth:`in_process` or :meth:`spawn`."""

    def __init__(
        self,
        base_url: str,
        data_dir: Path,
        *,
        handle: EmulatorHandle | None = None,
        proc: subprocess.Popen[str] | None = None,
    ) -> None:
        self.base_url, self.data_dir = base_url.rstrip("/"), data_dir
        self.api_url = f"{self.base_url}/api"
        self.handle, self.proc = handle, proc
        self._http = requests.Session()

    @classmethod
    def in_process(cls, data_dir: Path, **options: Any) -> Emulator:
        """The server in a background thread of this process (``start_emulator`` options)."""
        handle = start_emulator(data_dir, **options)
        return cls(handle.base_url, data_dir, handle=handle)

    @classmethod
    def spawn(
        cls, data_dir: Path, *extra: str, quiet: bool = True, timeout: float = 20.0
    ) -> Emulator:
        """The CLI emulator as a subprocess; waits (with a deadline) for its first line."""
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
        if not line.startswith("http://127.0.0.1:"):
            proc.kill()
            raise RuntimeError(f"unexpected first line from the emulator: {line!r}")
        return cls(line, data_dir, proc=proc)

    def url(self, path: str) -> str:
        return self.base_url + path

    def state(self) -> dict[str, Any]:
        if self.handle is not None:
            return self.handle.state()
        response = self._http.get(self.url("/_emulator/state"), timeout=30)
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def depositions(self) -> list[dict[str, Any]]:
        return list(self.state()["depositions"])

    def writes(self) -> int:
        return int(self.state()["requests"]["writes"])

    def set_faults(self, spec: dict[str, Any] | str | None = None, **kw: Any) -> None:
        """Inject faults (a spec dict or keywords); no argument clears them."""
        if self.handle is not None:
            self.handle.set_faults(spec, **kw)
            return
        body = spec if spec is not None else (kw or {"rate": 0})
        response = self._http.put(self.url("/_emulator/faults"), json=body, timeout=30)
        response.raise_for_status()

    def reset(self) -> None:
        if self.handle is not None:
            self.handle.reset()
            return
        self._http.post(self.url("/_emulator/reset"), timeout=30).raise_for_status()

    def stop(self, timeout: float = 10.0) -> int | None:
        """Stop the server (SIGTERM for a subprocess, then SIGKILL); its exit code, if any."""
        self._http.close()
        if self.handle is not None:
            self.handle.stop()
            return None
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        return self.proc.returncode


def spawned_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    """A generator for a module-scoped fixture: ``pytest.fixture(scope="module")(...)``."""
    emu = Emulator.spawn(tmp_path_factory.mktemp("emulator"))
    try:
        yield emu
    finally:
        emu.stop()
