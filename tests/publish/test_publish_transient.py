"""Zenodo's passing faults that look final, through the real Publisher against the emulator
subprocess: new versions under faults stay exactly once, a draft whose file cannot be deleted
is discarded and versioned again (journaled), and no status file gives misleading advice."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from testkit import spawned_emulator
from testkit.publishing import (
    SEMAPHORE,
    direct_client,
    expected_files,
    held_files,
    make_config,
    make_dataset,
    publisher,
)

from maggot_zenodo.publish.communities import INCLUDED, WAITING
from maggot_zenodo.publish.workflow import Outcome, Publisher
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import Journal
from maggot_zenodo.zenodo.client import ZenodoClient

emulator = pytest.fixture(scope="module")(spawned_emulator)

TRANSIENT = [
    "transfer_failed",
    "spurious_413",
    "spurious_quota",
    "newversion_403",
    "draft_file_delete_500",
]
CLASSIC = ["500", "502", "503", "429", "reset", "reset_mid_upload", "after_commit"]
#: Advice a passing fault of Zenodo's must never produce.
MISLEADING = (
    "reduce the files",
    "split or compress",
    "correct the metadata",
    "token is invalid",
    "revoked",
    "check the zenodo token",
    "permission denied",
    "too large",
)
#: fast_client's max_retries is 12: a lasting fault is 13 refused attempts of one request.
LASTING = 13


@pytest.fixture
def emu(emulator):
    emulator.reset()
    emulator.set_faults(rate=0.0, kinds=[])
    return emulator


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "storage"
    path.mkdir()
    return path


def _setup(
    tmp_path: Path, root: Path, emu: Any, retries: int | None = None, **zenodo: Any
) -> tuple[Journal, Publisher]:
    """A Publisher; ``retries``: the client's max_retries (fewer, so faults last and fail)."""
    config = make_config(tmp_path, root, emu.base_url, publish=True, **zenodo)
    journal = Journal(config.state)
    if retries is None:
        return journal, publisher(config, journal)

    def client(url: str, token: str) -> ZenodoClient:
        return ZenodoClient.from_config(
            config.zenodo,
            token,
            backoff_base=0.005,
            backoff_max=0.02,
            max_retries=retries,
            retry_after_max=0.1,
        )

    return journal, Publisher(config, journal, client_factory=client)


def _status_text(folder: Path) -> str:
    return (folder / statusfile.STATUS_FILE).read_text()


def _misleading(text: str) -> list[str]:
    low = text.lower()
    return [m for m in MISLEADING if m in low]


def _until_ok(pub: Publisher, folder: Path, seen: list[str], attempts: int = 60) -> Outcome:
    """Publish again and again, as the daemon's retries would; every status file a failed
    attempt leaves (its last write) goes into ``seen``."""
    for _ in range(attempts):
        outcome = pub.publish(folder)
        seen.append(_status_text(folder))
        if outcome.ok:
            return outcome
        assert outcome.retryable, outcome
    raise AssertionError(f"{folder} still failing after {attempts} attempts: {outcome}")


def _next_version(folder: Path, i: int) -> None:
    """Change one file and stop declaring another (a delete in the new-version draft)."""
    (folder / "d0.bin").write_bytes(bytes([i, 99]) * 7000)
    (folder / "d2.bin").unlink()
    meta = folder / f"META_{folder.name}.json"
    rec = json.loads(meta.read_text())
    rec["resources"] = [r for r in rec["resources"] if r["location"] != "d2.bin"]
    meta.write_text(json.dumps(rec, indent=1))
    (folder / SEMAPHORE).touch()


def _concepts(emu: Any) -> dict[Any, list[dict[str, Any]]]:
    by: dict[Any, list[dict[str, Any]]] = {}
    for dep in emu.depositions():
        by.setdefault(dep["conceptrecid"], []).append(dep)
    return by


def _dataset(root: Path, i: int) -> Path:
    return make_dataset(root, f"t{i}", {f"d{j}.bin": bytes([i, j]) * 6000 for j in range(3)})


