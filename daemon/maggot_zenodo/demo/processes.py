"""The processes the demo starts (emulator, daemon), each in a session of its own so that
stopping it reaches all its children, and the demo's stand-in for systemd's notify socket."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

UPLOAD_DELAY = 0.3  # the emulator holds each upload this long, so the states can be seen


class DemoError(Exception):
    """Something the demo needs did not happen; the message says what and where to look."""


def maggot_zenodo(*args: str) -> list[str]:
    """The command line of ``maggot-zenodo ARGS`` with this very Python (a fresh clone works
    from its .venv without anything on PATH)."""
    return [sys.executable, "-m", "maggot_zenodo", *args]


def start(cmd: list[str], **kwargs: Any) -> subprocess.Popen[Any]:
    """Start ``cmd`` in a session of its own, so that stopping it reaches all its processes."""
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)


def stop(proc: subprocess.Popen[Any], timeout: float) -> int:
    """SIGTERM, wait up to ``timeout``, then SIGKILL the whole process group; the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    # anything the process left behind in its group goes too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return code


def wait_until(what: str, predicate: Callable[[], object], timeout: float) -> object:
    """Poll ``predicate`` until it returns something true; DemoError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


#: The collection the demo's Dataverse emulator serves (and the config names).
DATAVERSE_COLLECTION = "demo"


def emulator_command(data_dir: Path, api: str = "zenodo") -> list[str]:
    """``maggot-zenodo emulator`` for ``api`` (zenodo | dataverse) on a free port, its uploads
    slowed a little so that ``publishing`` can be seen."""
    if api == "dataverse":
        faults = f"rate=1,kinds=slow,delay={UPLOAD_DELAY},match=/add"
        extra = ["--api", "dataverse", "--collection", DATAVERSE_COLLECTION]
    else:
        faults = f"rate=1,kinds=slow,delay={UPLOAD_DELAY},methods=PUT,match=/files/"
        extra = []
    return maggot_zenodo(
        "emulator", *extra, "--host", "127.0.0.1", "--port", "0", "--data", str(data_dir),
        "--faults", faults, "--quiet",
    )  # fmt: skip


@contextlib.contextmanager
def emulator(data_dir: Path, api: str = "zenodo") -> Iterator[str]:
    """Run ``maggot-zenodo emulator [--api dataverse] --port 0``; yield its base URL (its
    first stdout line).

    Without ``--token`` it accepts any token: the demo's stays in its 0600 file, never in a
    command line.
    """
    proc = start(emulator_command(data_dir, api), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise DemoError(f"the {api} emulator did not start (exit code {proc.poll()})")
        yield url
    finally:
        stop(proc, 10)


def emulator_writes(url: str) -> int:
    """How many write requests the emulator (either) has received (its test-only state
    endpoint)."""
    with urllib.request.urlopen(f"{url}/_emulator/state", timeout=10) as answer:  # noqa: S310
        return int(json.load(answer)["requests"]["writes"])


class NotifyListener:
    """The demo's stand-in for systemd: an abstract AF_UNIX datagram socket for the daemon's
    sd_notify messages, read by a thread (a full queue would block the daemon's sends)."""

    def __init__(self) -> None:
        self.name = f"@maggot-zenodo-demo-{os.getpid()}-{secrets.token_hex(4)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + self.name[1:])
        self.sock.settimeout(0.2)
        self.ready = threading.Event()
        self.status = ""
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name="demo-notify", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                message = self.sock.recv(65536).decode("utf-8", "replace")
            except TimeoutError:
                continue
            except OSError:
                return
            for line in message.split("\n"):
                if line.startswith("STATUS="):
                    self.status = line.removeprefix("STATUS=")
                elif line == "READY=1":
                    self.ready.set()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self.sock.close()


def daemon_env(notify: NotifyListener) -> dict[str, str]:
    """The environment of the demo's daemon: ours, with our notification socket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    env.pop("JOURNAL_STREAM", None)  # its log goes to a file, as JSON lines
    env["NOTIFY_SOCKET"] = notify.name
    env["PYTHONUNBUFFERED"] = "1"
    return env


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text("utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return "   (no log)"
    return "\n".join(f"   | {line}" for line in text)
