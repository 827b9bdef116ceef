"""``make demo`` (python -m maggot_zenodo.demo) on a fresh folder: the daemon publishes while
it runs, stops with exit 0, and everything the demo started is gone, even after Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml
from testkit.daemon import bare_event


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if text.encode() in cmdline:
            pids.append(int(entry.name))
    return pids


def _log_events(log: Path) -> list[dict]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            out.append(item)
    return out


def test_demo_runs_the_daemon_which_publishes_then_stops_with_exit_0(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo.demo"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    run = tmp_path / "demo-run"
    soil = run / "storage" / "2024" / "SoilMicrobiome2024"
    status = yaml.safe_load((soil / "META_zenodo.txt").read_text())
    assert status["status"] == "draft"
    assert status["deposit_url"].startswith("http://127.0.0.1:")
    assert {f["name"] for f in status["files"]} == {
        "META_SoilMicrobiome2024.json", "otu_counts.csv", "soil_chemistry.csv", "README.txt",
    }  # fmt: skip
    out = res.stdout
    assert status["deposit_url"] in out
    assert "write requests Zenodo received meanwhile: 0" in out
    assert not (run / "storage" / "2024" / "GrapeBerryNMR" / "META_zenodo.txt").exists()
    # the daemon was ready before any semaphore was dropped, and the link came while it ran
    assert out.index("ready after") < out.index("touch 2024/SoilMicrobiome2024/")
    publishing = out.index("2024/SoilMicrobiome2024: publishing")
    draft = out.index(f"2024/SoilMicrobiome2024: draft  {status['deposit_url']}")
    assert publishing < draft < out.index("daemon stopped, exit code 0")
    events = _log_events(run / "daemon.log")
    names = [bare_event(e) for e in events]
    assert names.index("watcher ready") < names.index("publishing") < names.index("stopped")
    done = [e for e in events if bare_event(e) == "dataset done"]
    assert {e.get("dataset") for e in done} >= {"2024/SoilMicrobiome2024", "2024/LeafImaging"}
    # the token stays in its file: not printed, not logged, not on a command line
    token = (run / "token").read_text().strip()
    assert len(token) > 20
    assert token not in out + res.stderr
    assert token not in (run / "daemon.log").read_text()
    assert _processes_mentioning(str(run)) == []
    # a second demo in the same place starts afresh
    again = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo.demo"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    assert _processes_mentioning(str(run)) == []


def test_demo_interrupted_stops_the_daemon_and_the_emulator(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "maggot_zenodo.demo"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = tmp_path / "demo-run"
    seen = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if "ready after" in line:
                break
        assert any("ready after" in line for line in seen), "".join(seen)
        assert len(_processes_mentioning(str(run))) >= 2  # the emulator and the daemon
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, "".join(seen) + rest
    assert "Interrupted: stopping what the demo started." in rest
    assert _processes_mentioning(str(run)) == []


def test_demo_with_zenodo_and_dataverse_deposits_each_dataset_in_both(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "maggot_zenodo.demo", "--repositories", "zenodo,dataverse"],
        cwd=tmp_path, capture_output=True, text=True, timeout=150, check=False,
        env={k: v for k, v in os.environ.items() if k != "REPOSITORIES"},
    )  # fmt: skip
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    run = tmp_path / "demo-run"
    soil = run / "storage" / "2024" / "SoilMicrobiome2024"
    zenodo = yaml.safe_load((soil / "META_zenodo.txt").read_text())
    dataverse = yaml.safe_load((soil / "META_dataverse.txt").read_text())
    assert zenodo["status"] == "draft" and dataverse["status"] == "draft"
    assert dataverse["persistent_id"].startswith("doi:10.5072/")
    assert dataverse["persistent_id"] in dataverse["dataset_url"]
    # Dataverse keeps the sub-folder: the file's name is its path in the dataset
    assert {f["name"] for f in dataverse["files"]} == {
        "META_SoilMicrobiome2024.json", "otu_counts.csv", "chemistry/soil_chemistry.csv",
        "README.txt",
    }  # fmt: skip
    leaf = run / "storage" / "2024" / "LeafImaging"
    assert yaml.safe_load((leaf / "META_dataverse.txt").read_text())["status"] == "draft"
    assert not (run / "storage" / "2024" / "GrapeBerryNMR" / "META_dataverse.txt").exists()
    # the story shows both links as they come, and what each repository received again
    assert f"2024/SoilMicrobiome2024 [Zenodo]: draft  {zenodo['deposit_url']}" in out
    assert (
        f"2024/SoilMicrobiome2024 [Dataverse]: draft  {dataverse['dataset_url']}"
        f"  ({dataverse['persistent_id']})"
    ) in out
    assert "write requests Zenodo received meanwhile: 0" in out
    assert "write requests Dataverse received meanwhile: 0" in out
    assert "handled after" in out and "the same Dataverse link" in out
    assert "   META_dataverse.txt:\n   | # Written by maggot-zenodo" in out
    assert "daemon stopped, exit code 0" in out and "emulators stopped" in out
    # the emulator served the demo's collection, and the dataset is in it
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["dataverse"]["collection"] == "demo"
    assert config["dataverse"]["token"] == {"file": str(run / "dataverse-token")}
    # neither token is printed, logged or on a command line
    log = (run / "daemon.log").read_text()
    for name in ("token", "dataverse-token"):
        secret = (run / name).read_text().strip()
        assert len(secret) > 20 and secret not in out + res.stderr + log
    assert _processes_mentioning(str(run)) == []


def _make_demo_line(*args: str) -> str:
    """The demo's command line as ``make -n demo ARGS`` would run it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "REPOSITORIES"))}
    res = subprocess.run(
        ["make", "--no-print-directory", "-n", "demo", *args],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60,
        check=False, env=env,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    [line] = [x.strip() for x in res.stdout.splitlines() if "-m maggot_zenodo.demo" in x]
    return line


def test_make_demo_passes_repositories_on():
    line = _make_demo_line("REPOSITORIES=zenodo,dataverse")
    assert line.endswith("-m maggot_zenodo.demo --repositories zenodo,dataverse")
    assert _make_demo_line().endswith("-m maggot_zenodo.demo")
