"""systemd service notification (sd_notify): READY, STATUS, WATCHDOG, RELOADING, STOPPING.

systemd-python's ``systemd.daemon.notify`` is used when it is importable; otherwise the
datagram is sent to ``$NOTIFY_SOCKET`` directly, so the daemon behaves the same on a host
without the library. Without ``$NOTIFY_SOCKET`` (not started by systemd) every call is a no-op.
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping


def _library_notify() -> Callable[[str], bool] | None:
    try:  # optional dependency, without type stubs: imported by name, so mypy sees a module
        daemon = importlib.import_module("systemd.daemon")
    except ImportError:
        return None
    return lambda message: bool(daemon.notify(message))


def socket_address(value: str) -> str | None:
    """The AF_UNIX address named by ``$NOTIFY_SOCKET`` ('@' starts an abstract name)."""
    if not value or value.startswith("vsock:"):
        return None
    if value.startswith("@"):
        return "\0" + value[1:]
    return value if value.startswith("/") else None


def send_datagram(message: str, env: Mapping[str, str] | None = None) -> bool:
    """Send one notification datagram to ``$NOTIFY_SOCKET``; False when there is none."""
    address = socket_address((env if env is not None else os.environ).get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
        except OSError:
            return False
    return True


def watchdog_interval(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of ``$WATCHDOG_USEC``), or None when not asked.

    ``$WATCHDOG_PID``, when set, must name this process: a child that inherited the
    environment must not ping on its parent's behalf.
    """
    env = env if env is not None else os.environ
    try:
        usec = int(env.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    wanted_pid = env.get("WATCHDOG_PID")
    if wanted_pid:
        try:
            if int(wanted_pid) != (pid if pid is not None else os.getpid()):
                return None
        except ValueError:
            return None
    return usec / 2_000_000


class Notifier:
    """Sends sd_notify messages; STATUS is sent only when its text changes."""

    def __init__(self, *, use_library: bool = True) -> None:
        self._library = _library_notify() if use_library else None
        self._lock = threading.Lock()
        self._last_status: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(os.environ.get("NOTIFY_SOCKET"))

    def send(self, *lines: str) -> bool:
        """Send the given ``KEY=value`` lines as one message."""
        if not self.enabled:
            return False
        message = "\n".join(lines)
        try:
            if self._library is not None:
                return self._library(message)
            return send_datagram(message)
        except OSError:
            # A notification that cannot be delivered (EINTR, a full queue, systemd gone)
            # must never take the daemon down: the next one will tell the current state.
            return False

    def ready(self, status: str | None = None) -> bool:
        lines = ["READY=1"]
        if status is not None:
            lines.append(f"STATUS={status}")
            with self._lock:
                self._last_status = status
        return self.send(*lines)

    def status(self, text: str) -> bool:
        with self._lock:
            if text == self._last_status:
                return False
            self._last_status = text
        return self.send(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def extend_timeout(self, seconds: float) -> bool:
        """Ask systemd for ``seconds`` more before its start (or stop) timeout fires: placing
        watches on, or walking, a very large or slow tree may outlast ``TimeoutStartSec``."""
        return self.send(f"EXTEND_TIMEOUT_USEC={int(seconds * 1_000_000)}")

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets Type=notify-reload services match the reload to the request.
        return self.send("RELOADING=1", f"MONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def stopping(self, status: str | None = None) -> bool:
        lines = ["STOPPING=1"]
        if status is not None:
            lines.append(f"STATUS={status}")
        return self.send(*lines)
