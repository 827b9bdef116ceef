"""Helpers for the publish tests: a real emulator subprocess on loopback, configs, datasets."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from maggot_zenodo.config import Config, parse_config
from maggot_zenodo.publish.workflow import Outcome, Publisher
from maggot_zenodo.state.journal import Journal
from maggot_zenodo.zenodo.client import ZenodoClient

TOKEN = "tok-Zx9-SECRET-5f1e2d3c4b5a69788796a5b4"
SEMAPHORE = "META_datafile_ok.txt"


class Emulator:
    """``maggot-zenodo emulator --port 0`` in a subprocess; its base URL and test extras."""

    def __init__(self, data: Path, *extra: str) -> None:
        cmd = [
            sys.executable, "-m", "maggot_zenodo", "emulator", "--host", "127.0.0.1",
            "--port", "0", "--data", str(data), "--quiet", *extra,
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        assert self.url.startswith("http://127.0.0.1:"), self.url
        self.http = requests.Session()

    def state(self) -> dict[str, Any]:
        return self.http.get(f"{self.url}/_emulator/state", timeout=30).json()

    def reset(self) -> None:
        self.http.post(f"{self.url}/_emulator/reset", timeout=30).raise_for_status()

    def faults(self, **spec: Any) -> None:
        self.http.put(f"{self.url}/_emulator/faults", json=spec, timeout=30).raise_for_status()

    def depositions(self) -> list[dict[str, Any]]:
        return self.state()["depositions"]

    def writes(self) -> int:
        return self.state()["requests"]["writes"]

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def emulator_fixture(tmp_path_factory: Any) -> Iterator[Emulator]:
    emu = Emulator(tmp_path_factory.mktemp("emulator"))
    try:
        yield emu
    finally:
        emu.close()


def token_file(folder: Path, token: str = TOKEN) -> Path:
    path = folder / "token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    return path


def make_config(tmp_path: Path, root: Path, url: str, **zenodo: Any) -> Config:
    data = {
        "storage": {"root": str(root), "settle": 0},
        "zenodo": {
            "url": url,
            "token": {"file": str(token_file(tmp_path))},
            "rate_limit": 100000,
            **zenodo,
        },
        "state": str(tmp_path / "state" / "state.db"),
    }
    return parse_config(data, base_dir=tmp_path)


def write_config_file(tmp_path: Path, config: Config) -> Path:
    """The same settings as a YAML file, for subprocesses."""
    z = config.zenodo
    text = json.dumps(
        {
            "storage": {"root": str(config.storage.root), "settle": 0},
            "zenodo": {
                "url": z.url,
                "token": {"file": z.token.value},  # type: ignore[union-attr]
                "rate_limit": 100000,
                "publish": z.publish,
            },
            "state": str(config.state),
            "log_level": "debug",
        }
    )
    path = tmp_path / "config.yaml"
    path.write_text(text)  # JSON is YAML
    return path


def fast_client(config: Config):
    """Clients that retry quickly (the emulator's faults are instant)."""

    def factory(url: str, token: str) -> ZenodoClient:
        return ZenodoClient.from_config(
            config.zenodo,
            token,
            backoff_base=0.01,
            backoff_max=0.05,
            max_retries=12,
            retry_after_max=0.1,
        )

    return factory


def direct_client(url: str) -> ZenodoClient:
    """A client for the test's own requests (the site's rate limiter is shared: keep it high)."""
    return ZenodoClient(url, TOKEN, rate_limit=100000, backoff_base=0.01, backoff_max=0.05)


def publisher(config: Config, journal: Journal, **kw: Any) -> Publisher:
    return Publisher(config, journal, client_factory=fast_client(config), **kw)


def record(title: str, files: list[str], **extra: Any) -> dict[str, Any]:
    """A small valid Maggot record declaring ``files`` (and one URL resource)."""
    rec = {
        "profile": "https://example.org/maggot/conf/maggot-schema.json",
        "title": title,
        "fulltitle": f"{title}: measurements of a test campaign",
        "subject": ["Agricultural Sciences"],
        "description": f"Test dataset {title}.",
        "license": "Creative Commons Attribution 4.0 International",
        "contacts": ["Martin Claire"],
        "authors": ["Martin Claire", "van Delft Pierre"],
        "kindOfData": ["Dataset"],
        "resources": [
            {"datatype": "Dataset", "media": "text/csv", "description": f, "location": f}
            for f in files
        ]
        + [{"datatype": "Other", "description": "web", "location": "https://example.org/x"}],
    }
    rec.update(extra)
    return rec


def make_dataset(
    root: Path,
    name: str,
    files: dict[str, bytes | str],
    *,
    declared: list[str] | None = None,
    semaphore: bool = True,
    **extra: Any,
) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    for rel, content in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        path.write_bytes(content)
    rec = record(name, list(files) if declared is None else declared, **extra)
    (folder / f"META_{name}.json").write_text(json.dumps(rec, indent=1))
    if semaphore:
        (folder / SEMAPHORE).touch()
    return folder


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()  # noqa: S324


def expected_files(folder: Path, locations: list[str]) -> dict[str, str]:
    """name -> md5 of what Zenodo must hold for ``folder``."""
    [meta] = [p for p in folder.iterdir() if p.name.startswith("META_") and p.suffix == ".json"]
    out = {meta.name: md5(meta)}
    for loc in locations:
        out[Path(loc).name] = md5(folder / loc)
    return out


def held_files(dep: dict[str, Any]) -> dict[str, str]:
    return {f["filename"]: str(f["checksum"]).removeprefix("md5:") for f in dep["files"]}


def until_ok(pub: Publisher, folder: Path, attempts: int = 60) -> tuple[Outcome, int]:
    """Publish again and again, as the daemon's retries would, until it succeeds."""
    for n in range(1, attempts + 1):
        outcome = pub.publish(folder)
        if outcome.ok:
            return outcome, n
        assert outcome.retryable, outcome
    raise AssertionError(f"{folder} still failing after {attempts} attempts: {outcome}")


def copy_samples(samples: Path, dst: Path) -> list[Path]:
    """The sample storage space, writable, with a semaphore in every dataset folder."""
    shutil.copytree(samples / "storage", dst)
    for dirpath, _dirnames, filenames in os.walk(dst):
        os.chmod(dirpath, 0o755)  # noqa: S103 - samples are read-only
        for f in filenames:
            os.chmod(os.path.join(dirpath, f), 0o644)
    folders = sorted({p.parent for p in dst.rglob("META_*.json")})
    for folder in folders:
        (folder / SEMAPHORE).touch()
    return folders


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
