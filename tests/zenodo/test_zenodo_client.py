"""ZenodoClient against the emulator over loopback: every operation and the typed errors."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from testkit import TOKEN, Emulator
from testkit.zenodo_client import bucket_of, make_client, md5_of

from maggot_zenodo import __version__
from maggot_zenodo.backoff import full_jitter as backoff_delay
from maggot_zenodo.config import ZenodoConfig
from maggot_zenodo.zenodo.client import (
    BadRequest,
    Gone,
    NotFound,
    PermissionDenied,
    UnsupportedMediaType,
    ZenodoClient,
    ZenodoHTTPError,
)
from maggot_zenodo.zenodo.upload import HashingBody

METADATA = {
    "title": "Soil moisture at Avignon, 2021",
    "upload_type": "dataset",
    "description": "Hourly soil moisture.",
    "creators": [{"name": "Dupont, Marie"}],
    "publication_date": "2024-05-01",
    "access_right": "open",
    "license": "cc-by-4.0",
}


@pytest.fixture
def base(emulator: Emulator) -> str:
    return emulator.base_url


@pytest.fixture
def client(base: str):
    with make_client(base) as c:
        yield c


def test_user_agent_and_bearer_header(client: ZenodoClient) -> None:
    session = client._session()
    assert session.headers["User-Agent"] == f"maggot-zenodo/{__version__}"
    prepared = session.prepare_request(requests.Request("GET", client.api_url))
    assert prepared.headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in (prepared.url or "")


def test_full_lifecycle(
    client: ZenodoClient, base: str, emulator: Emulator, tmp_path: Path
) -> None:
    dep = client.create(METADATA)
    dep_id = dep.id
    assert dep.state == "unsubmitted"
    full = client.get(dep_id)
    bucket = full.bucket
    assert full.metadata["title"] == METADATA["title"]

    changed = client.update(dep_id, {**METADATA, "title": "Soil moisture, v2"})
    assert changed.metadata["title"] == "Soil moisture, v2"

    data = tmp_path / "data.csv"
    data.write_bytes(b"t,moisture\n" + b"1,0.25\n" * 5000)
    seen: list[int] = []
    result = client.upload(bucket, data, "data.csv", progress=seen.append)
    assert (result.key, result.size, result.md5) == ("data.csv", data.stat().st_size, md5_of(data))
    assert seen[0] == 0 and seen[-1] == data.stat().st_size
    assert seen == sorted(seen)

    extra = tmp_path / "extra.txt"
    extra.write_text("remove me")
    client.upload(bucket, extra, "extra.txt")
    files = client.list_files(dep_id)
    assert sorted(f.filename for f in files) == ["data.csv", "extra.txt"]
    extra_id = next(f.id for f in files if f.filename == "extra.txt")
    client.delete_file(dep_id, extra_id)
    files = client.list_files(dep_id)
    assert [(f.filename, f.checksum) for f in files] == [("data.csv", md5_of(data))]

    listed = client.list(q='title:"Soil moisture, v2"')
    assert [d.id for d in listed] == [dep_id]
    assert listed[0].bucket is None

    published = client.publish(dep_id)
    assert published.state == "done" and published.submitted is True
    # Publishing again answers 404 at Zenodo: the client resolves it to the published record.
    again = client.publish(dep_id)
    assert again.id == dep_id and again.state == "done"

    edited = client.edit(dep_id)
    assert edited.state == "inprogress"
    client.discard(dep_id)
    assert client.get(dep_id).state == "done"

    draft = client.new_version(dep_id)
    assert draft.id != dep_id
    assert draft.state == "unsubmitted"
    assert (draft.bucket or "").startswith(base)
    assert draft.concept_id == published.concept_id is not None
    assert [f.filename for f in draft.files] == ["data.csv"]
    # Asking again gives the same open draft back (possibly via "remove all files first").
    assert client.new_version(dep_id).id == draft.id

    state = emulator.state()
    ids = sorted(d["id"] for d in state["depositions"])
    assert ids == sorted([dep_id, draft.id])


def test_delete_then_get_is_typed(client: ZenodoClient) -> None:
    """A deleted draft answers 404, not 410 (Zenodo's test_rest_api_simpleflow.py)."""
    dep = client.create({})
    client.delete(dep.id)
    with pytest.raises(NotFound) as info:
        client.get(dep.id)
    assert info.value.status == 404
    assert "does not exist" in str(info.value)
    with pytest.raises(NotFound):
        client.delete(dep.id)  # not after an ambiguous try: the 404 is reported


def test_list_follows_pages(client: ZenodoClient) -> None:
    made = {client.create({"title": f"paged record {i}"}).id for i in range(5)}
    everything = client.list(page_size=2)
    ids = [d.id for d in everything]
    assert len(ids) == len(set(ids))
    assert made <= set(ids)
    assert len(client.list(page_size=2, max_pages=1)) == 2
    assert len(client.list(sort="newest", page_size=100)) == len(ids)
    with pytest.raises(ValueError):
        client.list(page_size=101)


def test_400_validation_carries_field_messages(client: ZenodoClient) -> None:
    dep = client.create({})
    with pytest.raises(BadRequest) as info:
        client.update(dep.id, {**METADATA, "license": "no-such-license"})
    error = info.value
    assert error.status == 400
    assert any(e["field"] == "metadata.license" for e in error.errors)
    assert "no-such-license" in str(error)
    assert error.maybe_committed is False


def test_publish_without_files_names_the_field(client: ZenodoClient) -> None:
    dep = client.create(METADATA)
    with pytest.raises(BadRequest) as info:
        client.publish(dep.id)
    fields = {e["field"] for e in info.value.errors}
    assert "files.enabled" in fields


def test_403_for_someone_elses_deposition(base: str) -> None:
    with make_client(base) as alice, make_client(base, token="bob-token-5678") as bob:
        dep = alice.create({})
        with pytest.raises(PermissionDenied) as info:
            bob.get(dep.id)
    assert info.value.status == 403
    assert isinstance(info.value, ZenodoHTTPError)


def test_404_unknown_id(client: ZenodoClient) -> None:
    with pytest.raises(NotFound) as info:
        client.get(987654321)
    assert info.value.status == 404
    with pytest.raises(NotFound):
        client.publish(987654321)


def test_410_record_removed_by_staff(client: ZenodoClient, base: str, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    data.write_text("x\n")
    dep = client.create(METADATA)
    client.upload(bucket_of(client, dep.id), data, "d.csv")
    client.publish(dep.id)
    requests.post(f"{base}/_emulator/records/{dep.id}/remove", timeout=10).raise_for_status()
    with pytest.raises(Gone) as info:
        client.get(dep.id)
    assert info.value.status == 410
    assert "deleted" in str(info.value)
    with pytest.raises(Gone):
        client.update(dep.id, METADATA)


def test_415_wrong_content_type(client: ZenodoClient) -> None:
    dep = client.get(client.create({}).id)
    url = f"{dep.bucket}/x.txt"
    with pytest.raises(UnsupportedMediaType) as info:
        client._call("PUT", url, expect=(201,), headers={"Content-Type": "text/plain"})
    assert info.value.status == 415


def test_bucket_on_another_site_is_refused(client: ZenodoClient, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    with pytest.raises(ValueError):
        client.upload("http://127.0.0.2:9/api/files/abc", f, "f")
    with pytest.raises(ValueError):
        client.upload(client.api_url + "/files/abc", f, "a/b")


def test_from_config(base: str) -> None:
    cfg = ZenodoConfig(url=base, connect_timeout=3.0, read_timeout=7.0, rate_limit=50)
    with ZenodoClient.from_config(cfg, TOKEN) as c:
        assert c.timeout == (3.0, 7.0)
        assert c.base_url == base.rstrip("/")
        assert c.get(c.create({}).id).state == "unsubmitted"


def test_upload_body_has_a_content_length_not_chunked(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    body = HashingBody(path, None)
    try:
        prepared = requests.Request("PUT", "http://127.0.0.1:9/api/files/b/f", data=body).prepare()
    finally:
        body.close()
    assert prepared.headers["Content-Length"] == "3000000"
    assert "Transfer-Encoding" not in prepared.headers


def test_one_client_shared_by_threads(
    client: ZenodoClient, base: str, emulator: Emulator, tmp_path: Path
) -> None:
    def work(i: int) -> tuple[int, str]:
        path = tmp_path / f"f{i}.txt"
        path.write_text(f"file {i}\n" * (i + 1))
        dep = client.create({"title": f"threaded {i}"})
        client.upload(bucket_of(client, dep.id), path, path.name)
        return dep.id, md5_of(path)

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = dict(pool.map(work, range(12)))
    state = emulator.state()
    held = {d["id"]: [f["checksum"] for f in d["files"]] for d in state["depositions"]}
    assert held == {dep_id: [md5] for dep_id, md5 in results.items()}


def test_backoff_is_exponential_with_full_jitter() -> None:
    rng_draws = [backoff_delay(attempt, 0.5, 60.0) for attempt in (1, 2, 3, 4) for _ in range(200)]
    for attempt in (1, 2, 3, 4):
        draws = rng_draws[(attempt - 1) * 200 : attempt * 200]
        ceiling = 0.5 * 2 ** (attempt - 1)
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > 0.8 * ceiling and min(draws) < 0.2 * ceiling  # full jitter
    assert all(0.0 <= backoff_delay(30, 0.5, 60.0) <= 60.0 for _ in range(50))