@pytest.mark.parametrize(
    ("kinds", "seed"),
    [(TRANSIENT, 5), (TRANSIENT, 6), (TRANSIENT + CLASSIC, 7)],
    ids=["transient-5", "transient-6", "mixed-7"],
)
def test_versions_at_30_percent_faults_exactly_once(tmp_path, emu, root, kinds, seed):
    datasets = [_dataset(root, i) for i in range(4)]
    _journal, pub = _setup(tmp_path, root, emu, retries=1)  # faults last: attempts fail
    emu.set_faults(rate=0.3, kinds=kinds, seed=seed, delay=[0.01, 0.03])
    seen: list[str] = []
    first = {}
    for folder in datasets:
        _until_ok(pub, folder, seen)
        first[folder] = expected_files(folder, ["d0.bin", "d1.bin", "d2.bin"])
    for i, folder in enumerate(datasets):
        _next_version(folder, i)
        _until_ok(pub, folder, seen)
    emu.set_faults(rate=0.0, kinds=[])
    state = emu.state()
    assert state["faults"]["total"] >= 5, state["faults"]
    assert set(state["faults"]["injected"]) & set(TRANSIENT)
    concepts = _concepts(emu)
    assert len(concepts) == len(datasets)
    for versions in concepts.values():
        assert [d["state"] for d in versions] == ["done", "done"], versions  # no orphan draft
    for folder in datasets:
        [versions] = [v for v in concepts.values() if v[0]["title"].startswith(folder.name)]
        old, new = sorted(versions, key=lambda d: d["id"])
        assert held_files(old) == first[folder]
        assert held_files(new) == expected_files(folder, ["d0.bin", "d1.bin"])
        assert "status: published" in _status_text(folder)
    failures = [t for t in seen if "status: failed" in t]
    print(f"{len(failures)} failed attempts, faults {state['faults']['injected']}")
    assert len(failures) >= 2  # faults lasted: the words of failed attempts were checked
    assert [m for t in seen for m in _misleading(t)] == [], failures


def _published_then_changed(tmp_path, emu, root):
    folder = _dataset(root, 1)
    journal, pub = _setup(tmp_path, root, emu)
    assert pub.publish(folder).status == "published"
    _next_version(folder, 1)
    return folder, journal, pub


def test_a_lasting_file_delete_500_discards_the_draft_and_versions_again(tmp_path, emu, root):
    folder, journal, pub = _published_then_changed(tmp_path, emu, root)
    emu.set_faults(rate=1.0, kinds=["draft_file_delete_500"], count=LASTING)
    out = pub.publish(folder)
    emu.set_faults(rate=0.0, kinds=[])
    assert out.status == "published", out
    assert emu.state()["faults"]["injected"] == {"draft_file_delete_500": LASTING}
    [versions] = _concepts(emu).values()
    assert [d["state"] for d in versions] == ["done", "done"]  # the discarded draft is gone
    new = max(versions, key=lambda d: d["id"])
    assert new["id"] == out.deposition_id
    assert held_files(new) == expected_files(folder, ["d0.bin", "d1.bin"])
    row = journal.rows()[0]
    steps = [(s, p) for s, p, _ in journal.steps(row.id)]
    assert ("discard", "intent") in steps and ("discard", "result") in steps
    assert steps.count(("newversion", "result")) == 2


def test_a_file_delete_500_that_never_ends_is_retryable_and_says_so(tmp_path, emu, root):
    folder, _journal, pub = _published_then_changed(tmp_path, emu, root)
    emu.set_faults(rate=1.0, kinds=["draft_file_delete_500"])
    out = pub.publish(folder)
    text = _status_text(folder)
    emu.set_faults(rate=0.0, kinds=[])
    assert out.status == "failed" and out.retryable, out
    assert "delete a file" in out.error and "Zenodo's side" in out.error
    assert "tried again automatically" in out.error
    assert "status: failed" in text and _misleading(text) == []
    [versions] = _concepts(emu).values()
    assert sorted(d["state"] for d in versions) == ["done", "unsubmitted"]  # only the last draft
    again = pub.publish(folder)
    assert again.status == "published", again
    [versions] = _concepts(emu).values()
    assert [d["state"] for d in versions] == ["done", "done"]
    assert held_files(max(versions, key=lambda d: d["id"])) == expected_files(
        folder, ["d0.bin", "d1.bin"]
    )


