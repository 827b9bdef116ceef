"""STATUS= counts datasets, not jobs, from the journal (#11 §3): 0.1.0's demo said "3 done" for
2 datasets, and "1 done" after a restart while 4 drafts existed."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from testkit import Emulator, wait_for
from testkit.daemon import (
    DaemonProcess,
    NotifySocket,
    base_env,
    drop_semaphore,
    make_dataset,
    status_file,
    write_config,
)


def last_status(notify: NotifySocket) -> str:
    lines = [ln for ln in notify.lines() if ln.startswith("STATUS=watching")]
    return lines[-1] if lines else ""


WANT = "0 queued, 0 publishing, 2 done, 1 failed (2 draft, 0 published), 2 baselined"


def serve(tmp_path: Path, config: Path, run: int, work: Callable[[DaemonProcess], None]) -> str:
    """Run a daemon, do ``work``, and return its STATUS once the counts are WANT."""
    notify = NotifySocket(tmp_path / f"notify{run}.sock")
    env = base_env(NOTIFY_SOCKET=str(notify.path))
    daemon = DaemonProcess(config, tmp_path / f"daemon{run}.log", env=env)
    try:
        notify.wait_line(lambda line: line == "READY=1")
        work(daemon)
        return str(wait_for(lambda: WANT in last_status(notify) and last_status(notify), 20, WANT))
    finally:
        assert daemon.stop() == 0
        notify.close()


def test_counts_are_datasets_by_state_and_survive_a_restart(
    tmp_path: Path, emulator: Emulator
) -> None:
    config = write_config(tmp_path, emulator.base_url, **{"storage.existing": "ignore"})
    root = tmp_path / "storage"
    for i in range(2):
        make_dataset(root, f"old/Old{i}", semaphore=True)  # baselined at the first start
    datasets = [make_dataset(root, f"new/Ds{i}") for i in range(2)]
    broken = make_dataset(root, "new/Broken")
    (broken / "data.bin").unlink()

    def publish_and_republish(daemon: DaemonProcess) -> None:
        for ds in [*datasets, broken]:
            drop_semaphore(ds)
        wait_for(lambda: (status_file(broken) or {}).get("status") == "failed", 30, "failure")
        wait_for(lambda: all((status_file(d) or {}).get("status") == "draft" for d in datasets), 20)
        drop_semaphore(datasets[0])  # a third job, still two datasets
        wait_for(lambda: len(daemon.find("publishing", dataset="new/Ds0")) >= 2, 30, "a rerun")

    pattern = rf"STATUS=watching {re.escape(str(root))} \(inotify\): {re.escape(WANT)}"
    assert re.fullmatch(pattern, serve(tmp_path, config, 1, publish_and_republish))
    assert re.fullmatch(pattern, serve(tmp_path, config, 2, lambda daemon: None))  # restarted
    assert len(emulator.depositions()) == 2
