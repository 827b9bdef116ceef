"""The client's contract with Zenodo, checked against the emulator or against the real sandbox.

In ``make test`` it runs against the emulator, so it cannot rot. With ``ZENODO_SANDBOX_TOKEN``
set (``make sandbox-test``) the same flow runs against https://sandbox.zenodo.org: create,
upload, PUT, publish, new version, and the adoption of a create whose answer was lost. It
deletes the drafts it leaves (published sandbox records cannot be deleted; the sandbox is wiped
from time to time) and prints every comparison it made, so a site can send its output back.
The token never appears in that output.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

import pytest
from testkit.zenodo_client import make_client

from maggot_zenodo.zenodo.client import Deposition, ZenodoClient, ZenodoError

SANDBOX_URL = "https://sandbox.zenodo.org"
SANDBOX_ENV = "ZENODO_SANDBOX_TOKEN"
INDEX_LAG = 20.0  # seconds a new deposition may take to show in Zenodo's search


class Contract:
    """A client, the drafts to clean up, and the log of comparisons made."""

    def __init__(self, client: ZenodoClient, where: str) -> None:
        self.client, self.where = client, where
        self.drafts: list[int] = []
        self.lines: list[str] = []

    def check(self, what: str, expected: Any, got: Any) -> None:
        verdict = "ok" if expected == got else "DIFFERENT"
        self.lines.append(f"[{verdict}] {what}: expected {expected!r}, got {got!r}")
        assert got == expected, f"{what}: expected {expected!r}, got {got!r}"

    def cleanup(self) -> None:
        for dep_id in reversed(self.drafts):
            with suppress(ZenodoError):
                if not self.client.get(dep_id).published:
                    self.client.delete(dep_id)
                    self.lines.append(f"[cleanup] deleted draft {dep_id}")


@pytest.fixture
def contract(request: pytest.FixtureRequest) -> Iterator[Contract]:
    token = os.environ.get(SANDBOX_ENV, "").strip()
    if token:
        client = ZenodoClient(SANDBOX_URL, token, rate_limit=60)
        where = SANDBOX_URL
    else:
        emulator = request.getfixturevalue("emulator")
        client = make_client(emulator.base_url)
        where = "the emulator"
    run = Contract(client, where)
    try:
        yield run
    finally:
        run.cleanup()
        client.close()
        print(f"\ncontract test against {where}:")
        for line in run.lines:
            print(f"  {line}")


def metadata(title: str) -> dict[str, Any]:
    return {
        "title": title,
        "upload_type": "dataset",
        "description": "<p>maggot-zenodo contract test; safe to ignore.</p>",
        "creators": [{"name": "Test, Contract", "affiliation": "maggot-zenodo"}],
        "access_right": "open",
        "license": "cc-by-4.0",
        "publication_date": time.strftime("%Y-%m-%d"),
    }


def data_file(folder: Path, name: str, text: str) -> tuple[Path, str]:
    path = folder / name
    path.write_text(text)
    return path, hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def find_by_title(client: ZenodoClient, words: str) -> list[Deposition]:
    """The depositions whose title holds ``words``, waiting out the search index's lag."""
    deadline = time.monotonic() + INDEX_LAG
    while True:
        found = [d for d in client.list(q=f'title:"{words}"', max_pages=1) if words in d.title]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(1.0)


def test_create_upload_publish_version(contract: Contract, tmp_path: Path) -> None:
    client, check = contract.client, contract.check
    title = f"maggot-zenodo contract {uuid.uuid4()}"
    dep = client.create(metadata(title))
    contract.drafts.append(dep.id)
    check("state after create", "unsubmitted", dep.state)
    full = client.get(dep.id)
    check("bucket link present on GET", True, bool(full.bucket))
    assert full.bucket is not None
    path, md5 = data_file(tmp_path, "data.csv", "site,value\navignon,1\n")
    result = client.upload(full.bucket, path, "data.csv")
    check("md5 computed while sending", md5, result.md5)
    files = client.list_files(dep.id)
    check("file listing (bare md5)", [("data.csv", md5)], [(f.filename, f.checksum) for f in files])
    updated = client.update(dep.id, metadata(title))
    check("title read back after PUT", title, updated.metadata.get("title"))
    published = client.publish(dep.id)
    check("state after publish", "done", published.state)
    check("a DOI after publish", True, bool(published.doi))
    draft = client.new_version(dep.id)
    contract.drafts.append(draft.id)
    check("new version is a new id", True, draft.id != dep.id)
    check("new version state", "unsubmitted", draft.state)
    check("new version shares the concept", published.concept_id, draft.concept_id)
    check("files copied to the new version", [("data.csv", md5)], _files(draft))
    assert draft.bucket is not None
    path2, md5_2 = data_file(tmp_path, "data-v2.csv", "site,value\navignon,2\n")
    client.upload(draft.bucket, path2, "data.csv")  # the same key: replaced
    check("file replaced in the draft", [("data.csv", md5_2)], _files(client.get(draft.id)))
    client.update(draft.id, metadata(title))
    second = client.publish(draft.id)
    check("second version published", "done", second.state)
    check("same concept DOI", published.concept_doi, second.concept_doi)


def test_a_create_whose_answer_was_lost_is_found(contract: Contract) -> None:
    """What publish does after an unanswered create: find it by the marker in its title."""
    client, check = contract.client, contract.check
    marker = str(uuid.uuid4())
    lost = client.create(metadata(f"maggot-zenodo contract lost create {marker}"))
    contract.drafts.append(lost.id)  # its id is "lost": only the marker is known from here
    found = find_by_title(client, marker)
    check("depositions found by the marker", [lost.id], [d.id for d in found])
    check("found one is an unpublished draft", (False, "unsubmitted"), _state(found[0]))
    adopted = client.get(found[0].id)
    check("adopted draft has its bucket", True, bool(adopted.bucket))


def _files(dep: Deposition) -> list[tuple[str, str]]:
    return sorted((f.filename, f.checksum) for f in dep.files)


def _state(dep: Deposition) -> tuple[bool, str]:
    return (dep.submitted, dep.state)
