"""The demo's steps, in the order a visitor reads them."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from maggot_zenodo.constants import DEFAULT_SEMAPHORE as SEMAPHORE
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE, STATUS_FILE
from maggot_zenodo.demo.datasets import DATASETS, write_storage
from maggot_zenodo.demo.processes import (
    UPLOAD_DELAY,
    DemoError,
    NotifyListener,
    daemon_env,
    emulator,
    emulator_writes,
    log_tail,
    maggot_zenodo,
    start,
    stop,
    wait_until,
)

STAMP = ".maggot-zenodo-demo"
SETTLE = 1.0  # seconds a dataset must stay unchanged before the daemon takes it
READY_TIMEOUT = 60.0
PUBLISH_TIMEOUT = 90.0
STOP_TIMEOUT = 45.0
FINAL = ("draft", "published", "failed")

Popen = subprocess.Popen[Any]


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say()
    say(f"== {n}. {text}")


def write_config(run_dir: Path, storage: Path, url: str) -> Path:
    token = run_dir / "token"
    fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"demo-{secrets.token_urlsafe(24)}\n")  # a fresh one for each demo
    config = run_dir / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            # maggot-zenodo demo configuration (see etc/config.example.yaml)
            storage:
              root: {storage}
              watch: inotify
              poll_interval: 1      # only if inotify is unavailable here
              settle: {SETTLE}
            zenodo:
              url: {url}
              token: {{file: {token}}}
              publish: false        # leave drafts to review, as Maggot does
              rate_limit: 1000
            state: {run_dir / "state.db"}
            log_level: info
            """
        ),
        "utf-8",
    )
    return config


