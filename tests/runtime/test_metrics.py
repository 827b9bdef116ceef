"""Prometheus metrics: a real daemon against the emulator, exporting a node-exporter textfile
and an HTTP endpoint; the exporter on a real SQLite journal."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from testkit import TOKEN, Emulator, wait_for
from testkit.daemon import DaemonProcess, make_dataset, status_file, write_config

from maggot_zenodo import metrics
from maggot_zenodo.config import parse_config
from maggot_zenodo.metrics_config import MetricsConfig
from maggot_zenodo.runtime.metrics_export import MetricsExporter
from maggot_zenodo.state.journal import Journal


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(found: dict, name: str, **labels: str) -> float | None:
    return found.get((name, tuple(sorted(labels.items()))))


def test_the_daemon_exports_counts_uploads_bytes_and_answers_by_status(
    tmp_path: Path, emulator: Emulator
) -> None:
    prom = tmp_path / "textfile" / "maggot-zenodo.prom"
    prom.parent.mkdir()
    port = _free_port()
    config = write_config(
        tmp_path,
        emulator.base_url,
        **{"metrics.textfile": str(prom), "metrics.listen": f"127.0.0.1:{port}"},
        **{"metrics.interval": 1},
    )
    root = tmp_path / "storage"
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.wait_log("watcher ready")
        good = make_dataset(root, "2024/good", size=12345, semaphore=True)
        broken = make_dataset(root, "2024/broken")
        meta = broken / "META_broken.json"
        record = json.loads(meta.read_text(encoding="utf-8"))
        record["resources"][0]["location"] = "missing.bin"
        meta.write_text(json.dumps(record), encoding="utf-8")
        (broken / "META_datafile_ok.txt").touch()
        for folder in (good, broken):
            wait_for(
                lambda f=folder: (s := status_file(f)) and s["status"] in ("draft", "failed"), 20
            )

        def exported() -> dict | None:
            found = samples(prom.read_text(encoding="utf-8")) if prom.exists() else {}
            done = _value(found, "maggot_zenodo_datasets", state="draft") == 1.0
            return (
                found if done and _value(found, "maggot_zenodo_datasets", state="failed") else None
            )

        found = wait_for(exported, 20, "the textfile to show both datasets")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
            served = resp.read().decode()
    finally:
        assert daemon.stop() == 0
    sent = 12345 + (good / "META_good.json").stat().st_size  # the data file and the metadata
    assert _value(found, "maggot_zenodo_uploads_total") == 2.0
    assert _value(found, "maggot_zenodo_uploaded_bytes_total") == float(sent)
    assert _value(found, "maggot_zenodo_datasets", state="failed") == 1.0
    assert _value(found, "maggot_zenodo_datasets", state="queued") == 0.0
    assert _value(found, "maggot_zenodo_oldest_pending_seconds") == 0.0
    assert (_value(found, "maggot_zenodo_zenodo_responses_total", code="201") or 0) >= 3
    assert _value(found, "maggot_zenodo_retries_total") == 0.0
    from_http = samples(served)
    assert _value(from_http, "maggot_zenodo_uploads_total") == 2.0
    assert _value(from_http, "maggot_zenodo_datasets", state="draft") == 1.0
    assert sorted(p.name for p in prom.parent.iterdir()) == ["maggot-zenodo.prom"]  # no temp
    assert TOKEN not in prom.read_text(encoding="utf-8") + served
    assert daemon.find(f"metrics served on http://127.0.0.1:{port}/metrics")


def test_retries_and_error_answers_are_counted_and_a_busy_port_stops_nothing(
    tmp_path: Path, emulator: Emulator
) -> None:
    prom = tmp_path / "m.prom"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(
            tmp_path,
            emulator.base_url,
            **{"metrics.textfile": str(prom), "metrics.listen": f"127.0.0.1:{port}"},
            **{"metrics.interval": 1, "zenodo.max_retries": 0},
        )
        emulator.set_faults({"rate": 1.0, "kinds": ["503"], "seed": 1})
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            daemon.wait_log("watcher ready")
            refused = [r for r in daemon.records() if "metrics endpoint" in r.get("event", "")]
            assert refused and refused[0]["event"].startswith(f"metrics endpoint 127.0.0.1:{port}")
            make_dataset(tmp_path / "storage", "later", semaphore=True)
            daemon.wait_log_matching(": retry in ")

            def retried() -> dict | None:
                found = samples(prom.read_text(encoding="utf-8")) if prom.exists() else {}
                return found if _value(found, "maggot_zenodo_retries_total") == 1.0 else None

            found = wait_for(retried, 20, "a retry in the textfile")
        finally:
            assert daemon.stop() == 0
    assert (_value(found, "maggot_zenodo_zenodo_responses_total", code="503") or 0) >= 1
    assert _value(found, "maggot_zenodo_uploads_total") == 0.0


def test_the_exporter_reads_the_journal_and_writes_the_textfile_atomically(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path / "state.db")
    prom = tmp_path / "out" / "x.prom"
    exporter = MetricsExporter(MetricsConfig(textfile=prom, interval=1), journal)
    try:
        row = journal.dataset("http://z", "site", "a", str(tmp_path / "a"))
        journal.update(row.id, status="queued", updated=time.time() - 100)
        exporter.refresh()  # the folder does not exist yet: logged, nothing raised
        assert not prom.exists()
        prom.parent.mkdir()
        exporter.refresh()
        found = samples(prom.read_text(encoding="utf-8"))
        assert _value(found, "maggot_zenodo_datasets", state="queued") == 1.0
        assert 99 <= (_value(found, "maggot_zenodo_oldest_pending_seconds") or 0) < 110
        journal.update(row.id, status="archived")  # a state no release knows yet
        exporter.refresh()
        found = samples(prom.read_text(encoding="utf-8"))
        assert _value(found, "maggot_zenodo_datasets", state="archived") == 1.0
        assert _value(found, "maggot_zenodo_datasets", state="queued") == 0.0  # not stale
        assert _value(found, "maggot_zenodo_oldest_pending_seconds") == 0.0
        assert [p.name for p in prom.parent.iterdir()] == ["x.prom"]
    finally:
        journal.close()


def test_metrics_are_off_by_default_and_bad_settings_name_the_key() -> None:
    base = {"storage": {"root": "/srv"}, "zenodo": {"token": {"env": "T"}}}
    assert not parse_config(base).metrics.enabled
    on = parse_config({**base, "metrics": {"listen": "[::1]:9464", "textfile": "/x/m.prom"}})
    assert on.metrics.listen == ("::1", 9464) and on.metrics.textfile == Path("/x/m.prom")
    for section, words in (
        ({"listen": "127.0.0.1:70000"}, "metrics.listen: '127.0.0.1:70000' has the wrong form"),
        ({"textfile": "/x/m.txt"}, "give a file name ending in .prom"),
        ({"interval": 0}, "metrics.interval: 0 is out of range"),
    ):
        with pytest.raises(Exception, match=words.replace(".", r"\.").replace("[", r"\[")):
            parse_config({**base, "metrics": section})


def test_the_registry_is_our_own() -> None:
    text = metrics.exposition().decode()
    names = {f.name for f in text_string_to_metric_families(text)}
    assert {"maggot_zenodo_uploads", "maggot_zenodo_datasets"} <= names
    assert not any(n.startswith(("python_", "process_")) for n in names)
    assert "_created" not in text  # no per-counter creation time doubling the output
