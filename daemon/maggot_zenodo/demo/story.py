"""The demo's steps, in the order a visitor reads them.

``make demo`` shows Zenodo; ``make demo REPOSITORIES=zenodo,dataverse`` (or
``python -m maggot_zenodo.demo --repositories zenodo,dataverse``, or ``$REPOSITORIES``) runs a
Dataverse emulator beside it, and the daemon deposits each dataset in both.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import subprocess
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from maggot_zenodo.constants import (
    DATAVERSE_STATUS_FILE,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    STATUS_FILE,
)
from maggot_zenodo.constants import DEFAULT_SEMAPHORE as SEMAPHORE
from maggot_zenodo.demo.datasets import DATASETS, write_cvlist, write_storage
from maggot_zenodo.demo.processes import (
    DATAVERSE_COLLECTION,
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
#: The repositories the demo can show, in the order it shows them.
REPOSITORIES = ("zenodo", "dataverse")
LABELS = {"zenodo": "Zenodo", "dataverse": "Dataverse"}
STATUS_FILES = {"zenodo": STATUS_FILE, "dataverse": DATAVERSE_STATUS_FILE}
#: The key of each status file that holds the link to show.
LINKS = {"zenodo": "deposit_url", "dataverse": "dataset_url"}


def parse_repositories(text: str) -> tuple[str, ...]:
    """``zenodo,dataverse`` → the repositories, in the demo's order; ValueError otherwise."""
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    unknown = names - set(REPOSITORIES)
    if unknown or not names:
        raise ValueError(
            f"unknown repositories {', '.join(sorted(unknown))!s}" if unknown else "no repository"
        )
    return tuple(n for n in REPOSITORIES if n in names)


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say()
    say(f"== {n}. {text}")


def _token_file(path: Path) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(f"demo-{secrets.token_urlsafe(24)}\n")  # a fresh one for each demo
    return path


def write_config(run_dir: Path, storage: Path, urls: str | dict[str, str]) -> Path:
    """The daemon's configuration for the emulators ``urls`` ({repository: base URL}; a
    string is Zenodo's alone), each with its token in a 0600 file of its own."""
    urls = {"zenodo": urls} if isinstance(urls, str) else urls
    sections = ""
    if "zenodo" in urls:
        token = _token_file(run_dir / "token")
        sections += f"""\
            zenodo:
              url: {urls["zenodo"]}
              token: {{file: {token}}}
              publish: false        # leave drafts to review, as Maggot does
              rate_limit: 1000
"""
    if "dataverse" in urls:
        token = _token_file(run_dir / "dataverse-token")
        cvlist = write_cvlist(run_dir / "cvlist")
        sections += f"""\
            dataverse:
              url: {urls["dataverse"]}
              token: {{file: {token}}}
              collection: {DATAVERSE_COLLECTION}
              publish: false        # drafts too
            maggot:
              cvlist_dir: {cvlist}  # the people's e-mails: Dataverse requires the contact's
"""
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
{sections}\
            state: {run_dir / "state.db"}
            log_level: info
            """
        ),
        "utf-8",
    )
    return config


def read_status(folder: Path, name: str = STATUS_FILE) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load((folder / name).read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


Done = Callable[[Path, dict[str, Any]], bool]


def follow(
    folders: list[Path],
    storage: Path,
    daemon: Popen,
    done: Done,
    repositories: Sequence[str] = ("zenodo",),
) -> None:
    """Print every status change of the folders' status files (META_zenodo.txt,
    META_dataverse.txt) until ``done(folder, status)`` holds for each of them (or the daemon
    dies, or the deadline passes). With several repositories each line names its own."""
    started = time.monotonic()
    watched = [(folder, repo) for folder in folders for repo in repositories]
    last = {w: (read_status(w[0], STATUS_FILES[w[1]]) or {}).get("status") for w in watched}
    finished: set[tuple[Path, str]] = set()

    def check() -> bool:
        if daemon.poll() is not None:
            raise DemoError(f"the daemon exited with code {daemon.returncode}")
        for folder, repo in watched:
            data = read_status(folder, STATUS_FILES[repo]) or {}
            status = data.get("status")
            if status is not None and status != last[folder, repo]:
                last[folder, repo] = status
                tag = f" [{LABELS[repo]}]" if len(repositories) > 1 else ""
                shown = f"   {time.monotonic() - started:5.2f} s  "
                shown += f"{folder.relative_to(storage)}{tag}: {status}"
                if data.get(LINKS[repo]):
                    shown += f"  {data[LINKS[repo]]}"
                if data.get("persistent_id"):
                    shown += f"  ({data['persistent_id']})"
                if status == "failed":
                    shown += f"\n{' ' * 12}error: {data.get('error')}"
                    shown += f"\n{' ' * 12}hint: {data.get('hint')}"
                say(shown)
            if (folder, repo) not in finished and done(folder, data):
                finished.add((folder, repo))
        return len(finished) == len(watched)

    names = " and ".join(STATUS_FILES[r] for r in repositories)
    wait_until(f"the datasets' {names}", check, PUBLISH_TIMEOUT)


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


def drop_semaphores(
    to_publish: list[Path], storage: Path, daemon: Popen, repositories: Sequence[str]
) -> dict[tuple[Path, str], Any]:
    """Step 4: the researchers' semaphores, and each status file as it changes."""
    step(4, f"Researchers drop {SEMAPHORE} in {len(to_publish)} of the 3 datasets")
    for folder in to_publish:
        (folder / SEMAPHORE).touch()
        say(f"   touch {(folder / SEMAPHORE).relative_to(storage)}")
    names = " and ".join(STATUS_FILES[r] for r in repositories)
    verb = "they change" if len(repositories) > 1 else "it changes"
    say(f"   {names} as {verb} (the daemon waits {SETTLE:.0f} s for copies")
    say("   to finish, then publishes):")
    final = lambda _f, data: data.get("status") in FINAL  # noqa: E731
    follow(to_publish, storage, daemon, final, repositories)
    return {
        (folder, repo): read_status(folder, STATUS_FILES[repo]) or {}
        for folder in to_publish
        for repo in repositories
    }


