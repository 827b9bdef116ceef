"""ZenodoClient under every fault kind of the emulator: the end state is always the right one."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from testkit.zenodo_client import bucket_of, make_client, md5_of

from maggot_zenodo.zenodo.client import Deposition, ZenodoClient, ZenodoUnavailable

KINDS = ["500", "502", "503", "504", "429", "reset", "reset_mid_upload", "slow", "after_commit"]
METADATA = {
    "upload_type": "dataset",
    "description": "Fault test.",
    "creators": [{"name": "Martin, Paul"}],
    "publication_date": "2024-05-01",
    "access_right": "open",
    "license": "cc-by-4.0",
}


def fault_client(base: str, kind: str, **overrides: Any) -> ZenodoClient:
    """Fast settings; under ``slow``, a read timeout shorter than the injected delay."""
    kwargs: dict[str, Any] = {"retry_after_max": 0.05, "max_retries": 10}
    if kind == "slow":
        kwargs["read_timeout"] = 0.2
    kwargs.update(overrides)
    return make_client(base, **kwargs)


def find_by_title(client: ZenodoClient, title: str) -> list[Deposition]:
    return [d for d in client.list(q=f'title:"{title}"') if d.title == title]


def create_exactly_once(client: ZenodoClient, title: str, linger: float = 0.0) -> int:
    """What the publish workflow does: create; when it may have been committed, look for it
    (a slow create can commit after our timeout, so look for a while) before creating again."""
    for _ in range(30):
        try:
            return client.create({**METADATA, "title": title}).id
        except ZenodoUnavailable as error:
            if not error.maybe_committed:
                continue
        deadline = time.monotonic() + linger
        while True:
            found = find_by_title(client, title)
            if found:
                assert len(found) == 1
                return found[0].id
            if time.monotonic() >= deadline:
                break
            time.sleep(0.1)
    raise AssertionError("could not create the deposition")


def make_files(tmp_path: Path) -> list[Path]:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for i in range(3):
            f.write(os.urandom(1024 * 1024) + bytes([i]))
    small = tmp_path / "small.csv"
    small.write_text("a,b\n1,2\n")
    return [big, small]


@pytest.mark.parametrize("seed", [8, 28])
@pytest.mark.parametrize("kind", KINDS)
def test_workflow_ends_in_the_right_state(
    emulator: Any, tmp_path: Path, kind: str, seed: int
) -> None:
    base = emulator.base_url
    files = make_files(tmp_path)
    title = f"Fault workflow {kind}"
    rate = 0.6 if kind == "reset_mid_upload" else 0.3
    emulator.set_faults(rate=rate, kinds=[kind], seed=seed, delay=[0.3, 0.5])
    with fault_client(base, kind) as client:
        dep_id = create_exactly_once(client, title, linger=1.5 if kind == "slow" else 0.0)
        client.update(dep_id, {**METADATA, "title": title})
        bucket = bucket_of(client, dep_id)
        for path in files:
            result = client.upload(bucket, path, path.name)
            assert result.md5 == md5_of(path)
        published = client.publish(dep_id)
        assert published.state == "done"
    injected = emulator.state()["faults"]["injected"]
    emulator.set_faults()
    assert injected.get(kind, 0) > 0, "the fault was never injected: the test proved nothing"

    state = emulator.state()
    mine = [d for d in state["depositions"] if d["title"] == title]
    assert len(mine) == 1, f"expected exactly one deposition, found {len(mine)}"
    dep = mine[0]
    assert dep["id"] == dep_id and dep["state"] == "done"
    held = {f["filename"]: (f["filesize"], f["checksum"]) for f in dep["files"]}
    assert held == {p.name: (p.stat().st_size, md5_of(p)) for p in files}
    assert len(state["depositions"]) == 1


def test_create_after_commit_is_not_sent_twice(emulator: Any) -> None:
    emulator.set_faults(rate=1, kinds=["after_commit"], methods=["POST"], count=1)
    with (
        fault_client(emulator.base_url, "after_commit") as client,
        pytest.raises(ZenodoUnavailable) as info,
    ):
        client.create({"title": "committed but unanswered"})
    assert info.value.maybe_committed is True
    state = emulator.state()
    assert [d["title"] for d in state["depositions"]] == ["committed but unanswered"]
    assert state["requests"]["by_method"] == {"POST": 1}


@pytest.mark.parametrize("kind", ["500", "502", "503", "504", "reset"])
def test_create_not_resent_after_ambiguous_failure(emulator: Any, kind: str) -> None:
    emulator.set_faults(rate=1, kinds=[kind], count=1)
    with fault_client(emulator.base_url, kind) as client, pytest.raises(ZenodoUnavailable) as info:
        client.create({"title": "ambiguous"})
    assert info.value.maybe_committed is True
    state = emulator.state()
    assert state["requests"]["by_method"] == {"POST": 1}
    assert state["depositions"] == []  # these faults happen before the store is touched


def test_create_slow_answer_times_out_but_commits(emulator: Any) -> None:
    emulator.set_faults(rate=1, kinds=["slow"], count=1, delay=0.5)
    with (
        fault_client(emulator.base_url, "slow") as client,
        pytest.raises(ZenodoUnavailable) as info,
    ):
        client.create({"title": "slow create"})
    assert info.value.maybe_committed is True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not emulator.state()["depositions"]:
        time.sleep(0.05)
    state = emulator.state()
    assert [d["title"] for d in state["depositions"]] == ["slow create"]
    assert state["requests"]["by_method"] == {"POST": 1}


def test_create_retried_on_429(emulator: Any) -> None:
    emulator.set_faults(rate=1, kinds=["429"], count=2)
    with fault_client(emulator.base_url, "429") as client:
        dep = client.create({"title": "after 429"})
    state = emulator.state()
    assert [d["id"] for d in state["depositions"]] == [dep.id]
    assert state["requests"]["by_status"].get("429") == 2
    assert state["requests"]["by_method"] == {"POST": 3}


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_create_retried_when_connection_refused() -> None:
    with (
        make_client(f"http://127.0.0.1:{closed_port()}", max_retries=3) as client,
        pytest.raises(ZenodoUnavailable) as info,
    ):
        client.create({"title": "nobody listens"})
    assert info.value.maybe_committed is False
    assert "could not connect" in str(info.value)
    assert "4 attempts" in str(info.value)


def test_retries_exhausted_on_5xx(emulator: Any) -> None:
    emulator.set_faults(rate=1, kinds=["502"])
    with (
        fault_client(emulator.base_url, "502", max_retries=2) as client,
        pytest.raises(ZenodoUnavailable) as info,
    ):
        client.get(1)
    assert info.value.maybe_committed is False  # a GET commits nothing
    assert emulator.state()["requests"]["by_method"] == {"GET": 3}


def test_publish_after_commit_resolves_to_the_published_record(
    emulator: Any, tmp_path: Path
) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n")
    with fault_client(emulator.base_url, "after_commit") as client:
        dep_id = client.create({**METADATA, "title": "publish once"}).id
        client.upload(bucket_of(client, dep_id), data, "d.csv")
        emulator.set_faults(rate=1, kinds=["after_commit"], match="/actions/publish", count=1)
        published = client.publish(dep_id)
    assert published.state == "done"
    state = emulator.state()
    assert state["requests"]["by_status"].get("502") == 1
    assert [d["state"] for d in state["depositions"]] == ["done"]


def test_new_version_after_commit_returns_one_draft(emulator: Any, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n")
    with fault_client(emulator.base_url, "after_commit") as client:
        dep_id = client.create({**METADATA, "title": "versioned"}).id
        client.upload(bucket_of(client, dep_id), data, "d.csv")
        client.publish(dep_id)
        emulator.set_faults(rate=1, kinds=["after_commit"], match="/actions/newversion", count=1)
        draft = client.new_version(dep_id)
    assert draft.id != dep_id and draft.bucket is not None
    drafts = [d for d in emulator.state()["depositions"] if d["state"] == "unsubmitted"]
    assert [d["id"] for d in drafts] == [draft.id]


def test_rate_limit_429_pauses_every_thread_for_retry_after(emulator: Any) -> None:
    """A real 429 with Retry-After: the retry waits for it, and so does every other request
    to the site (shared limiter). The emulator's Retry-After is tens of seconds, so the wait
    is observed and then interrupted with the stop event rather than sat through."""
    stop = threading.Event()
    emulator.set_faults(rate=1, kinds=["429"], count=1)
    client = make_client(emulator.base_url, stop=stop)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            client.get(1)
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and client._limiter.delay() == 0:
        time.sleep(0.01)
    pause = client._limiter.delay()
    assert 20 < pause <= 61
    assert emulator.state()["requests"]["by_status"] == {"429": 1}
    stop.set()
    worker.join(10)
    client.close()
    assert isinstance(outcome[0], ZenodoUnavailable)
    assert "interrupted" in str(outcome[0])
    assert emulator.state()["requests"]["total"] == 1  # the retry never went out early


def published_record(client: ZenodoClient, tmp_path: Path, title: str) -> int:
    data = tmp_path / "d.csv"
    data.write_text("x\n")
    dep_id = client.create({**METADATA, "title": title}).id
    client.upload(bucket_of(client, dep_id), data, "d.csv")
    client.publish(dep_id)
    return dep_id


def test_edit_and_discard_after_commit(emulator: Any, tmp_path: Path) -> None:
    with fault_client(emulator.base_url, "after_commit") as client:
        dep_id = published_record(client, tmp_path, "edited")
        emulator.set_faults(rate=1, kinds=["after_commit"], match="/actions/edit", count=1)
        assert client.edit(dep_id).state == "inprogress"
        # The emulator's ``count`` caps the faults injected so far, across specs.
        emulator.set_faults(rate=1, kinds=["after_commit"], match="/actions/discard", count=2)
        client.discard(dep_id)
        emulator.set_faults()
        assert client.get(dep_id).state == "done"
    assert emulator.state()["faults"]["injected"] == {"after_commit": 2}


def test_delete_and_delete_file_after_commit(emulator: Any, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n")
    with fault_client(emulator.base_url, "after_commit") as client:
        dep_id = client.create({"title": "to delete"}).id
        client.upload(bucket_of(client, dep_id), data, "d.csv")
        (file_id,) = [f.id for f in client.list_files(dep_id)]
        emulator.set_faults(rate=1, kinds=["after_commit"], methods=["DELETE"], count=1)
        client.delete_file(dep_id, file_id)  # done, answer lost, retry says 404: fine
        assert client.list_files(dep_id) == []
        emulator.set_faults(rate=1, kinds=["after_commit"], methods=["DELETE"], count=2)
        client.delete(dep_id)  # done, answer lost, retry says 410: fine
    state = emulator.state()
    assert state["depositions"] == [] and state["deleted"] == [dep_id]
    assert state["faults"]["injected"] == {"after_commit": 2}
