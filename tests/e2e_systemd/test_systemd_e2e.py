"""End to end under a real systemd: the Debian package installed in a booted Debian container.

Run by ``make e2e`` (root; sets MAGGOT_E2E=1) for the release in MAGGOT_E2E_RELEASE (trixie
by default, or bookworm). Elsewhere, e.g. inside ``make test``, the module is skipped: it
boots a container and takes a minute or two. The tests run in file order and share one
container: install → man page → sandbox probe → start → publish → reload (bad, good) →
kill -9 → watchdog → upgrade → stop → missing token → purge.

Real parts only: the release's systemd as PID 1 (systemd-nspawn), the .deb built for that
release from the working tree (inside a chroot of it),
the Zenodo emulator on the host's loopback (the container shares the host's network), the
storage space a host folder bind-mounted at /opt/data, the token through LoadCredential=.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from e2e_setup import (
    DROPINS,
    MAX_EXPOSURE,
    PROJECT,
    RELEASE,
    SAMPLE,
    STORAGE_GID,
    UNIT,
    emulator_depositions,
    status_file,
    wait_active,
)
from nspawn_machine import Machine, boot_blockers, exposure
from testkit import TOKEN, wait_for
from testkit.samples import require_samples

# One worker runs the e2e folder, one test after the other (containers, the .deb build).
pytestmark = [pytest.mark.systemd, pytest.mark.xdist_group("e2e")]


def _enabled() -> str | None:
    if os.environ.get("MAGGOT_E2E") != "1":
        return "end-to-end under systemd runs with `make e2e` (MAGGOT_E2E=1)"
    return boot_blockers()


if _enabled():
    pytest.skip(_enabled() or "", allow_module_level=True)


# -- the package and the unit, without the daemon -------------------------------------------
def test_package_installs_user_config_and_unit(machine: Machine) -> None:
    status = machine.run(["dpkg-query", "-W", "-f=${Status} ${Version}", "maggot-zenodo"]).stdout
    assert status.startswith("install ok installed ")
    version = machine.run(["maggot-zenodo", "--version"]).stdout
    assert version.strip() == f"maggot-zenodo {status.split()[-1]}"
    assert machine.run(["getent", "passwd", "maggot-zenodo"]).stdout.split(":")[6].strip() in (
        "/usr/sbin/nologin",
        "/sbin/nologin",
    )
    perms = machine.run(
        ["stat", "-c", "%a %U %G", "/etc/maggot-zenodo", "/etc/maggot-zenodo/config.yaml"]
    )
    assert perms.stdout.split("\n")[:2] == ["750 root maggot-zenodo", "640 root maggot-zenodo"]
    # Not started, not enabled, until a sysadmin has configured it.
    state = machine.run(["systemctl", "is-enabled", UNIT, "--no-pager"], check=False)
    assert state.stdout.strip() == "disabled", state
    assert machine.show(UNIT, "ActiveState") == {"ActiveState": "inactive"}


def test_man_page_and_bash_completion_are_installed(machine: Machine) -> None:
    listed = machine.run(["dpkg", "-L", "maggot-zenodo"]).stdout.split()
    page = "/usr/share/man/man1/maggot-zenodo.1.gz"
    completion = "/usr/share/bash-completion/completions/maggot-zenodo"
    assert page in listed and completion in listed
    text = machine.run(["sh", "-c", f"gzip -dc {page}"]).stdout
    assert text.startswith(".TH MAGGOT\\-ZENODO") and "243/CREDENTIALS" in text
    # The completion is valid bash and knows the commands.
    machine.run(["bash", "-n", completion])
    words = machine.run(
        ["bash", "-c", f". {completion}; echo ${{_shtab_maggot_zenodo_subparsers[@]}}"]
    )
    assert {"run", "publish", "status", "validate"} <= set(words.stdout.split())
    helped = machine.run(["maggot-zenodo", "run", "--help"]).stdout
    assert "--once" in helped and "process what is pending" in helped


def test_unit_verifies_and_exposure_is_low(machine: Machine, workdir: Path) -> None:
    verify = machine.run(["systemd-analyze", "verify", UNIT], check=False)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    security = machine.run(["systemd-analyze", "security", "--no-pager", UNIT], check=False)
    figure = exposure(security.stdout, UNIT)
    (workdir / "security.txt").write_text(security.stdout, encoding="utf-8")
    print(f"\nsystemd-analyze security {UNIT} (installed, {RELEASE}): exposure {figure}")
    assert figure <= MAX_EXPOSURE, security.stdout


PROBE = r"""
import os, sys, ctypes, json, pathlib
import maggot_zenodo.cli, yaml, jsonschema, requests, structlog, watchdog.observers
from systemd import daemon, journal
cred = pathlib.Path(os.environ["CREDENTIALS_DIRECTORY"], "zenodo-token").read_text().strip()
results = {"token_len": len(cred), "uid": os.getuid(), "groups": sorted(os.getgroups())}
for path in ("/etc/probe", "/usr/probe", "/opt/probe"):
    try:
        open(path, "w").close(); results[path] = "writable"
    except OSError as exc:
        results[path] = exc.strerror
