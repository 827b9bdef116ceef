"""Fixtures of the systemd end-to-end test (test_systemd_e2e.py), once per module: the work
folder, the package built for the release, the storage space, the booted container, the
emulator, and the configuration a sysadmin would write. test_unit_and_package.py, in the same
folder, defines its own ``deb`` and uses none of the others."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_setup import DROPINS, PROJECT, RELEASE, STORAGE_GID, UNIT
from nspawn_machine import Machine, MachineError
from testkit import TOKEN


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = PROJECT / "e2e-run" / RELEASE  # the previous run's logs are replaced
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    yield path
    shutil.rmtree(path / "rootfs", ignore_errors=True)  # ~300 MB; logs stay for a post-mortem


@pytest.fixture(scope="module")
def deb(workdir: Path) -> Path:
    given = os.environ.get("MAGGOT_E2E_DEB")
    if given:
        return Path(given).resolve()
    build = [str(PROJECT / "packaging" / "build-deb.sh"), "--release", RELEASE]
    subprocess.run([*build, str(workdir / "dist")], check=True)
    (found,) = (workdir / "dist").glob("maggot-zenodo_*.deb")
    return found


@pytest.fixture(scope="module")
def storage(workdir: Path) -> Path:
    """The storage space: group-owned by the storage's group, setgid folders, no access for
    others, so the service reaches it only through SupplementaryGroups= as documented."""
    root = workdir / "storage"
    root.mkdir()
    os.chown(root, 0, STORAGE_GID)
    os.chmod(root, 0o2770)  # noqa: S103 - group-only, as a real storage space
    return root


@pytest.fixture(scope="module")
def machine(workdir: Path, deb: Path, storage: Path) -> Iterator[Machine]:
    rootfs = workdir / "rootfs"
    m = Machine(rootfs, f"mz-e2e-{os.getpid()}", binds=[(storage, "/opt/data")])
    try:
        rootfs_sh = str(Path(__file__).with_name("rootfs.sh"))
        subprocess.run([rootfs_sh, RELEASE, str(rootfs)], check=True)
        shutil.copy(deb, rootfs / "root" / deb.name)
        m.start()
    except (subprocess.CalledProcessError, MachineError, TimeoutError) as exc:
        m.stop()
        # This host cannot boot a container (no mirror, no cgroup access, ...): a SKIP that
        # run-e2e.sh prints, unless CI demands the real run.
        if os.environ.get("MAGGOT_E2E_REQUIRED") == "1":
            raise
        (workdir / "SKIPPED").write_text(f"cannot boot a container here: {exc}\n")
        pytest.skip(f"cannot boot a container here: {exc}")
    try:
        m.run(["groupadd", "-g", str(STORAGE_GID), "maggot"])
        m.run(["dpkg", "-i", f"/root/{deb.name}"], timeout=120)
        yield m
        (workdir / "journal.json").write_text(m.journal_text(), encoding="utf-8")
        excerpt = m.run(["journalctl", "-u", UNIT, "--no-pager", "-o", "short-iso"], check=False)
        (workdir / "journal-excerpt.txt").write_text(excerpt.stdout, encoding="utf-8")
    finally:
        m.stop()


@pytest.fixture(scope="module")
def emulator(workdir: Path) -> Iterator[str]:
    log = open(workdir / "emulator.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "maggot_zenodo", "emulator", "--host", "127.0.0.1"),
            *("--port", "0", "--token", TOKEN, "--data", str(workdir / "emulator"), "--quiet"),
        ],
        stdout=subprocess.PIPE,
        stderr=log,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().decode().strip()
        assert base.startswith("http://127.0.0.1:"), f"emulator printed {base!r}"
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def configured(machine: Machine, emulator: str) -> Machine:
    """What the README tells a sysadmin to do: config, root-only token, storage drop-in."""
    config = textwrap.dedent(f"""\
        storage:
          root: /opt/data
          watch: inotify
          settle: 1
        zenodo:
          url: {emulator}
          token: {{credential: zenodo-token}}
          max_retries: 2
        shutdown_timeout: 10
        log_level: debug
        """)
    machine.write("/etc/maggot-zenodo/config.yaml", config, mode=0o640)
    machine.write("/etc/maggot-zenodo/token", TOKEN + "\n", mode=0o600)
    storage_conf = (PROJECT / "systemd/maggot-zenodo.service.d/storage.conf.example").read_text()
    machine.write(f"{DROPINS}/storage.conf", storage_conf)
    # Test-only: a short watchdog so that a hung process is caught in seconds, not a minute.
    machine.write(f"{DROPINS}/e2e-watchdog.conf", "[Service]\nWatchdogSec=5s\nTimeoutAbortSec=5s\n")
    machine.systemctl("daemon-reload")
    return machine