def test_a_crash_between_discard_intent_and_delete_stays_exactly_once(tmp_path, emu, root):
    folder, journal, pub = _published_then_changed(tmp_path, emu, root)
    [row] = journal.rows()
    published = row.deposition_id
    assert published is not None
    client = direct_client(emu.base_url)
    draft = client.new_version(published)  # what the crashed attempt had made
    client.close()
    # the journal as the crash left it: the draft known, its discard intended, not done
    journal.step(row.id, "newversion", "intent", {"from": published})
    journal.step(row.id, "newversion", "result", {"from": published, "id": draft.id})
    journal.update(row.id, deposition_id=draft.id, metadata_hash=None)
    journal.step(row.id, "discard", "intent", {"id": draft.id, "from": published})
    out = pub.publish(folder)
    assert out.status == "published", out
    [versions] = _concepts(emu).values()
    assert [d["state"] for d in versions] == ["done", "done"]
    assert draft.id not in {d["id"] for d in versions}  # the crashed attempt's draft: discarded
    assert held_files(max(versions, key=lambda d: d["id"])) == expected_files(
        folder, ["d0.bin", "d1.bin"]
    )


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("spurious_413", "although it is within the limits"),
        ("spurious_quota", "within its quota"),
        ("transfer_failed", "kept failing"),
    ],
)
def test_a_lasting_upload_refusal_says_what_is_true(tmp_path, emu, root, kind, words):
    folder = _dataset(root, 2)
    _journal, pub = _setup(tmp_path, root, emu)
    emu.set_faults(rate=1.0, kinds=[kind])
    out = pub.publish(folder)
    text = _status_text(folder)
    emu.set_faults(rate=0.0, kinds=[])
    assert out.status == "failed" and out.retryable, out
    assert words in out.error and "Zenodo's side" in out.error, out.error
    assert "tried again automatically" in out.error
    assert "Nothing to change in the dataset" in out.hint
    assert words in " ".join(text.split()) and _misleading(text) == []
    assert pub.publish(folder).status == "published"
    [dep] = emu.depositions()
    assert held_files(dep) == expected_files(folder, ["d0.bin", "d1.bin", "d2.bin"])


def test_a_lasting_403_on_the_new_version_draft_blames_no_token(tmp_path, emu, root):
    folder, _journal, pub = _published_then_changed(tmp_path, emu, root)
    emu.set_faults(rate=1.0, kinds=["newversion_403"])
    out = pub.publish(folder)
    text = _status_text(folder)
    emu.set_faults(rate=0.0, kinds=[])
    assert out.status == "failed" and out.retryable, out
    assert "Zenodo's side" in out.error and _misleading(text) == [], text
    assert pub.publish(folder).status == "published"
    [versions] = _concepts(emu).values()
    assert [d["state"] for d in versions] == ["done", "done"]


def test_communities_included_or_waiting_in_the_status_file(tmp_path, emu, root):
    requests.put(
        emu.url("/_emulator/communities"),
        json={"open-c": {"curators": "all"}, "closed-c": {"curators": []}},
        timeout=30,
    ).raise_for_status()
    folder = _dataset(root, 3)
    _journal, pub = _setup(tmp_path, root, emu, communities=["open-c", "closed-c"])
    assert pub.publish(folder).status == "published"
    data = yaml.safe_load(_status_text(folder))
    assert data["communities"] == [
        {"id": "open-c", "status": INCLUDED},
        {"id": "closed-c", "status": WAITING},
    ]
    requests.post(emu.url("/_emulator/communities/closed-c/accept"), timeout=30)
    (folder / SEMAPHORE).touch()
    assert pub.publish(folder).status == "published"
    data = yaml.safe_load(_status_text(folder))
    assert data["communities"] == [
        {"id": "open-c", "status": INCLUDED},
        {"id": "closed-c", "status": INCLUDED},
    ]
    assert len(emu.depositions()) == 1  # the curator's decision needs no new version