for path in ("/var/lib/maggot-zenodo/probe", "/opt/data/probe"):
    open(path, "w").close(); os.unlink(path); results[path] = "writable"
from watchdog.events import FileSystemEventHandler
from watchdog.observers.inotify import InotifyObserver
observer = InotifyObserver()  # inotify through ctypes, under MemoryDenyWriteExecute
observer.schedule(FileSystemEventHandler(), "/opt/data", recursive=True)
observer.start(); observer.stop(); observer.join(10)
try:
    os.setgroups([])
    results["setgroups"] = "allowed"
except OSError as exc:
    results["setgroups"] = exc.strerror
journal.send("sandbox probe", PROBE_RESULT=json.dumps(results, sort_keys=True))
"""


def test_python_runs_under_the_sandbox(machine: Machine) -> None:
    """CPython, the venv, inotify through ctypes, journald and the credential all work under
    the unit's hardening (MemoryDenyWriteExecute, syscall filter...), with the daemon replaced
    by a probe: this checks the unit even before the daemon exists."""
    machine.write("/etc/maggot-zenodo/token", TOKEN + "\n", mode=0o600)
    machine.write("/usr/local/lib/mz-probe.py", PROBE)
    storage_conf = (PROJECT / "systemd/maggot-zenodo.service.d/storage.conf.example").read_text()
    machine.write(f"{DROPINS}/storage.conf", storage_conf)
    machine.write(
        f"{DROPINS}/zz-probe.conf",
        "[Service]\nType=oneshot\nExecStart=\n"
        "ExecStart=/opt/venvs/maggot-zenodo/bin/python /usr/local/lib/mz-probe.py\n",
    )
    try:
        machine.systemctl("daemon-reload")
        machine.systemctl("start", UNIT, check=False)
        result = machine.show(UNIT, "Result", "ExecMainStatus")
        entries = [e for e in machine.journal("-u", UNIT) if "PROBE_RESULT" in e]
        assert result == {"Result": "success", "ExecMainStatus": "0"}, (
            result,
            machine.run(["journalctl", "-u", UNIT, "--no-pager", "-n", "30"]).stdout,
        )
    finally:
        machine.run(["rm", "-f", f"{DROPINS}/zz-probe.conf", f"{DROPINS}/storage.conf"])
        machine.systemctl("daemon-reload")
        machine.systemctl("reset-failed", UNIT, check=False)
    probe = json.loads(str(entries[-1]["PROBE_RESULT"]))
    assert probe["token_len"] == len(TOKEN)
    assert probe["uid"] != 0 and STORAGE_GID in probe["groups"]
    assert probe["/etc/probe"] == "Read-only file system"
    assert probe["/usr/probe"] == "Read-only file system"
    assert probe["/opt/probe"] == "Read-only file system"
    assert probe["/opt/data/probe"] == probe["/var/lib/maggot-zenodo/probe"] == "writable"
    assert probe["setgroups"] == "Operation not permitted"


# -- the daemon under systemd ----------------------------------------------------------------
def test_exposure_with_the_documented_storage_dropin(configured: Machine, workdir: Path) -> None:
    """The figure the README quotes: the installed unit plus the storage drop-in it documents."""
    security = configured.run(["systemd-analyze", "security", "--no-pager", UNIT], check=False)
    figure = exposure(security.stdout, UNIT)
    (workdir / "security-with-dropin.txt").write_text(security.stdout, encoding="utf-8")
    print(f"\nsystemd-analyze security {UNIT} with storage.conf ({RELEASE}): exposure {figure}")
    assert figure <= MAX_EXPOSURE, security.stdout


def test_start_returns_when_ready_with_live_status(configured: Machine) -> None:
    started = time.monotonic()
    configured.systemctl("start", UNIT)  # Type=notify: returns once READY=1 arrived
    print(f"\nsystemctl start took {time.monotonic() - started:.2f} s")
    s = configured.show(UNIT, "ActiveState", "SubState", "StatusText", "NRestarts", "MainPID")
    assert s["ActiveState"] == "active" and s["SubState"] == "running", s
    assert s["NRestarts"] == "0" and s["MainPID"] != "0"
    assert any(ch.isdigit() for ch in s["StatusText"]), f"StatusText: {s['StatusText']!r}"


def _copy_dataset(storage: Path) -> Path:
    require_samples(SAMPLE)
    folder = storage / SAMPLE.name
    shutil.copytree(SAMPLE, folder)
    for path in [folder, *folder.rglob("*")]:
        os.chown(path, 0, STORAGE_GID)
        os.chmod(path, 0o2770 if path.is_dir() else 0o660)
    return folder


def test_semaphore_publishes_and_journal_has_fields_not_token(
    configured: Machine, storage: Path, emulator: str
) -> None:
    folder = _copy_dataset(storage)
    (folder / "META_datafile_ok.txt").touch()  # by the host, into the bind mount
    status = wait_for(
        lambda: (s := status_file(folder)) and s.get("status") in ("draft", "published") and s,
        90,
        "META_zenodo.txt with a deposit link",
        step=0.2,
    )
    assert status["deposit_url"].startswith(emulator)
    deps = emulator_depositions(emulator)
    assert [d["id"] for d in deps] == [status["deposition_id"]]
    entries = configured.journal("-u", UNIT)
    with_dataset = [e for e in entries if "frim1" in str(e.get("DATASET", ""))]
    assert with_dataset, "no journal entry with DATASET=...frim1"
    assert any(str(e.get("DEPOSITION_ID")) == str(status["deposition_id"]) for e in entries)
    assert any(e.get("STATUS") in ("draft", "published") for e in with_dataset)
    # DATASET is the path relative to the storage root, DATASET_NAME the folder's name; the
    # CODE_* fields name the daemon's own line, not the logging module.
    assert {e.get("DATASET_NAME") for e in with_dataset} == {SAMPLE.name}
    assert all(str(e.get("DATASET")) == SAMPLE.name for e in with_dataset)
    code_files = {str(e.get("CODE_FILE", "")) for e in with_dataset}
    assert code_files and not any(f.endswith("/maggot_zenodo/logs.py") for f in code_files)
    assert any(f.endswith("/maggot_zenodo/runtime/engine.py") for f in code_files), code_files
    live = wait_for(
        lambda: (
            re.search(r"\b1 done\b", t := configured.show(UNIT, "StatusText")["StatusText"]) and t
        ),
        30,
        "StatusText counting the dataset as done",
        step=0.1,
    )
    print(f"\nStatusText: {live}")
    assert TOKEN not in configured.journal_text(), "the token is in the journal"
    assert TOKEN not in (folder / "META_zenodo.txt").read_text(encoding="utf-8")


def test_reload_with_a_bad_config_fails_and_keeps_the_daemon(configured: Machine) -> None:
    before = configured.show(UNIT, "MainPID", "NRestarts")
    good = (configured.root / "etc/maggot-zenodo/config.yaml").read_text(encoding="utf-8")
    configured.write("/etc/maggot-zenodo/config.yaml", good + "bogus_key: 1\n", mode=0o640)
    try:
        done = configured.systemctl("reload", UNIT, check=False)
        assert done.returncode != 0, done
        print(f"\nsystemctl reload with a bad file: exit {done.returncode}: {done.stderr.strip()}")
        after = configured.show(UNIT, "ActiveState", "SubState", "MainPID", "NRestarts")
        assert after["ActiveState"] == "active" and after["SubState"] == "running", after
        assert after["MainPID"] == before["MainPID"] and after["NRestarts"] == before["NRestarts"]
        reason = [str(e.get("MESSAGE", "")) for e in configured.journal("-u", UNIT)]
        assert any("bogus_key" in m for m in reason), reason[-10:]
    finally:
        configured.write("/etc/maggot-zenodo/config.yaml", good, mode=0o640)
    configured.systemctl("reload", UNIT)  # the good file again: the reload succeeds
    assert configured.show(UNIT, "MainPID") == {"MainPID": before["MainPID"]}


def test_kill_9_restarts_without_a_second_deposition(
    configured: Machine, storage: Path, emulator: str
) -> None:
    old_pid = configured.show(UNIT, "MainPID")["MainPID"]
    configured.systemctl("kill", "-s", "KILL", UNIT)
    wait_active(configured, restarts=1, old_pid=old_pid)
    folder = storage / SAMPLE.name
    before = status_file(folder)
    assert before is not None
    time.sleep(0.01)  # a distinct mtime for the semaphore (ns clock), not a wait for an event
    (folder / "META_datafile_ok.txt").touch()
    after = wait_for(
        lambda: (s := status_file(folder)) and s.get("updated") != before.get("updated") and s,
        90,
        "META_zenodo.txt rewritten after the restart",
        step=0.2,
    )
    assert after["deposition_id"] == before["deposition_id"]
    assert len(emulator_depositions(emulator)) == 1


def test_watchdog_kills_a_hung_process_and_restarts_it(configured: Machine) -> None:
    old_pid = configured.show(UNIT, "MainPID")["MainPID"]
    configured.systemctl("kill", "--kill-whom=main", "-s", "STOP", UNIT)
    wait_active(configured, restarts=2, old_pid=old_pid)
    messages = [str(e.get("MESSAGE", "")) for e in configured.journal("-u", UNIT)]
    assert any("Watchdog timeout" in m for m in messages), messages[-10:]


def test_upgrade_restarts_the_running_service_and_keeps_state(
    configured: Machine, deb: Path
) -> None:
    before = configured.show(UNIT, "MainPID")
    configured.run(["dpkg", "-i", f"/root/{deb.name}"], timeout=120)  # same version: an upgrade
    after = wait_active(configured, restarts=None, old_pid=before["MainPID"])
    assert after["MainPID"] != before["MainPID"]
    state = configured.run(["stat", "-c", "%U %s", "/var/lib/maggot-zenodo/state.db"]).stdout
    owner, size = state.split()
    assert owner == "maggot-zenodo" and int(size) > 0


def test_stop_is_clean(configured: Machine) -> None:
    configured.systemctl("stop", UNIT)
    s = configured.show(UNIT, "ActiveState", "Result", "ExecMainStatus")
    assert s == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, s


def test_missing_token_fails_once_without_a_restart_loop(configured: Machine) -> None:
    """status=243/CREDENTIALS is final (RestartPreventExitStatus=): no five restarts, no
    "Start request repeated too quickly"."""
    configured.run(["mv", "/etc/maggot-zenodo/token", "/etc/maggot-zenodo/token.away"])
    try:
        started = configured.systemctl("start", UNIT, check=False)
        assert started.returncode != 0
        s = configured.show(UNIT, "ActiveState", "Result", "ExecMainStatus", "NRestarts")
        assert s["ActiveState"] == "failed" and s["ExecMainStatus"] == "243", s
        # Three times RestartSec: a restart loop would have begun by then.
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            now = configured.show(UNIT, "ActiveState", "NRestarts")
            assert now == {"ActiveState": "failed", "NRestarts": "0"}, now
            time.sleep(0.5)
        status = configured.systemctl("status", UNIT, "--no-pager", check=False).stdout
        print(f"\nsystemctl status with no token:\n{status}")
        assert "243/CREDENTIALS" in status
        messages = " ".join(str(e.get("MESSAGE", "")) for e in configured.journal("-u", UNIT))
        assert "repeated too quickly" not in messages
    finally:
        configured.run(["mv", "/etc/maggot-zenodo/token.away", "/etc/maggot-zenodo/token"])
        configured.systemctl("reset-failed", UNIT, check=False)


def test_journal_excerpt_reads_without_fields(configured: Machine, workdir: Path) -> None:
    """What a sysadmin sees with `journalctl -u maggot-zenodo` (quoted in the issue's note)."""
    excerpt = configured.run(["journalctl", "-u", UNIT, "--no-pager", "-o", "short-iso"]).stdout
    lines = [ln for ln in excerpt.splitlines() if "maggot-zenodo[" in ln]
    print(f"\njournalctl -u {UNIT} ({RELEASE}), last 40 lines:\n" + "\n".join(lines[-40:]))
    (workdir / "journal-excerpt.txt").write_text(excerpt, encoding="utf-8")
    assert lines and TOKEN not in excerpt
    # The refused reload says why in the message itself, not only in a field.
    assert any("bogus_key" in ln for ln in lines), "the refused reload's reason is not shown"


def test_purge_removes_program_state_and_overrides(machine: Machine) -> None:
    machine.systemctl("stop", UNIT, check=False)
    machine.run(["dpkg", "--purge", "maggot-zenodo"], timeout=120)
    gone = ["/opt/venvs/maggot-zenodo", "/usr/bin/maggot-zenodo", "/var/lib/maggot-zenodo"]
    gone += ["/usr/lib/systemd/system/maggot-zenodo.service", "/etc/maggot-zenodo/config.yaml"]
    gone += ["/usr/share/man/man1/maggot-zenodo.1.gz"]
    left = machine.run(["ls", "-d", *gone], check=False).stdout.split()
    assert left == []
    assert "maggot" not in machine.run(["dpkg-statoverride", "--list"]).stdout
    # The admin's token and the system user stay (Debian policy: its uid may own files).
    assert machine.run(["test", "-f", "/etc/maggot-zenodo/token"], check=False).returncode == 0
    assert machine.run(["getent", "passwd", "maggot-zenodo"], check=False).returncode == 0