def touch_again(
    first: Path,
    links: dict[str, Any],
    storage: Path,
    daemon: Popen,
    urls: dict[str, str],
) -> None:
    """Step 5: a touch with nothing changed is handled without a write request."""
    from maggot_zenodo.semaphore import semaphore_fingerprint
    from maggot_zenodo.state.journal import Journal

    step(5, f"Touching {SEMAPHORE} again with nothing changed sends nothing")
    writes = {repo: emulator_writes(url) for repo, url in urls.items()}
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
                data.get("status") in FINAL
                and not journal.is_pending(f, fingerprint, list(urls.values()))
            ),
            list(urls),
        )
    finally:
        journal.close()
    took = time.monotonic() - touched
    for repo in urls:
        after = read_status(first, STATUS_FILES[repo]) or {}
        same = "the same" if after.get(LINKS[repo]) == links[repo] else "a NEW"
        what = "deposit link" if len(urls) == 1 else f"{LABELS[repo]} link"
        say(f"   handled after {took:.1f} s: {after.get('status')}, {same} {what}")
    for repo, url in urls.items():
        sent = emulator_writes(url) - writes[repo]
        say(f"   write requests {LABELS[repo]} received meanwhile: {sent}")


def show_outputs(
    first: Path,
    storage: Path,
    config: Path,
    notify: NotifyListener,
    repositories: Sequence[str] = ("zenodo",),
) -> None:
    """Steps 6 and 7: what the researcher and the sysadmin see."""
    where = first.relative_to(storage)
    if len(repositories) > 1:
        names = " and ".join(STATUS_FILES[r] for r in repositories)
        step(6, f"What the researcher finds in {where}/: {names}")
    else:
        step(6, f"What the researcher finds in {where}/{STATUS_FILES[repositories[0]]}")
    for repo in repositories:
        status_file = first / STATUS_FILES[repo]
        if len(repositories) > 1:
            say(f"   {STATUS_FILES[repo]}:")
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


