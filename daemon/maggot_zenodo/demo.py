"""``make demo``: the whole story on one machine, with a local Zenodo emulator.

It builds a small storage space of its own in ``./demo-run`` (three datasets, one with data
files), starts ``maggot-zenodo emulator`` and then the daemon itself (``maggot-zenodo run``,
waiting for its READY=1 on a notification socket of its own, as systemd does), drops the
semaphore in two datasets while the daemon runs, shows each ``META_zenodo.txt`` change as the
researcher would see it, the journal's ``status``, then stops the daemon with SIGTERM and the
emulator. Every process it starts gets a session of its own and is killed, group and all,
whatever happens (an error, Ctrl-C).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

SEMAPHORE = "META_datafile_ok.txt"
STATUS_FILE = "META_zenodo.txt"
STAMP = ".maggot-zenodo-demo"
SETTLE = 1.0  # seconds a dataset must stay unchanged before the daemon takes it
UPLOAD_DELAY = 0.3  # the emulator holds each upload this long, so the states can be seen
READY_TIMEOUT = 60.0
PUBLISH_TIMEOUT = 90.0
STOP_TIMEOUT = 45.0
FINAL = ("draft", "published", "failed")


class DemoError(Exception):
    """Something the demo needs did not happen; the message says what and where to look."""


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say()
    say(f"== {n}. {text}")


def _person_list(*names: str) -> list[str]:
    return list(names)


DATASETS: dict[str, dict] = {
    "SoilMicrobiome2024": {
        "record": {
            "title": "SoilMicrobiome2024",
            "fulltitle": "Soil bacterial communities under three tillage regimes, 2024 campaign",
            "subject": ["Agricultural Sciences", "Medicine Health and Life Sciences"],
            "description": "16S rRNA amplicon counts and soil chemistry of 36 plots sampled in "
            "April and September 2024 under conventional, reduced and no tillage.",
            "status": "Processed",
            "access_rights": "Public",
            "language": ["English"],
            "license": "Creative Commons Attribution 4.0 International",
            "datestart": "2024-04-02",
            "dateend": "2024-09-27",
            "contacts": _person_list("Martin Claire"),
            "authors": _person_list("Martin Claire", "Nguyen Thi Lan", "van Delft Pierre"),
            "collectors": _person_list("Nguyen Thi Lan"),
            "depositor": "Martin Claire",
            "kindOfData": ["Dataset"],
            "keywords": ["soil microbiology", "tillage", "16S rRNA"],
            "resources": [
                {
                    "datatype": "Dataset",
                    "media": "text/csv",
                    "description": "OTU counts per plot",
                    "location": "otu_counts.csv",
                },
                {
                    "datatype": "Dataset",
                    "media": "text/csv",
                    "description": "Soil chemistry per plot",
                    "location": "chemistry/soil_chemistry.csv",
                },
                {
                    "datatype": "Report",
                    "media": "text/plain",
                    "description": "How the data were collected",
                    "location": "README.txt",
                },
            ],
        },
        "files": {
            "otu_counts.csv": "plot,otu,count\n"
            + "".join(
                f"P{p:02d},OTU{o:03d},{(p * 37 + o * 11) % 500}\n"
                for p in range(1, 37)
                for o in range(1, 21)
            ),
            "chemistry/soil_chemistry.csv": "plot,pH,N_total,C_org\n"
            + "".join(
                f"P{p:02d},{6 + p % 10 / 10:.1f},{1.2 + p / 100:.2f},{14 + p % 7}\n"
                for p in range(1, 37)
            ),
            "README.txt": "Soil samples (0-15 cm) were taken with an auger, sieved at 2 mm and "
            "frozen at -80 C before DNA extraction.\n",
        },
        "semaphore": True,
    },
    "LeafImaging": {
        "record": {
            "title": "LeafImaging",
            "fulltitle": "Hyperspectral images of tomato leaves under water deficit",
            "subject": ["Agricultural Sciences"],
            "description": "Index of a hyperspectral imaging campaign; the images themselves are "
            "kept on the institute's image server.",
            "status": "In progress",
            "access_rights": "Public",
            "language": ["English"],
            "license": "Etalab V2.0 license",
            "contacts": _person_list("Dupont Marie"),
            "authors": _person_list("Dupont Marie", "Rossi Luca"),
            "kindOfData": ["Image"],
            "keywords": ["phenotyping", "hyperspectral imaging"],
            "resources": [
                {
                    "datatype": "Collection",
                    "media": "text/html",
                    "description": "Image server",
                    "location": "https://images.example.org/leafimaging/",
                }
            ],
        },
        "files": {},
        "semaphore": True,
    },
    "GrapeBerryNMR": {
        "record": {
            "title": "GrapeBerryNMR",
            "fulltitle": "1H-NMR profiles of grape berries during ripening (not yet released)",
            "subject": ["Chemistry"],
            "description": "Polar metabolite profiles; the researchers have not asked for "
            "publication yet, so no semaphore file is dropped here.",
            "contacts": _person_list("Bernard Paul"),
            "authors": _person_list("Bernard Paul"),
            "kindOfData": ["Dataset"],
            "resources": [],
        },
        "files": {},
        "semaphore": False,
    },
}


def write_storage(root: Path) -> list[Path]:
    """The demo's storage space; returns the folders that get a semaphore."""
    to_publish = []
    for name, spec in DATASETS.items():
        folder = root / "2024" / name
        folder.mkdir(parents=True)
        record = {"profile": "https://example.org/maggot/conf/maggot-schema.json", **spec["record"]}
        (folder / f"META_{name}.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False), "utf-8"
        )
        for rel, text in spec["files"].items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, "utf-8")
        if spec["semaphore"]:
            to_publish.append(folder)
    return to_publish