def read_status(folder: Path) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load((folder / STATUS_FILE).read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


Done = Callable[[Path, dict[str, Any]], bool]


def follow(folders: list[Path], storage: Path, daemon: Popen, done: Done) -> None:
    """Print every status change of the folders' META_zenodo.txt until ``done(folder,
    status)`` holds for each of them (or the daemon dies, or the deadline passes)."""
    started = time.monotonic()
    last = {folder: (read_status(folder) or {}).get("status") for folder in folders}
    finished: set[Path] = set()

    def check() -> bool:
        if daemon.poll() is not None:
            raise DemoError(f"the daemon exited with code {daemon.returncode}")
        for folder in folders:
            data = read_status(folder) or {}
            status = data.get("status")
            if status is not None and status != last[folder]:
                last[folder] = status
                shown = f"   {time.monotonic() - started:5.2f} s  "
                shown += f"{folder.relative_to(storage)}: {status}"
                if data.get("deposit_url"):
                    shown += f"  {data['deposit_url']}"
                if status == "failed":
                    shown += f"\n{' ' * 12}error: {data.get('error')}"
                    shown += f"\n{' ' * 12}hint: {data.get('hint')}"
                say(shown)
            if folder not in finished and done(folder, data):
                finished.add(folder)
        return len(finished) == len(folders)

    wait_until("the datasets' META_zenodo.txt", check, PUBLISH_TIMEOUT)


def start_daemon(config: Path, log: Path, notify: NotifyListener, procs: list[Popen]) -> Popen:
    """Step 3: ``maggot-zenodo run``, waited for until its READY=1."""
    step(3, "The daemon starts: maggot-zenodo run --config demo-run/config.yaml")
    with log.open("ab") as out:
        daemon = start(
            maggot_zenodo("run", "--config", str(config)),
            stdout=out,
            stderr=out,
            env=daemon_env(notify),
        )
    procs.append(daemon)
    began = time.monotonic()

    def ready() -> bool:
        if daemon.poll() is not None:
            raise DemoError(f"the daemon exited with code {daemon.returncode}")
        return notify.ready.is_set()

    wait_until("the daemon's READY=1", ready, READY_TIMEOUT)
    say(f"   ready after {time.monotonic() - began:.1f} s (READY=1, as systemd sees it)")
    say(f"   status: {notify.status}")
    say(f"   its log: {log}")
    return daemon


def drop_semaphores(to_publish: list[Path], storage: Path, daemon: Popen) -> dict[Path, Any]:
    """Step 4: the researchers' semaphores, and each status file as it changes."""
    step(4, f"Researchers drop {SEMAPHORE} in {len(to_publish)} of the 3 datasets")
    for folder in to_publish:
        (folder / SEMAPHORE).touch()
        say(f"   touch {(folder / SEMAPHORE).relative_to(storage)}")
    say(f"   META_zenodo.txt as it changes (the daemon waits {SETTLE:.0f} s for copies")
    say("   to finish, then publishes):")
    follow(to_publish, storage, daemon, lambda _f, data: data.get("status") in FINAL)
    return {folder: read_status(folder) or {} for folder in to_publish}


def touch_again(first: Path, link: Any, storage: Path, daemon: Popen, url: str) -> None:
    """Step 5: a touch with nothing changed is handled without a write request."""
    from maggot_zenodo.semaphore import semaphore_fingerprint
    from maggot_zenodo.state.journal import Journal

    step(5, f"Touching {SEMAPHORE} again with nothing changed sends nothing")
    writes = emulator_writes(url)
    touched = time.monotonic()
    (first / SEMAPHORE).touch()
    os.utime(first / SEMAPHORE)
    fingerprint = semaphore_fingerprint(first / SEMAPHORE) or ""
    say(f"   touch {(first / SEMAPHORE).relative_to(storage)}")
    journal = Journal(Path(storage.parent / "state.db"))
    try:
        follow(
            [first],
            storage,
            daemon,
            lambda f, data: (
                data.get("status") in FINAL and not journal.is_pending(f, fingerprint, [url])
            ),
        )
    finally:
        journal.close()
    after = read_status(first) or {}
    took = time.monotonic() - touched
    same = "the same" if after.get("deposit_url") == link else "a NEW"
    say(f"   handled after {took:.1f} s: {after.get('status')}, {same} deposit link")
    say(f"   write requests Zenodo received meanwhile: {emulator_writes(url) - writes}")


def show_outputs(first: Path, storage: Path, config: Path, notify: NotifyListener) -> None:
    """Steps 6 and 7: what the researcher and the sysadmin see."""
    step(6, f"What the researcher finds in {first.relative_to(storage)}/{STATUS_FILE}")
    status_file = first / STATUS_FILE
    if status_file.exists():
        for line in status_file.read_text("utf-8").splitlines():
            say(f"   | {line}")
    step(7, "What the sysadmin sees: maggot-zenodo status (and systemctl status)")
    shown = subprocess.run(
        maggot_zenodo("status", "--config", str(config)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    for line in (shown.stdout + shown.stderr).splitlines():
        say(f"   {line}")
    say(f'   systemctl status would show: Status: "{notify.status}"')


def show_demo(run_dir: Path, storage: Path, procs: list[Popen]) -> bool:
    """Steps 2-8; every process started is appended to ``procs`` for the caller's clean-up."""
    to_publish = [storage / "2024" / n for n, spec in DATASETS.items() if spec["semaphore"]]
    step(2, "A local Zenodo emulator (maggot-zenodo emulator --port 0)")
    with emulator(run_dir / "emulator") as url:
        say(f"   listening on {url} (uploads take {UPLOAD_DELAY} s each, like a real network)")
        config = write_config(run_dir, storage, url)
        say(f"   configuration: {config}")
        say(f"   token file:    {run_dir / 'token'} (mode 600; the token is never printed)")
        log = run_dir / "daemon.log"
        notify = NotifyListener()
        try:
            daemon = start_daemon(config, log, notify, procs)
            results = drop_semaphores(to_publish, storage, daemon)
            ok = all(r.get("status") in ("draft", "published") for r in results.values())
            first = to_publish[0]
            touch_again(first, results[first].get("deposit_url"), storage, daemon, url)
            show_outputs(first, storage, config, notify)
            step(8, "SIGTERM stops the daemon cleanly (systemctl stop)")
            code = stop(daemon, STOP_TIMEOUT)
            say(f"   daemon stopped, exit code {code}")
            if code != 0:
                raise DemoError(f"the daemon exited with code {code}")
        except DemoError:
            say("   the daemon's last log lines:")
            say(log_tail(log))
            raise
        finally:
            notify.close()
    say("   emulator stopped")
    return ok


def main() -> int:
    run_dir = Path("demo-run").absolute()
    if run_dir.exists():
        if not (run_dir / STAMP).exists():
            say(f"{run_dir} exists and was not made by the demo; move it away first.")
            return EXIT_USAGE
        shutil.rmtree(run_dir)
    run_dir.mkdir()
    (run_dir / STAMP).touch()
    storage = run_dir / "storage"

    say("maggot-zenodo demo: researchers drop a file, their dataset appears on Zenodo.")
    step(1, f"A small Maggot storage space in {storage}")
    write_storage(storage)
    for meta in sorted(storage.rglob("META_*.json")):
        extra = sorted(p.name for p in meta.parent.rglob("*") if p.is_file() and p != meta)
        say(f"   {meta.relative_to(storage)}" + (f"  + {', '.join(extra)}" if extra else ""))

    procs: list[Popen] = []
    try:
        ok = show_demo(run_dir, storage, procs)
    except DemoError as exc:
        say(f"\nThe demo stopped: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        say("\nInterrupted: stopping what the demo started.")
        return 130
    finally:
        for proc in procs:
            stop(proc, 10)

    say()
    say("Done: the daemon and the emulator are stopped.")
    say(f"   Everything the demo made is in {run_dir} (make clean removes it).")
    return EXIT_OK if ok else EXIT_FAILED
