"""READY=1 means "watching": a real daemon, a real NOTIFY_SOCKET read as systemd would, real
inotify on a tree big enough that placing the watches takes measurable time."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import yaml
from testkit import Emulator, wait_for
from testkit.daemon import (
    DaemonProcess,
    base_env,
    drop_semaphore,
    make_dataset,
    status_file,
    write_config,
)


def make_tree(root: Path, folders: int) -> None:
    """``folders`` empty folders under ``root/bulk``, 100 per group: watches to place."""
    for i in range(folders):
        os.makedirs(root / "bulk" / f"g{i // 100:03d}" / f"d{i:05d}", exist_ok=True)


class Probe:
    """systemd's end of NOTIFY_SOCKET. Its reading thread reacts to each message at once
    (``on_message``), so an action "right after READY" happens within a millisecond."""

    def __init__(self, path: Path, log: Path, on_message: Callable[[str], None] | None = None):
        self.path, self.log = path, log
        self.on_message = on_message
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.lines: list[str] = []
        self.log_at_ready: list[str] = []  # the daemon's log as it was when each READY=1 came
        self.errors: list[BaseException] = []
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                message = self.sock.recv(65536).decode()
            except TimeoutError:
                continue
            except OSError:
                return
            lines = message.split("\n")
            if "READY=1" in lines:
                self.log_at_ready.append(self.log.read_text(errors="replace"))
            self.lines.extend(lines)
            if self.on_message is not None:
                try:
                    self.on_message(message)
                except BaseException as exc:  # reported by the test, not lost in a thread
                    self.errors.append(exc)

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self.sock.close()


def events(log_text: str) -> list[str]:
    """The ``event`` of every JSON log line, in order."""
    out = []
    for line in log_text.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and "event" in item:
            out.append(item["event"])
    return out


def test_ready_comes_after_the_watches_and_a_semaphore_dropped_at_ready_is_published(
    tmp_path: Path,
) -> None:
    emulator = Emulator.spawn(tmp_path / "emulator")
    try:
        config = write_config(tmp_path, emulator.base_url, **{"storage.settle": 0.1})
        root = tmp_path / "storage"
        make_tree(root, 3000)
        rounds = 4
        existing = [make_dataset(root, f"Existing{i}") for i in range(rounds)]
        for i in range(rounds):
            log = tmp_path / f"daemon{i}.log"
            log.touch()
            dropped: list[Path] = []

            def on_message(message: str, i: int = i, dropped: list[Path] = dropped) -> None:
                if "READY=1" not in message.split("\n") or dropped:
                    return
                if i % 2 == 0:  # a semaphore in a folder that was watched from the start
                    drop_semaphore(existing[i])
                    dropped.append(existing[i])
                else:  # a dataset folder arriving, semaphore included, right after READY
                    dropped.append(make_dataset(root, f"Arrived{i}", semaphore=True))

            probe = Probe(tmp_path / f"notify{i}.sock", log, on_message)
            env = base_env(NOTIFY_SOCKET=str(probe.path), WATCHDOG_USEC="2000000")
            daemon = DaemonProcess(config, log, env=env)
            try:
                wait_for(lambda p=probe: p.log_at_ready, 30, "READY=1")
                folder = wait_for(lambda d=dropped: d and d[0], 5, "the semaphore dropped")
                status = wait_for(
                    lambda f=folder: (s := status_file(f)) and s.get("status") == "draft" and s,
                    30,
                    f"a deposit link for {folder.name} (round {i})",
                )
                assert status["deposit_url"].startswith(emulator.base_url)
            finally:
                code = daemon.stop()
                probe.close()
            assert code == 0
            assert not probe.errors, probe.errors
            # READY=1 came only once the watches were placed and the start scan reported
            before_ready = events(probe.log_at_ready[0])
            assert "inotify watches placed" in before_ready
            assert "rescan done" in before_ready
            assert "watcher ready" in before_ready
            assert before_ready.index("watcher ready") > before_ready.index("rescan done")
            # meanwhile systemd was told what the daemon waits for
            lines = probe.lines
            starting = f"STATUS=starting: placing watches on {root}…"
            assert starting in lines
            assert lines.index(starting) < lines.index("READY=1")
            assert lines.count("READY=1") == 1
            ready_status = lines[lines.index("READY=1") + 1]
            assert ready_status.startswith(f"STATUS=watching {root} (inotify): ")
        assert len(emulator.depositions()) == rounds
    finally:
        emulator.stop()


def test_sigterm_while_the_watches_are_placed_exits_0_and_the_watchdog_is_fed(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")  # nothing is ever published here
    root = tmp_path / "storage"
    make_tree(root, 30_000)
    log = tmp_path / "daemon.log"
    log.touch()
    box: dict[str, DaemonProcess] = {}
    signalled = threading.Event()

    def on_message(message: str) -> None:
        # the first ping after the "starting" status: stop the daemon there and then
        if signalled.is_set() or "WATCHDOG=1" not in message.split("\n"):
            return
        if any(line.startswith("STATUS=starting: ") for line in probe.lines):
            wait_for(lambda: "d" in box, 5, "the daemon's handle")
            box["d"].signal(signal.SIGTERM)
            signalled.set()

    probe = Probe(tmp_path / "notify.sock", log, on_message)
    env = base_env(NOTIFY_SOCKET=str(probe.path), WATCHDOG_USEC="100000")
    box["d"] = daemon = DaemonProcess(config, log, env=env)
    try:
        assert signalled.wait(30), "no STATUS=starting then WATCHDOG=1 from the daemon"
        code = daemon.proc.wait(30)
    finally:
        daemon.stop()
        probe.close()
    assert not probe.errors, probe.errors
    assert code == 0
    assert "READY=1" not in probe.lines, "READY=1 was sent before the watches were placed"
    assert f"STATUS=starting: placing watches on {root}…" in probe.lines
    assert "EXTEND_TIMEOUT_USEC=30000000" in probe.lines, "start timeout not extended"
    assert "STOPPING=1" in probe.lines
    assert "stopped" in events(log.read_text())


def test_a_reload_onto_a_new_root_sends_ready_once_the_new_watcher_is_ready(
    tmp_path: Path,
) -> None:
    emulator = Emulator.spawn(tmp_path / "emulator")
    try:
        config = write_config(tmp_path, emulator.base_url, **{"storage.settle": 0.1})
        log = tmp_path / "daemon.log"
        log.touch()
        other = tmp_path / "other"
        make_tree(other, 3000)
        waiting = make_dataset(other, "Waiting")
        acted: list[str] = []

        def on_message(message: str) -> None:
            # the second READY=1 ends the reload: drop a semaphore in the new root at once
            if "READY=1" in message.split("\n") and len(probe.log_at_ready) == 2:
                drop_semaphore(waiting)
                acted.append(message)

        probe = Probe(tmp_path / "notify.sock", log, on_message)
        daemon = DaemonProcess(config, log, env=base_env(NOTIFY_SOCKET=str(probe.path)))
        try:
            wait_for(lambda: probe.log_at_ready, 30, "READY=1")
            data = yaml.safe_load(config.read_text())
            data["storage"]["root"] = str(other)
            config.write_text(yaml.safe_dump(data))
            daemon.signal(signal.SIGHUP)
            wait_for(lambda: acted, 30, "READY=1 after the reload")
            status = wait_for(
                lambda: (s := status_file(waiting)) and s.get("status") == "draft" and s,
                30,
                "a deposit link in the new root",
            )
            assert status["deposit_url"].startswith(emulator.base_url)
        finally:
            code = daemon.stop()
            probe.close()
    finally:
        emulator.stop()
    assert code == 0
    assert not probe.errors, probe.errors
    at_reload_ready = events(probe.log_at_ready[1])
    assert at_reload_ready.count("watcher ready") == 2  # the new watcher's, before READY=1
    assert any(e.startswith("reload: configuration reloaded") for e in at_reload_ready)
    lines = probe.lines
    reloading = lines.index("RELOADING=1")
    new_status = f"STATUS=reloading: placing watches on {other}…"
    assert new_status in lines[reloading:]
    second_ready = reloading + lines[reloading:].index("READY=1")
    assert lines.index(new_status, reloading) < second_ready
    assert lines[second_ready + 1].startswith(f"STATUS=watching {other} (inotify): ")