def maggot_zenodo(*args: str) -> list[str]:
    """The command line of ``maggot-zenodo ARGS`` with this very Python (a fresh clone works
    from its .venv without anything on PATH)."""
    return [sys.executable, "-m", "maggot_zenodo", *args]


def start(cmd: list[str], **kwargs: Any) -> subprocess.Popen:
    """Start ``cmd`` in a session of its own, so that stopping it reaches all its processes."""
    return subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs)


def stop(proc: subprocess.Popen, timeout: float) -> int:
    """SIGTERM, wait up to ``timeout``, then SIGKILL the whole process group; the exit code."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        code = proc.wait()
    # anything the process left behind in its group goes too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    return code


def wait_until(what: str, predicate: Callable[[], object], timeout: float) -> object:
    """Poll ``predicate`` until it returns something true; DemoError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise DemoError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.02)


@contextlib.contextmanager
def emulator(data_dir: Path) -> Iterator[str]:
    """Run ``maggot-zenodo emulator --port 0``; yield its base URL (its first stdout line).

    Without ``--token`` it accepts any token: the demo's stays in its 0600 file, never in a
    command line. Uploads are slowed a little so that ``publishing`` can be seen.
    """
    faults = f"rate=1,kinds=slow,delay={UPLOAD_DELAY},methods=PUT,match=/files/"
    cmd = maggot_zenodo(
        "emulator", "--host", "127.0.0.1", "--port", "0", "--data", str(data_dir),
        "--faults", faults, "--quiet",
    )  # fmt: skip
    proc = start(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise DemoError(f"the emulator did not start (exit code {proc.poll()})")
        yield url
    finally:
        stop(proc, 10)


def emulator_writes(url: str) -> int:
    """How many write requests the emulator has received (its test-only state endpoint)."""
    with urllib.request.urlopen(f"{url}/_emulator/state", timeout=10) as answer:  # noqa: S310
        return int(json.load(answer)["requests"]["writes"])


class NotifyListener:
    """The demo's stand-in for systemd: an abstract AF_UNIX datagram socket for the daemon's
    sd_notify messages, read by a thread (a full queue would block the daemon's sends)."""

    def __init__(self) -> None:
        self.name = f"@maggot-zenodo-demo-{os.getpid()}-{secrets.token_hex(4)}"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
        self.sock.bind("\0" + self.name[1:])
        self.sock.settimeout(0.2)
        self.ready = threading.Event()
        self.status = ""
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._read, name="demo-notify", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                message = self.sock.recv(65536).decode("utf-8", "replace")
            except TimeoutError:
                continue
            except OSError:
                return
            for line in message.split("\n"):
                if line.startswith("STATUS="):
                    self.status = line.removeprefix("STATUS=")
                elif line == "READY=1":
                    self.ready.set()

    def close(self) -> None:
        self._closed.set()
        self._thread.join(5)
        self.sock.close()


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


def daemon_env(notify: NotifyListener) -> dict[str, str]:
    """The environment of the demo's daemon: ours, with our notification socket."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NOTIFY_", "WATCHDOG_"))}
    env.pop("JOURNAL_STREAM", None)  # its log goes to a file, as JSON lines
    env["NOTIFY_SOCKET"] = notify.name
    env["PYTHONUNBUFFERED"] = "1"
    return env


def log_tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text("utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return "   (no log)"
    return "\n".join(f"   | {line}" for line in text)


def read_status(folder: Path) -> dict | None:
    try:
        data = yaml.safe_load((folder / STATUS_FILE).read_text("utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def follow(folders: list[Path], storage: Path, daemon: subprocess.Popen, done: Callable) -> None:
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


def show_demo(run_dir: Path, storage: Path, procs: list[subprocess.Popen]) -> bool:
    """Steps 2-8; every process started is appended to ``procs`` for the caller's clean-up."""
    from maggot_zenodo.semaphore import semaphore_fingerprint
    from maggot_zenodo.state.journal import Journal

    to_publish = [storage / "2024" / n for n, spec in DATASETS.items() if spec["semaphore"]]
    step(2, "A local Zenodo emulator (maggot-zenodo emulator --port 0)")
    with emulator(run_dir / "emulator") as url:
        say(f"   listening on {url} (uploads take {UPLOAD_DELAY} s each, like a real network)")
        config = write_config(run_dir, storage, url)
        say(f"   configuration: {config}")
        say(f"   token file:    {run_dir / 'token'} (mode 600; the token is never printed)")

        step(3, "The daemon starts: maggot-zenodo run --config demo-run/config.yaml")
        log = run_dir / "daemon.log"
        notify = NotifyListener()
        try:
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

            step(4, f"Researchers drop {SEMAPHORE} in {len(to_publish)} of the 3 datasets")
            for folder in to_publish:
                (folder / SEMAPHORE).touch()
                say(f"   touch {(folder / SEMAPHORE).relative_to(storage)}")
            say(f"   META_zenodo.txt as it changes (the daemon waits {SETTLE:.0f} s for copies")
            say("   to finish, then publishes):")
            follow(to_publish, storage, daemon, lambda _f, data: data.get("status") in FINAL)
            results = {folder: read_status(folder) or {} for folder in to_publish}
            ok = all(r.get("status") in ("draft", "published") for r in results.values())

            first = to_publish[0]
            step(5, f"Touching {SEMAPHORE} again with nothing changed sends nothing")
            writes = emulator_writes(url)
            link = results[first].get("deposit_url")
            touched = time.monotonic()
            (first / SEMAPHORE).touch()
            os.utime(first / SEMAPHORE)
            fingerprint = semaphore_fingerprint(first / SEMAPHORE)
            say(f"   touch {(first / SEMAPHORE).relative_to(storage)}")
            journal = Journal(Path(run_dir / "state.db"))
            try:
                follow(
                    [first],
                    storage,
                    daemon,
                    lambda f, data: (
                        data.get("status") in FINAL and not journal.is_pending(f, fingerprint)
                    ),
                )
            finally:
                journal.close()
            after = read_status(first) or {}
            took = time.monotonic() - touched
            same = "the same" if after.get("deposit_url") == link else "a NEW"
            say(f"   handled after {took:.1f} s: {after.get('status')}, {same} deposit link")
            say(f"   write requests Zenodo received meanwhile: {emulator_writes(url) - writes}")

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
            return 2
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

    procs: list[subprocess.Popen] = []
    try:
        ok = show_demo(run_dir, storage, procs)
    except DemoError as exc:
        say(f"\nThe demo stopped: {exc}")
        return 1
    except KeyboardInterrupt:
        say("\nInterrupted: stopping what the demo started.")
        return 130
    finally:
        for proc in procs:
            stop(proc, 10)

    say()
    say("Done: the daemon and the emulator are stopped.")
    say(f"   Everything the demo made is in {run_dir} (make clean removes it).")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
