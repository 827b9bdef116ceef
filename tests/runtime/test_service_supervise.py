"""A dead watcher thread is noticed (#15): the watchdog stops being fed, an error naming the
cause is logged, the watcher restarts, and a dataset dropped afterwards is published. On 0.1.0 the
process looked healthy and the dataset waited forever.

The daemon runs in-process (a thread) against a real emulator, real inotify and a real
NOTIFY_SOCKET; the fault is injected into the watcher's own loop, once."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import pytest
import structlog
from testkit import TOKEN, Emulator, wait_for
from testkit.daemon import (
    DaemonProcess,
    NotifySocket,
    drop_semaphore,
    make_dataset,
    status_file,
    write_config,
)

from maggot_zenodo.config import load_config
from maggot_zenodo.runtime.daemon import Daemon
from maggot_zenodo.runtime.supervise import DIED, OK, RESTART, WAITING, WatcherSupervisor
from maggot_zenodo.watch.watcher import Watcher


def test_a_dead_watcher_is_logged_starves_the_watchdog_and_restarts(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    notify = NotifySocket(tmp_path / "notify.sock")
    monkeypatch.setenv("ZENODO_TOKEN", TOKEN)
    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # a ping every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    injected = threading.Event()
    original = Watcher._drain

    def failing_drain(self: Watcher, timeout: float) -> list[tuple[str, str]]:
        if not injected.is_set():
            injected.set()
            raise RuntimeError("injected fault in the watcher loop")
        return original(self, timeout)

    config = load_config(write_config(tmp_path, emulator.base_url))
    daemon = Daemon(config, config.source)
    with structlog.testing.capture_logs() as logs:
        thread = threading.Thread(target=daemon.run, daemon=True)
        thread.start()
        try:
            notify.wait_line(lambda line: line == "READY=1")
            wait_for(lambda: any(m == "WATCHDOG=1" for m in notify.messages), 10, "a first ping")
            monkeypatch.setattr(Watcher, "_drain", failing_drain)
            died = wait_for(
                lambda: next((e for e in list(logs) if "the watcher died" in e["event"]), None),
                10,
                "the watcher's death to be logged",
            )
            noticed = time.monotonic()
            assert died["log_level"] == "error"
            assert died["error"] == "RuntimeError: injected fault in the watcher loop"
            assert str(config.storage.root) in died["event"]
            restarted = wait_for(
                lambda: next(
                    (e for e in list(logs) if "restarting the watcher" in e["event"]), None
                ),
                10,
                "the watcher to restart",
            )
            assert restarted["restarts"] == 1
            wait_for(lambda: daemon.watcher.alive() and daemon.watcher.wait_ready(0), 10, "ready")
            # No ping while the watcher was dead (noticed → restarted ≥ 1 s later).
            restart_at = noticed + 0.9
            starved = [
                t
                for t, m in notify.stamped
                if m == "WATCHDOG=1" and noticed + 0.15 < t < restart_at
            ]
            assert starved == []
            wait_for(
                lambda: any(m == "WATCHDOG=1" and t > restart_at for t, m in notify.stamped),
                10,
                "pings to resume after the restart",
            )
            ds = make_dataset(config.storage.root, "team/after")
            drop_semaphore(ds)
            wait_for(lambda: (status_file(ds) or {}).get("status") == "draft", 30, "publication")
        finally:
            assert daemon.runtime is not None
            daemon.runtime.stop_requested = True
            daemon.runtime.wakeup.set()
            thread.join(30)
            notify.close()
    assert not thread.is_alive()


def test_supervisor_backs_off_and_forgives_a_stable_watcher() -> None:
    sup = WatcherSupervisor(base=1.0, cap=4.0, stable=100.0)
    assert sup.observe(True, 0.0) == OK
    assert sup.observe(False, 10.0) == DIED
    assert sup.observe(False, 10.5) == WAITING
    assert sup.observe(False, 11.0) == RESTART and sup.restarts == 1
    sup.ready(12.0)
    assert sup.observe(False, 13.0) == DIED and sup.delay() == 2.0
    assert sup.observe(False, 14.9) == WAITING
    assert sup.observe(False, 15.0) == RESTART and sup.restarts == 2
    sup.ready(16.0)
    assert sup.observe(True, 50.0) == OK and sup.restarts == 2
    assert sup.observe(True, 116.0) == OK and sup.restarts == 0


def test_a_watcher_healing_a_lost_root_watch_is_not_restarted(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        shutil.rmtree(root)  # an unmount, a careless rm: the watch on the root is lost
        daemon.wait_log_matching("the watch on the storage root was lost")
        time.sleep(1.5)  # longer than the supervisor's first restart delay
        root.mkdir()
        ds = make_dataset(root, "Back")
        daemon.wait_log("rescan done", why="lost watch")
        drop_semaphore(ds)
        wait_for(lambda: (status_file(ds) or {}).get("status") == "draft", 30, "publication")
        assert not [r for r in daemon.records() if "restarting the watcher" in r["event"]]
        assert len(daemon.find_matching("watching ")) == 1
    finally:
        assert daemon.stop() == 0
