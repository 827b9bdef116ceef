"""A live site (#9): the daemon's first hour on a storage space years of Maggot left behind.

About thirty datasets in every state a real site holds: old semaphores, depositions made
beforehand by Maggot's own Publish page (one draft, one published, two with one title), NAS
snapshot and recycle copies, a folder the service user cannot write, a read-only bind mount,
and new semaphores dropped after the start. The real daemon runs as the unprivileged user
``nobody`` against the real emulator; the test asserts exactly which depositions exist and what
every ``META_zenodo.txt`` says, then restarts, then loses the journal: no new deposition.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from site_support import (
    COPIES,
    LATE_COPIES,
    MAGGOT_DRAFT,
    MAGGOT_PUBLISHED,
    NEW,
    OLD,
    READ_ONLY,
    REQUESTED,
    TWIN,
    UNREQUESTED,
    UNWRITABLE,
    NobodyDaemon,
    Site,
    build_site,
    drop_requests,
    maggot_publish,
    read_only_mount,
    run_as_nobody,
)
from testkit import Emulator, wait_for
from testkit.daemon import drop_semaphore, run_cli, status_file

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as nobody")


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    emu = Emulator.spawn(tmp_path / "emulator")
    yield emu
    emu.stop()


@pytest.fixture
def site(emulator: Emulator) -> Iterator[Site]:
    """The site in a folder outside root's private pytest tree, so that nobody reaches it."""
    base = Path(tempfile.mkdtemp(prefix="maggot-zenodo-site-", dir="/tmp"))
    base.chmod(0o755)
    try:
        yield build_site(base, emulator.base_url)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def read_only(site: Site) -> Iterator[bool]:
    """READ_ONLY as a read-only bind mount; False (that part skipped) if mount is refused."""
    with read_only_mount(site) as done:
        yield done


def by_title(emulator: Emulator) -> dict[str, list[dict[str, Any]]]:
    """The emulator's depositions keyed by dataset name (the titles say "Test dataset NAME")."""
    out: dict[str, list[dict[str, Any]]] = {}
    for dep in emulator.depositions():
        out.setdefault(dep["title"].split()[2], []).append(dep)
    return out


def snapshot(site: Site) -> dict[str, Any]:
    """Every status file of the storage, by folder (the update stamp left out)."""
    found = {}
    for path in sorted(site.storage.rglob("META_zenodo.txt")):
        text = status_file(path.parent) or {}
        text.pop("updated", None)
        found[str(path.parent.relative_to(site.storage))] = text
    return found


def test_missing_root_refuses_to_start_in_one_line(site: Site) -> None:
    broken = site.base / "broken.yaml"
    missing = site.base / "no-such-storage"
    broken.write_text(
        site.config.read_text().replace(str(site.storage), str(missing)), encoding="utf-8"
    )
    broken.chmod(0o644)
    result = run_as_nobody("run", "--config", str(broken), timeout=60)
    assert result.returncode == 2  # a bad configuration: systemd shows the unit failed
    lines = [line for line in result.stderr.splitlines() if not line.startswith("{")]
    assert len(lines) == 1, result.stderr  # besides the JSON log record: one line
    assert "storage.root" in lines[0] and str(missing) in lines[0] and "does not exist" in lines[0]
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_a_live_site(site: Site, emulator: Emulator, read_only: bool) -> None:
    ours_draft = maggot_publish(site, emulator.base_url, MAGGOT_DRAFT)
    ours_published = maggot_publish(site, emulator.base_url, MAGGOT_PUBLISHED, publish=True)
    twins = sorted(maggot_publish(site, emulator.base_url, TWIN) for _ in range(2))
    before = {d["id"] for d in emulator.depositions()}
    assert len(before) == 4

    log = site.base / "daemon-1.log"
    daemon = NobodyDaemon(site.config, log)
    try:
        daemon.wait_log("watcher ready", timeout=60)
        drop_requests(site, read_only)
        answered = [r for r in REQUESTED if r != UNWRITABLE]
        wait_for(
            lambda: all(
                (s := status_file(site.folder(r)))
                and s.get("status") not in ("queued", "publishing")
                for r in answered
            ),
            120,
            "every status file at its end (not queued, not publishing)",
        )
        wait_for(lambda: daemon.find_matching(f"{UNWRITABLE}: cannot write"), 60, "EACCES")
        if read_only:
            wait_for(lambda: daemon.find_matching(f"{READ_ONLY}: cannot write"), 60, "EROFS")
    finally:
        assert daemon.stop() == 0
    records = daemon.records()
    assert_first_run(site, emulator, records, read_only, ours_draft, ours_published, twins)
    first = {d["id"]: d["title"] for d in emulator.depositions()}
    files = snapshot(site)
    assert_admin_view(site, files, read_only)

    # a second run finds nothing to do
    again = run_as_nobody("run", "--once", "--config", str(site.config))
    assert again.returncode == 0, again.stderr[-2000:]
    assert {d["id"]: d["title"] for d in emulator.depositions()} == first
    assert snapshot(site) == files
    after_journal_loss(site, emulator, first, files, read_only)


def assert_admin_view(site: Site, files: dict[str, Any], read_only: bool) -> None:
    """``status --json``: what the researchers read, and the two folders they cannot."""
    shown = run_cli("status", "--json", "--config", str(site.config))
    assert shown.returncode == 0, shown.stderr
    rows = {r["folder"]: r for r in json.loads(shown.stdout)["datasets"]}
    assert set(rows) == {*files, UNWRITABLE, *([READ_ONLY] if read_only else [])}
    for rel, text in files.items():
        assert rows[rel]["status"] == text["status"], rel
        assert rows[rel]["deposition_id"] == text.get("deposition_id"), rel
    why = {UNWRITABLE: "(Permission denied)", READ_ONLY: "(Read-only file system)"}
    for rel in [UNWRITABLE, *([READ_ONLY] if read_only else [])]:
        assert rows[rel]["status"] == "failed" and rows[rel]["deposition_id"] is None, rows[rel]
        assert f"cannot write into this dataset folder {why[rel]}" in rows[rel]["error"]


