"""The daemon harness: ``maggot-zenodo run`` as a real subprocess, its config, datasets on disk.

Everything goes over loopback; the daemon logs JSON lines to a file the tests read.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from testkit.tokens import TOKEN
from testkit.waiting import wait_for

BIN = Path(sys.executable).parent / "maggot-zenodo"
SEMAPHORE = "META_datafile_ok.txt"


def bare_event(record: dict[str, Any]) -> str:
    """A log record's message without its subject: a line about a dataset must start with
    ``<dataset>: `` (logs.name_subject); anything else is returned whole and matches nothing
    that expects the prefix."""
    event = str(record.get("event", ""))
    dataset = record.get("dataset")
    if isinstance(dataset, str):
        prefix = f"{dataset}: "
        return event[len(prefix) :] if event.startswith(prefix) else f"<no subject> {event}"
    return event


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env.pop("JOURNAL_STREAM", None)
    env["ZENODO_TOKEN"] = TOKEN
    env.update(extra)
    return env


def write_config(tmp: Path, url: str, **overrides: Any) -> Path:
    """A config for a daemon on ``tmp/storage`` against ``url``; overrides are dotted keys."""
    data: dict[str, Any] = {
        "storage": {
            "root": str(tmp / "storage"),
            "watch": "inotify",
            "poll_interval": 0.5,
            "settle": 0.2,
            # Most service tests drop semaphores before the daemon starts and expect them
            # published (0.1.0's behaviour); the baseline tests set "ignore" (the default).
            "existing": "publish",
        },
        "zenodo": {"url": url, "token": {"env": "ZENODO_TOKEN"}, "publish": False},
        "state": str(tmp / "state" / "state.db"),
        "workers": 2,
        "shutdown_timeout": 5,
    }
    for dotted, value in overrides.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    (tmp / "storage").mkdir(exist_ok=True)
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def make_dataset(root: Path, name: str, *, size: int = 1000, semaphore: bool = False) -> Path:
    """A dataset folder with one Maggot metadata file declaring one local data file."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    name = folder.name
    record = {
        "profile": "https://pmb-bordeaux.fr/maggot/conf/pgd-mmdt-schema.json",
        "title": name,
        "fulltitle": f"Test dataset {name} for the daemon runtime",
        "description": "A small dataset written by the service tests.",
        "license": "cc-by-4.0",
        "depositor": "Dupont Marie",
        "authors": ["Dupont Marie", "Martin Paul"],
        "contacts": ["Dupont Marie"],
        "keywords": ["test"],
        "language": ["English"],
        "kindOfData": ["Dataset"],
        "subject": ["Computer and Information Science"],
        "access_rights": "Public",
        "resources": [
            {
                "datatype": "Other",
                "media": "application/octet-stream",
                "description": "the data",
                "location": "data.bin",
            }
        ],
    }
    (folder / f"META_{name}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    with (folder / "data.bin").open("wb") as fh:
        chunk = os.urandom(min(size, 1 << 20))
        left = size
        while left > 0:
            fh.write(chunk[:left])
            left -= len(chunk)
    if semaphore:
        drop_semaphore(folder)
    return folder


def drop_semaphore(folder: Path) -> None:
    sem = folder / SEMAPHORE
    sem.touch()
    os.utime(sem)  # a fresh mtime even when it already existed


def status_file(folder: Path) -> dict[str, Any] | None:
    path = folder / "META_zenodo.txt"
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, yaml.YAMLError):
        return None


class NotifySocket:
    """A datagram socket standing in for systemd's: a thread reads it as systemd would."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self.stamped: list[tuple[float, str]] = []  # (time.monotonic() at arrival, message)
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                message = self.sock.recv(65536).decode()
                self.stamped.append((time.monotonic(), message))
                self.messages.append(message)
            except TimeoutError:
                continue
            except OSError:
                return

    def lines(self) -> list[str]:
        return [line for msg in list(self.messages) for line in msg.split("\n")]

    def wait_line(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        def found() -> str | None:
            return next((line for line in self.lines() if predicate(line)), None)

        return wait_for(found, timeout, "a notification", step=0.05)

    def close(self) -> None:
        self._closed.set()
        self._reader.join(5)
        self.sock.close()


class DaemonProcess:
    """``maggot-zenodo run`` as a subprocess logging JSON lines to a file."""

    def __init__(self, config: Path, log: Path, *, env: dict[str, str] | None = None) -> None:
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(BIN), "run", "--config", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=self._log,
            env=env or base_env(),
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def records(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(item, dict):
                out.append(item)
        return out

    def find(self, event: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            r
            for r in self.records()
            if bare_event(r) == event and all(r.get(k) == v for k, v in fields.items())
        ]

    def find_matching(self, text: str) -> list[dict[str, Any]]:
        """Every record whose message contains ``text``."""
        return [r for r in self.records() if text in str(r.get("event", ""))]

    def wait_log(self, event: str, timeout: float = 20.0, **fields: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            if self.proc.poll() is not None and not self.find(event, **fields):
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) before logging {event!r}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            hits = self.find(event, **fields)
            return hits[0] if hits else None

        return wait_for(found, timeout, f"log {event!r} {fields}", step=0.05)

    def wait_log_matching(self, text: str, timeout: float = 20.0) -> dict[str, Any]:
        """The first record whose message contains ``text`` (messages name their subject)."""

        def found() -> dict[str, Any] | None:
            hits = self.find_matching(text)
            if not hits and self.proc.poll() is not None:
                raise AssertionError(
                    f"daemon exited ({self.proc.returncode}) before logging {text!r}:\n"
                    + self.log_path.read_text(errors="replace")[-3000:]
                )
            return hits[0] if hits else None

        return wait_for(found, timeout, f"a log line with {text!r}", step=0.05)

    def signal(self, signum: int = signal.SIGTERM) -> None:
        os.kill(self.proc.pid, signum)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(10)
        self._log.close()
        return code


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120.0) -> Any:
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        env=env or base_env(),
        timeout=timeout,
        check=False,
    )
