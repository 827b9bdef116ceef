"""``maggot-zenodo check``: the JSON on stdout and exit 0, or every problem on stderr and 1."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maggot_zenodo.commands import check as checkcmd
from maggot_zenodo.config import parse_config

GOOD = {
    "profile": "p",
    "title": "toy",
    "fulltitle": "Ein Spielzeug-Datensatz",
    "subject": ["Chemistry"],
    "description": "Zahlen: ä ö ü.",
    "contacts": ["van Delft Pierre"],
    "authors": ["van Delft Pierre"],
    "kindOfData": ["Dataset"],
    "access_rights": "Public",
    "license": "CC BY 4.0",
    "language": ["German"],
}


def dataset(tmp_path: Path, record: dict | str, name: str = "ds") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    text = record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)
    (folder / "META_toy.json").write_text(text, encoding="utf-8")
    return folder


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "maggot_zenodo", "check", *args],
        capture_output=True, text=True, encoding="utf-8", timeout=60,
        env={**os.environ, "MAGGOT_ZENODO_CONFIG": "/nonexistent/config.yaml", **(env or {})},
    )  # fmt: skip


def config_file(tmp_path: Path, samples_dir: Path | None = None, communities=()) -> Path:
    lines = ["storage:", f"  root: {tmp_path}", "zenodo:", "  token: {env: NO_SUCH_TOKEN}"]
    if communities:
        lines.append(f"  communities: [{', '.join(communities)}]")
    if samples_dir is not None:
        lines += [
            "maggot:",
            f"  conf_dir: {samples_dir / 'maggot-site/conf'}",
            f"  cvlist_dir: {samples_dir / 'maggot-site/cvlist'}",
        ]
    path = tmp_path / "config.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_cli_prints_the_deposition_json(tmp_path: Path) -> None:
    proc = cli(str(dataset(tmp_path, GOOD)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert "ä ö ü" in proc.stdout  # UTF-8, not \\u escapes
    assert proc.stdout.startswith('{\n  "metadata": {\n')
    md = json.loads(proc.stdout)["metadata"]
    assert md["creators"] == [{"name": "van Delft, Pierre"}]
    assert md["license"] == "cc-by-4.0" and md["language"] == "deu"


def test_cli_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = {**GOOD, "authors": [], "subject": ["Biology"]}
    proc = cli(str(dataset(tmp_path, bad)))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "error: authors: at least one author is required" in proc.stderr
    assert 'error: subject[0]: "Biology" is not one of Maggot\'s subjects: Agricultural' in (
        proc.stderr
    )
    assert "hint:" in proc.stderr


def test_cli_conversion_errors_exit_1(tmp_path: Path) -> None:
    proc = cli(str(dataset(tmp_path, {**GOOD, "license": "whatever I like"})))
    assert proc.returncode == 1 and proc.stdout == ""
    assert 'error: license: "whatever I like" is not a license Zenodo knows' in proc.stderr


def test_cli_warnings_go_to_stderr(tmp_path: Path) -> None:
    record = {k: v for k, v in GOOD.items() if k != "license"}
    proc = cli(str(dataset(tmp_path, record)))
    assert proc.returncode == 0
    assert "warning: license: an open dataset has no license" in proc.stderr
    assert "license" not in json.loads(proc.stdout)["metadata"]


def test_cli_with_config_and_sample_site(tmp_path: Path, samples_dir: Path) -> None:
    cfg = config_file(tmp_path, samples_dir, communities=["my-lab"])
    proc = cli(str(samples_dir / "storage/frim1"), "--config", str(cfg))
    assert proc.returncode == 0, proc.stderr
    md = json.loads(proc.stdout)["metadata"]
    assert md["communities"] == [{"identifier": c} for c in ("zenodo", "inra", "my-lab")]
    assert md["grants"][0] == {"id": "10.13039/501100001665::ANR-11-INBS-0010"}


def test_cli_broken_site_file_is_a_config_problem(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "maggot-schema.json").write_text("{not json")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"storage: {{root: {tmp_path}}}\nzenodo: {{token: {{env: X}}}}\n"
        f"maggot: {{conf_dir: {conf}}}\n"
    )
    proc = cli(str(dataset(tmp_path, GOOD)), "--config", str(cfg))
    assert proc.returncode == 2
    assert "maggot-schema.json" in proc.stderr


@pytest.mark.parametrize("with_site", [False, True])
def test_all_samples(tmp_path: Path, samples_dir: Path, with_site: bool) -> None:
    cfg = parse_config(
        {
            "storage": {"root": str(tmp_path)},
            "zenodo": {"token": {"env": "X"}},
            "maggot": {
                "conf_dir": str(samples_dir / "maggot-site/conf"),
                "cvlist_dir": str(samples_dir / "maggot-site/cvlist"),
            }
            if with_site
            else {},
        }
    )
    folders = sorted(p.parent for p in (samples_dir / "storage").rglob("META_*.json"))
    assert len(folders) == 10
    for folder in folders:
        out, err = io.StringIO(), io.StringIO()
        assert checkcmd.run(cfg, folder, out=out, err=err) == 0, err.getvalue()
        md = json.loads(out.getvalue())["metadata"]
        assert md["upload_type"] == "dataset" and md["creators"]
        assert ("communities" in md) == with_site


def test_optional_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAGGOT_ZENODO_CONFIG", str(tmp_path / "absent.yaml"))
    assert checkcmd.optional_config() is None
    cfg = config_file(tmp_path)
    monkeypatch.setenv("MAGGOT_ZENODO_CONFIG", str(cfg))
    assert checkcmd.optional_config().storage.root == tmp_path


def test_run_without_config_reports_read_problems(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    assert checkcmd.run(None, tmp_path / "missing", out=out, err=err) == 1
    assert out.getvalue() == "" and "error:" in err.getvalue()