EMULATOR_COMMANDS = {
    "zenodo": "maggot-zenodo emulator --port 0",
    "dataverse": f"maggot-zenodo emulator --api dataverse --collection {DATAVERSE_COLLECTION} "
    "--port 0",
}
TOKEN_FILES = {"zenodo": "token", "dataverse": "dataverse-token"}


def show_demo(
    run_dir: Path, storage: Path, procs: list[Popen], repositories: Sequence[str] = ("zenodo",)
) -> bool:
    """Steps 2-8; every process started is appended to ``procs`` for the caller's clean-up."""
    to_publish = [storage / "2024" / n for n, spec in DATASETS.items() if spec["semaphore"]]
    several = len(repositories) > 1
    if several:
        step(2, "Local " + " and ".join(LABELS[r] for r in repositories) + " emulators")
    else:
        only = repositories[0]
        step(2, f"A local {LABELS[only]} emulator ({EMULATOR_COMMANDS[only]})")
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for repo in repositories:
            data = run_dir / ("emulator" if repo == "zenodo" else f"{repo}-emulator")
            urls[repo] = stack.enter_context(emulator(data, repo))
            if several:
                say(f"   {LABELS[repo]}: {EMULATOR_COMMANDS[repo]}")
            slowed = f"uploads take {UPLOAD_DELAY} s each, like a real network"
            say(f"   listening on {urls[repo]} ({slowed})")
        config = write_config(run_dir, storage, urls)
        say(f"   configuration: {config}")
        for repo in repositories:
            shown = f"{LABELS[repo]} token file:" if several else "token file:   "
            say(f"   {shown} {run_dir / TOKEN_FILES[repo]} (mode 600; the token is never printed)")
        log = run_dir / "daemon.log"
        notify = NotifyListener()
        try:
            daemon = start_daemon(config, log, notify, procs)
            results = drop_semaphores(to_publish, storage, daemon, repositories)
            ok = all(r.get("status") in ("draft", "published") for r in results.values())
            first = to_publish[0]
            links = {repo: results[first, repo].get(LINKS[repo]) for repo in repositories}
            touch_again(first, links, storage, daemon, urls)
            show_outputs(first, storage, config, notify, repositories)
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
    say("   emulators stopped" if several else "   emulator stopped")
    return ok


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m maggot_zenodo.demo",
        description="A daemon publishing three Maggot datasets to local emulators, in "
        "./demo-run (make demo).",
    )
    parser.add_argument(
        "--repositories",
        default=os.environ.get("REPOSITORIES") or "zenodo",
        metavar="LIST",
        help="comma-separated: zenodo, dataverse or zenodo,dataverse (default: $REPOSITORIES, "
        "else zenodo)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    try:
        repositories = parse_repositories(args.repositories)
    except ValueError as exc:
        say(f"--repositories {args.repositories}: {exc}; give zenodo, dataverse or both")
        return EXIT_USAGE
    run_dir = Path("demo-run").absolute()
    if run_dir.exists():
        if not (run_dir / STAMP).exists():
            say(f"{run_dir} exists and was not made by the demo; move it away first.")
            return EXIT_USAGE
        shutil.rmtree(run_dir)
    run_dir.mkdir()
    (run_dir / STAMP).touch()
    storage = run_dir / "storage"

    where = " and on ".join(LABELS[r] for r in repositories)
    say(f"maggot-zenodo demo: researchers drop a file, their dataset appears on {where}.")
    step(1, f"A small Maggot storage space in {storage}")
    write_storage(storage)
    for meta in sorted(storage.rglob("META_*.json")):
        extra = sorted(p.name for p in meta.parent.rglob("*") if p.is_file() and p != meta)
        say(f"   {meta.relative_to(storage)}" + (f"  + {', '.join(extra)}" if extra else ""))

    procs: list[Popen] = []
    try:
        ok = show_demo(run_dir, storage, procs, repositories)
        emulators = "emulators" if len(repositories) > 1 else "emulator"
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
    say(f"Done: the daemon and the {emulators} are stopped.")
    say(f"   Everything the demo made is in {run_dir} (make clean removes it).")
    return EXIT_OK if ok else EXIT_FAILED
