"""One daemon per storage space (#15): on 0.1.0 two daemons with different journals on the same
storage (two hosts on one NAS, a test instance left running) deposited every dataset twice."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
import yaml
from testkit import Emulator, wait_for
from testkit.daemon import DaemonProcess, make_dataset, run_cli, status_file, write_config

from maggot_zenodo.runtime.lease import LEASE_NAME, Lease, LeaseHeld, parse


def foreign_lease(
    root: Path, *, host: str = "nas-host-2", pid: int = 4242, age: float = 0.0
) -> Path:
    """A lease as another host's daemon writes it, last renewed ``age`` seconds ago."""
    path = root / LEASE_NAME
    renewed = time.time() - age
    path.write_text(
        json.dumps(
            {
                "host": host,
                "pid": pid,
                "state": "/var/lib/x/state.db",
                "renewed": renewed,
                "token": "f00d",
            }
        )
    )
    os.utime(path, (renewed, renewed))
    return path


def test_a_live_foreign_lease_is_refused_a_stale_one_taken_over(tmp_path: Path) -> None:
    foreign_lease(tmp_path, age=5)
    lease = Lease(tmp_path, 10, tmp_path / "state.db")
    with pytest.raises(LeaseHeld) as caught:
        lease.acquire()
    message = str(caught.value)
    assert "host nas-host-2, pid 4242, renewed 5 s ago" in message
    assert "Fix: stop that daemon; if it is gone, its lease goes stale 30 s" in message
    assert str(tmp_path / LEASE_NAME) in message
    assert not lease.held
    foreign_lease(tmp_path, age=31)  # 3 periods without renewal: stale
    lease.acquire()
    holder = parse((tmp_path / LEASE_NAME).read_text())
    assert holder is not None and holder.pid == os.getpid() and holder.host == socket.gethostname()
    assert lease.held


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    dead = 2**22 + 12345  # above pid_max's default: no such process
    foreign_lease(tmp_path, host=socket.gethostname(), pid=dead, age=0)
    lease = Lease(tmp_path, 30, tmp_path / "state.db")
    lease.acquire()
    assert lease.held


def test_renewal_rewrites_in_place_and_notices_a_takeover(tmp_path: Path) -> None:
    lease = Lease(tmp_path, 0.01, tmp_path / "state.db")
    lease.acquire()
    path = tmp_path / LEASE_NAME
    first = parse(path.read_text())
    ino = path.stat().st_ino
    time.sleep(0.02)
    assert lease.renew() is None
    second = parse(path.read_text())
    assert first is not None and second is not None and second.renewed > first.renewed
    assert path.stat().st_ino == ino  # in place: the root's mtime does not move at each renewal
    foreign_lease(tmp_path)  # taken over (a host frozen beyond the stale period)
    taker = lease.renew()
    assert taker is not None and taker.host == "nas-host-2" and not lease.held
    lease.release()
    assert path.exists()  # not ours any more: left alone


def test_a_second_daemon_on_the_same_storage_is_refused(tmp_path: Path, emulator: Emulator) -> None:
    first_config = write_config(tmp_path, emulator.base_url, **{"storage.lease_interval": 0.5})
    second_dir = tmp_path / "second"
    second_dir.mkdir()
    second_config = write_config(
        second_dir,
        emulator.base_url,
        **{"storage.root": str(tmp_path / "storage"), "storage.lease_interval": 0.5},
    )
    first = DaemonProcess(first_config, tmp_path / "first.log")
    try:
        first.wait_log("watcher ready")
        for args in (["run"], ["run", "--once"]):
            second = run_cli(*args, "--config", str(second_config), timeout=30)
            assert second.returncode == 1
            # one line for a person (the rest of stderr is the JSON log)
            lines = [ln for ln in second.stderr.splitlines() if ln.startswith("maggot-zenodo: ")]
            assert len(lines) == 1, second.stderr
            assert f"host {socket.gethostname()}, pid {first.pid}, renewed " in lines[0]
            assert "Fix: stop that daemon" in lines[0]
        ds = make_dataset(tmp_path / "storage", "Once", semaphore=True)
        wait_for(lambda: (status_file(ds) or {}).get("status") == "draft", 30, "publication")
        lease_text = (tmp_path / "storage" / LEASE_NAME).read_text()
        assert parse(lease_text) is not None and str(first.pid) in lease_text
    finally:
        assert first.stop() == 0
    assert not (tmp_path / "storage" / LEASE_NAME).exists()  # released at a clean stop
    assert len(emulator.depositions()) == 1
    again = run_cli("run", "--once", "--config", str(second_config), timeout=60)
    assert again.returncode == 0, again.stderr[-2000:]


def test_a_reload_onto_another_root_moves_the_lease_or_is_refused(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url)
    other, taken = tmp_path / "other", tmp_path / "taken"
    other.mkdir()
    taken.mkdir()
    foreign_lease(taken, age=1)  # another host serves this one
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        assert (tmp_path / "storage" / LEASE_NAME).exists()
        data = yaml.safe_load(config.read_text())
        data["storage"]["root"] = str(taken)
        config.write_text(yaml.safe_dump(data))
        daemon.signal(signal.SIGHUP)
        refused = daemon.wait_log_matching("reload refused: storage ")
        assert "host nas-host-2, pid 4242" in refused["event"]
        assert (tmp_path / "storage" / LEASE_NAME).exists()  # still ours
        data["storage"]["root"] = str(other)
        config.write_text(yaml.safe_dump(data))
        daemon.signal(signal.SIGHUP)
        daemon.wait_log_matching("reload: configuration reloaded")
        wait_for(lambda: (other / LEASE_NAME).exists(), 10, "the lease on the new root")
        assert not (tmp_path / "storage" / LEASE_NAME).exists()
    finally:
        assert daemon.stop() == 0
    assert not (other / LEASE_NAME).exists()