def after_journal_loss(
    site: Site, emulator: Emulator, first: dict[int, str], files: dict[str, Any], read_only: bool
) -> None:
    """The journal is lost: a new baseline, said loudly, and nothing republished."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{site.base / 'state' / 'state.db'}{suffix}").unlink(missing_ok=True)
    lost = run_as_nobody("run", "--once", "--config", str(site.config))
    assert lost.returncode == 0, lost.stderr[-2000:]
    assert "the journal was lost or deleted" in lost.stdout + lost.stderr
    assert {d["id"]: d["title"] for d in emulator.depositions()} == first
    assert snapshot(site) == files
    scan = run_cli("scan", "--config", str(site.config))  # every semaphore: the new baseline
    assert scan.returncode == 0, scan.stderr
    baselined = {*OLD, *REQUESTED, *([READ_ONLY] if read_only else [])}
    assert sorted(scan.stdout.splitlines()) == sorted(
        f"{rel}\tbaselined: already there at the first start; touch the semaphore to publish"
        for rel in baselined
    )
    assert f"nothing pending (0 datasets known, {len(baselined)} baselined)" in scan.stderr

    # a researcher asks again after the loss: the status file's deposition is verified, kept
    drop_semaphore(site.folder(NEW[0]))
    again = run_as_nobody("run", "--once", "--config", str(site.config))
    assert again.returncode == 0, again.stderr[-2000:]
    assert {d["id"]: d["title"] for d in emulator.depositions()} == first
    text = status_file(site.folder(NEW[0]))
    assert text is not None and text["status"] == "draft", text
    assert text["deposition_id"] == files[NEW[0]]["deposition_id"]


def assert_first_run(
    site: Site,
    emulator: Emulator,
    records: list[dict[str, Any]],
    read_only: bool,
    ours_draft: int,
    ours_published: int,
    twins: list[int],
) -> None:
    """Exactly the depositions the site asked for, and what each status file says."""
    deps = by_title(emulator)
    name = lambda rel: rel.rsplit("/", 1)[-1]  # noqa: E731
    # one draft per request: the old semaphore touched after the start, and the new ones
    for rel in [OLD[0], *NEW]:
        [dep] = deps.pop(name(rel))  # NAS copies of Old0, New0, ... made none of their own
        text = status_file(site.folder(rel))
        assert text is not None and text["status"] == "draft", (rel, text)
        assert text["deposition_id"] == dep["id"] and "error" not in text
    # Maggot's draft is adopted and completed, not duplicated
    [dep] = deps.pop(name(MAGGOT_DRAFT))
    assert dep["id"] == ours_draft
    text = status_file(site.folder(MAGGOT_DRAFT))
    assert text is not None and text["status"] == "draft" and text["deposition_id"] == ours_draft
    # Maggot's published record gets a new version, in the same concept
    mine, new = sorted(deps.pop(name(MAGGOT_PUBLISHED)), key=lambda d: d["id"])
    assert mine["id"] == ours_published and new["conceptrecid"] == mine["conceptrecid"]
    text = status_file(site.folder(MAGGOT_PUBLISHED))
    assert text is not None and text["status"] == "draft" and text["deposition_id"] == new["id"]
    # two with one title: nothing guessed, both listed, the admin told how to choose
    assert sorted(d["id"] for d in deps.pop(name(TWIN))) == twins
    text = status_file(site.folder(TWIN))
    assert text is not None and text["status"] == "failed" and "deposition_id" not in text
    assert all(str(i) in text["error"] for i in twins), text
    assert f"maggot-zenodo adopt {site.folder(TWIN)} DEPOSITION_ID" in " ".join(
        text["hint"].split()
    )
    assert deps == {}, sorted(deps)  # nothing else: no old semaphore, no copy, no unwritable
    assert len(emulator.depositions()) == 14

    written = {
        str(p.parent.relative_to(site.storage)) for p in site.storage.rglob("META_zenodo.txt")
    }
    assert written == {OLD[0], *NEW, MAGGOT_DRAFT, MAGGOT_PUBLISHED, TWIN}
    # the folder nobody may write: the fix is group and setgid, not ReadWritePaths
    eacces = [
        r
        for r in records
        if r.get("dataset") == UNWRITABLE and f"{UNWRITABLE}: cannot write" in str(r["event"])
    ]
    assert eacces and all(r["level"] == "error" for r in eacces)
    said = [f"{r['event']} {r['error']}" for r in eacces]
    assert all("setgid" in t and "ReadWritePaths" not in t for t in said), said
    assert all("Permission denied" in t for t in said), said
    if read_only:  # the read-only mount: the fix is ReadWritePaths, not permissions
        erofs = [
            r
            for r in records
            if r.get("dataset") == READ_ONLY and f"{READ_ONLY}: cannot write" in str(r["event"])
        ]
        assert erofs and all(r["level"] == "error" for r in erofs)
        said = [f"{r['event']} {r['error']}" for r in erofs]
        assert all(f"ReadWritePaths={site.folder(READ_ONLY)}" in t for t in said), said
        assert all("setgid" not in t for t in said), said
        assert all("Read-only file system" in t for t in said), said
    for rel in [*COPIES, *LATE_COPIES, *UNREQUESTED, *OLD[1:]]:
        assert status_file(site.folder(rel)) is None, rel
    assert not [r for r in records if r.get("level") in ("critical",) or "Traceback" in str(r)]
