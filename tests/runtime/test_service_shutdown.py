"""``shutdown_timeout`` is honoured exactly (#15): 0.1.0 added a fixed 10 s of grace, so SIGTERM
with ``shutdown_timeout: 5`` took 15 s, and the example's advice on TimeoutStopSec= was wrong."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from testkit import Emulator, wait_for
from testkit.daemon import DaemonProcess, make_dataset, status_file, write_config

TIMEOUT = 2.0
EXIT_MARGIN = 1.5  # the watcher's threads, the journal and the interpreter closing


def test_sigterm_during_a_stuck_upload_exits_within_shutdown_timeout(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url, shutdown_timeout=TIMEOUT)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        emulator.set_faults(
            {"rate": 1.0, "kinds": ["slow"], "delay": 60, "methods": ["PUT"], "match": "/files/"}
        )
        folder = make_dataset(tmp_path / "storage", "Stuck", size=2_000_000, semaphore=True)
        daemon.wait_log("publishing", dataset="Stuck")
        wait_for(lambda: emulator.depositions(), 20, "a deposition")
        # The upload is in flight: its body is in and the emulator holds the answer back.
        wait_for(lambda: emulator.state()["faults"]["injected"].get("slow"), 20, "a held upload")
        started = time.monotonic()
        daemon.signal(signal.SIGTERM)
        code = daemon.proc.wait(30)
        took = time.monotonic() - started
    finally:
        daemon.stop()
    assert code == 0
    assert TIMEOUT * 0.75 <= took <= TIMEOUT + EXIT_MARGIN, f"SIGTERM to exit took {took:.2f} s"
    interrupted = daemon.wait_log_matching("interrupting them")
    assert interrupted["level"] == "warning"
    assert (status_file(folder) or {}).get("status") != "draft"


def test_the_example_config_advice_matches_the_unit() -> None:
    project = Path(__file__).resolve().parents[2]
    example = (project / "etc" / "config.example.yaml").read_text(encoding="utf-8")
    unit = (project / "systemd" / "maggot-zenodo.service").read_text(encoding="utf-8")
    assert "TimeoutStopSec=45s" in unit
    assert "shutdown_timeout: 30" in example
    assert "Seconds from stop (SIGTERM) to exit, exactly" in example
    assert "TimeoutStopSec= (45 s) a few seconds above it" in example
