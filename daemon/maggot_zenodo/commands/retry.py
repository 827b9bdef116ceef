"""``maggot-zenodo retry DATASET_DIR... | --failed [--now]``: run datasets again, no semaphore
touched (#9 §5).

With the daemon running, the daemon does the work: each dataset becomes a request in the retry
spool (``state.spool``), which the daemon takes within a second; the command says so and exits
0. Without a daemon the command says that nothing was queued and exits 1, or, with ``--now``,
publishes each dataset itself through the Publisher, as ``maggot-zenodo publish`` does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.lock import AlreadyRunning, InstanceLock
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import spool


def _folders(config: Config, dirs: Sequence[Path], failed: bool) -> list[Path] | str:
    """The absolute dataset folders to retry, or the usage problem in words."""
    root = config.storage.root.absolute()
    if failed:
        if dirs:
            return "give either --failed or DATASET_DIR..., not both"
        if not config.state.exists():
            return f"no state file at {config.state}: nothing has failed yet"
        from maggot_zenodo.state.journal import Journal

        journal = Journal(config.state)
        try:
            rows = journal.rows()
        finally:
            journal.close()
        return sorted({Path(r.abs_folder) for r in rows if r.status == "failed"})
    if not dirs:
        return "name the datasets to retry (DATASET_DIR...), or give --failed"
    folders: list[Path] = []
    for given in dirs:
        folder = Path(os.path.abspath(given))
        if not folder.is_dir():
            return f"{given}: no such dataset folder"
        if folder != root and root not in folder.parents:
            return f"{given}: not below the storage root {root} (storage.root)"
        folders.append(folder)
    return folders


def _daemon_pid(config: Config) -> int | bool | None:
    """The running daemon's pid (None when unknown), or False when none runs."""
    probe = InstanceLock(config.state)
    try:
        probe.acquire()
    except AlreadyRunning as exc:
        return exc.pid
    probe.release()
    return False


def run(config: Config, dirs: Sequence[Path], *, failed: bool = False, now: bool = False) -> int:
    folders = _folders(config, dirs, failed)
    if isinstance(folders, str):
        print(f"maggot-zenodo retry: {folders}", file=sys.stderr)
        return EXIT_USAGE
    if not folders:
        print(f"nothing to retry: no failed dataset in {config.state}")
        return EXIT_OK
    root = config.storage.root.absolute()
    pid = _daemon_pid(config)
    if pid is not False:
        where = spool.spool_dir(config.state)
        for folder in folders:
            spool.request(where, folder)
            who = f"pid {pid}" if pid else "pid unknown"
            print(f"{_rel(folder, root)}: queued for the running daemon ({who})")
        return EXIT_OK
    if not now:
        print(
            f"maggot-zenodo retry: no daemon is running on {config.state}, so nothing was "
            "queued. Start it (systemctl start maggot-zenodo), or add --now to publish from here.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return _publish_now(config, folders, root)


def _publish_now(config: Config, folders: list[Path], root: Path) -> int:
    from maggot_zenodo.commands.publish import _progress_bars, report_all
    from maggot_zenodo.publish.targets import publish_all
    from maggot_zenodo.publish.workflow import Publisher
    from maggot_zenodo.state.journal import Journal

    lock = InstanceLock(config.state)
    try:
        lock.acquire()  # no daemon may start meanwhile and publish the same datasets
    except AlreadyRunning as exc:
        print(f"maggot-zenodo retry: {exc}", file=sys.stderr)
        return EXIT_FAILED
    journal = Journal(config.state)
    worst = EXIT_OK
    try:
        publisher = Publisher(config, journal)
        for folder in folders:
            print(f"{_rel(folder, root)}:", flush=True)
            fingerprint = semaphore_fingerprint(folder / config.storage.semaphore)
            outcomes = publish_all(
                publisher, folder, fingerprint=fingerprint, progress=_progress_bars(sys.stderr)
            )
            worst = max(worst, report_all(outcomes, sys.stdout))
    finally:
        journal.close()
        lock.release()
    return worst


def _rel(folder: Path, root: Path) -> str:
    try:
        return folder.relative_to(root).as_posix() or "."
    except ValueError:
        return str(folder)
