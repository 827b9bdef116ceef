"""What the systemd end-to-end test shares between its fixtures (conftest.py) and its tests:
the constants of the run and small probes of the emulator, the status file and the unit."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import yaml
from nspawn_machine import Machine
from testkit import wait_for

PROJECT = Path(__file__).resolve().parents[2]
SAMPLE = PROJECT.parent / "shared" / "samples" / "storage" / "frim1"
UNIT = "maggot-zenodo.service"
DROPINS = "/etc/systemd/system/maggot-zenodo.service.d"
STORAGE_GID = 2500  # the storage's group, "maggot", the same number on the host and inside
MAX_EXPOSURE = 2.0
RELEASE = os.environ.get("MAGGOT_E2E_RELEASE", "trixie")


def emulator_depositions(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/_emulator/state", timeout=10) as resp:  # noqa: S310
        state = json.load(resp)
    deps = state.get("depositions", state) if isinstance(state, dict) else state
    return list(deps.values()) if isinstance(deps, dict) else list(deps)


def status_file(folder: Path) -> dict | None:
    try:
        data = yaml.safe_load((folder / "META_zenodo.txt").read_text(encoding="utf-8"))
    except (FileNotFoundError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def wait_active(m: Machine, restarts: int | None, old_pid: str | None = None) -> dict[str, str]:
    """Wait until the unit runs again with a new main process (and, if given, the count of
    automatic restarts systemd made)."""

    def probe() -> dict[str, str] | None:
        s = m.show(UNIT, "ActiveState", "SubState", "MainPID", "NRestarts", "StatusText")
        ok = s["ActiveState"] == "active" and s["SubState"] == "running"
        ok = ok and restarts in (None, int(s["NRestarts"]))
        ok = ok and s["MainPID"] not in ("0", old_pid)
        return s if ok else None

    return wait_for(probe, 60, f"{UNIT} active again with NRestarts={restarts}", step=0.2)
