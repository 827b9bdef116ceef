"""sd_notify messages over a real AF_UNIX datagram socket (path and abstract names)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from maggot_zenodo.runtime import sdnotify
from maggot_zenodo.runtime.sdnotify import Notifier, socket_address, watchdog_interval


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


@pytest.mark.parametrize("use_library", [True, False])
def test_messages_reach_the_socket(notify_socket: socket.socket, use_library: bool) -> None:
    notifier = Notifier(use_library=use_library)
    assert notifier.ready("watching /data (inotify): 0 queued")
    assert notify_socket.recv(4096).decode() == "READY=1\nSTATUS=watching /data (inotify): 0 queued"
    assert notifier.status("2 queued")
    assert notify_socket.recv(4096).decode() == "STATUS=2 queued"
    assert not notifier.status("2 queued"), "an unchanged STATUS is not sent again"
    assert notifier.watchdog()
    assert notify_socket.recv(4096).decode() == "WATCHDOG=1"
    assert notifier.reloading()
    reload_msg = notify_socket.recv(4096).decode().split("\n")
    assert reload_msg[0] == "RELOADING=1"
    assert reload_msg[1].startswith("MONOTONIC_USEC=") and int(reload_msg[1].split("=")[1]) > 0
    assert notifier.stopping()
    assert notify_socket.recv(4096).decode() == "STOPPING=1"


def test_abstract_socket_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"maggot-zenodo-test-{os.getpid()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(5)
    try:
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert Notifier(use_library=False).watchdog()
        assert sock.recv(100) == b"WATCHDOG=1"
    finally:
        sock.close()


def test_no_socket_means_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier(use_library=False)
    assert not notifier.enabled
    assert not notifier.ready()
    assert not sdnotify.send_datagram("READY=1")


def test_missing_socket_file_is_not_an_error(tmp_path: Path) -> None:
    assert not sdnotify.send_datagram("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "gone")})


def test_socket_address_forms() -> None:
    assert socket_address("/run/systemd/notify") == "/run/systemd/notify"
    assert socket_address("@abc") == "\0abc"
    assert socket_address("") is None
    assert socket_address("vsock:2:1234") is None
    assert socket_address("relative") is None


def test_watchdog_interval() -> None:
    assert watchdog_interval({}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "4000000"}) == 2.0
    assert watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "12"}, pid=12) == 2.0
    assert watchdog_interval({"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": "12"}, pid=13) is None
    assert watchdog_interval({"WATCHDOG_USEC": "0"}) is None
    assert watchdog_interval({"WATCHDOG_USEC": "x"}) is None


@pytest.mark.parametrize("use_library", [True, False])
def test_undeliverable_notification_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_library: bool
) -> None:
    not_a_socket = tmp_path / "file"
    not_a_socket.write_text("")
    monkeypatch.setenv("NOTIFY_SOCKET", str(not_a_socket))
    assert Notifier(use_library=use_library).watchdog() is False
