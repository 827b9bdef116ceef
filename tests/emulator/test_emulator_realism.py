"""ZENODO-API.md facts beyond the replayed sequences: communities at publish, the HTML pages
behind ``links.html``/``record_html``, ``--latency``, a record removed by Zenodo's staff,
licences of the SPDX list, read-back forms, listing queries."""

from __future__ import annotations

import time

import pytest
import requests
from testkit.emulator_http import DEP, Client, md5hex, valid_metadata


@pytest.fixture
def client(emulator) -> Client:
    return Client(emulator.base_url)


def publish_with(client: Client, communities: list[str]) -> dict:
    md = valid_metadata(communities=[{"identifier": c} for c in communities])
    dep = client.create(md)
    assert client.upload(dep, "data.csv", b"1").status_code == 201
    r = client.post(f"{DEP}/{dep['id']}/actions/publish")
    assert r.status_code == 202, r.text
    return r.json()


def test_inclusion_requests_at_publish(emulator_factory):
    emu = emulator_factory(curators=("curated",), communities=("waiting",))
    client = Client(emu.base_url)
    draft = client.create(
        valid_metadata(communities=[{"identifier": s} for s in ("curated", "waiting", "nope")])
    )
    shown = [c["identifier"] for c in draft["metadata"]["communities"]]
    assert shown == ["curated", "waiting", "nope"]  # a draft keeps what it asks for
    client.upload(draft, "data.csv", b"1")
    record = client.post(f"{DEP}/{draft['id']}/actions/publish").json()
    # accepted at once for a curator; a waiting request and an unknown slug do not show
    assert record["metadata"]["communities"] == [{"identifier": "curated"}]
    assert client.get(f"/api/records/{record['id']}").json()["metadata"]["communities"] == [
        {"identifier": "curated"}
    ]
    requests_ = requests.get(emu.url("/_emulator/communities"), timeout=10).json()["requests"]
    assert {(r["slug"], r["status"]) for r in requests_} == {
        ("curated", "accepted"),
        ("waiting", "submitted"),
    }
    # the curator accepts later: the record now shows it
    r = requests.post(emu.url("/_emulator/communities/waiting/accept"), timeout=10)
    assert r.json() == {"decided": 1}
    got = client.get(f"{DEP}/{record['id']}").json()["metadata"]["communities"]
    assert got == [{"identifier": "curated"}, {"identifier": "waiting"}]


def test_curators_by_token_over_http(emulator):
    r = requests.put(
        emulator.url("/_emulator/communities"),
        json={"inrae": {"curators": ["curator-token"]}},
        timeout=10,
    )
    assert r.status_code == 200
    assert "curator-token" not in r.text  # stored as user ids, never as tokens
    other = publish_with(Client(emulator.base_url, "someone-else"), ["inrae"])
    assert "communities" not in other["metadata"]
    mine = publish_with(Client(emulator.base_url, "curator-token"), ["inrae"])
    assert mine["metadata"]["communities"] == [{"identifier": "inrae"}]
    bad = requests.put(emulator.url("/_emulator/communities"), json={"x": {}}, timeout=10)
    assert bad.status_code == 400


def test_html_pages_of_draft_and_record(emulator, client):
    dep = client.create(valid_metadata(title="Soil <moisture> & rain"))
    client.upload(dep, "data.csv", b"a,b\n")
    page = requests.get(dep["links"]["html"], timeout=10)  # a browser has no token
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "Soil &lt;moisture&gt; &amp; rain" in page.text and "<moisture>" not in page.text
    assert "van Delft, Pierre" in page.text and "unsubmitted" in page.text
    assert "data.csv" in page.text and md5hex(b"a,b\n") in page.text
    record = client.post(f"{DEP}/{dep['id']}/actions/publish").json()
    shown = requests.get(record["links"]["record_html"], timeout=10)  # /record/<id> redirects
    assert shown.history and shown.history[0].status_code == 302
    assert shown.url == record["links"]["html"]
    assert record["doi"] in shown.text and "done" in shown.text
    latest = requests.get(record["links"]["latest_html"], timeout=10)
    assert latest.url == record["links"]["html"]
    assert requests.get(emulator.url("/records/999999"), timeout=10).status_code == 404


def test_latency_is_added_to_every_api_request(emulator_factory):
    emu = emulator_factory(latency=0.3)
    client = Client(emu.base_url)
    t0 = time.monotonic()
    for _ in range(3):
        assert client.get(DEP).status_code == 200
    assert time.monotonic() - t0 >= 0.9
    t0 = time.monotonic()
    requests.get(emu.url("/_emulator/state"), timeout=10)  # control endpoints: no latency
    assert time.monotonic() - t0 < 0.3
    with pytest.raises(ValueError, match="latency"):
        emulator_factory(latency=-1)


def test_index_delay_hides_a_new_deposition_from_listings(emulator_factory):
    emu = emulator_factory(index_delay=0.5)
    client = Client(emu.base_url)
    dep = client.create(valid_metadata())
    assert client.get(DEP).json() == []  # created a moment ago: not in the index yet
    assert client.get(f"{DEP}/{dep['id']}").status_code == 200  # but readable by id
    deadline = time.monotonic() + 10
    while not client.get(DEP).json() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [d["id"] for d in client.get(DEP).json()] == [dep["id"]]


def test_record_removed_by_staff_answers_410(emulator, client):
    record = client.published()
    r = requests.post(emulator.url(f"/_emulator/records/{record['id']}/remove"), timeout=10)
    assert r.status_code == 204
    deleted = {"status": 410, "message": "The record has been deleted."}
    for path in (f"{DEP}/{record['id']}", f"/api/records/{record['id']}"):
        r = client.get(path)
        assert (r.status_code, r.json()) == (410, deleted)


@pytest.mark.parametrize(
    ("sent", "read"),
    [
        ("CC-BY-NC-2.0", "cc-nc"),  # Zenodo's reverse legacy table, quirks included
        ("CECILL-2.1", "cecill-2.1"),
        ("MIT-0", "mit-0"),
        ("etalab-2.0", "etalab-2.0"),
        ("CC-BY-3.0-DE", "cc-by-3.0-de"),
        ("CC-BY-SA-2.5", "cc-by-sa-2.5"),
        ("cc-by", "cc-by-4.0"),
        ("gpl-3.0+", "gpl-3.0-or-later"),
        ({"id": "MIT"}, "mit-license"),
    ],
)
def test_spdx_licences_any_case_and_their_read_back(client, sent, read):
    dep = client.create(valid_metadata(license=sent))
    assert dep["metadata"]["license"] == read


def test_read_back_forms(client):
    md = valid_metadata(
        language="de",
        thesis_supervisors=[{"name": "Curie, Marie"}],
        contributors=[{"name": "Doe, J", "type": "projectleader"}],
        related_identifiers=[{"identifier": "10.1/x", "relation": "issupplementto"}],
    )
    got = client.create(md)["metadata"]
    assert got["language"] == "deu"
    assert got["contributors"] == [
        {"name": "Curie, Marie", "type": "Supervisor"},
        {"name": "Doe, J", "type": "ProjectLeader"},
    ]
    assert got["related_identifiers"][0]["relation"] == "isSupplementTo"


def test_listing_queries(client):
    a = client.published()
    b = client.create(valid_metadata(title="Another soil survey"))
    ids = lambda q: sorted(d["id"] for d in client.get(DEP, params={"q": q}).json())  # noqa: E731
    assert ids(f"conceptrecid:{a['conceptrecid']}") == [a["id"]]
    assert ids(f"recid:{b['id']}") == [b["id"]]
    assert ids(f"doi:{a['doi']}") == [a["id"]]
    assert ids("doi:10.1000/elsewhere") == []
    assert ids('title:"another SOIL"') == [b["id"]]
    assert ids("soil") == sorted([a["id"], b["id"]])
    for sort in ("newest", "oldest", "mostrecent", "-mostrecent", "bestmatch"):
        assert client.get(DEP, params={"sort": sort}).status_code == 200
    bad = client.get(DEP, params={"sort": "random"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "sort"


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("my file (1).txt", "my_file_1.txt"),
        ("../../etc/passwd", "etc_passwd"),
        ("  données été.csv ", "donnees_ete.csv"),
        ("._hidden_", "hidden"),
        ("a\tb\nc", "a_b_c"),
        ("日本語", ""),
    ],
)
def test_secure_filename(given, safe):
    from maggot_zenodo.emulator.httpio import secure_filename

    assert secure_filename(given) == safe


def test_a_multipart_name_that_becomes_empty_is_refused(client):
    dep = client.create()
    r = client.post(f"{DEP}/{dep['id']}/files", files={"file": ("日本語", b"x")})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "file"
    assert client.get(f"{DEP}/{dep['id']}/files").json() == []


def test_state_json_of_an_older_emulator_is_taken_over(tmp_path, emulator_factory):
    import json

    data = tmp_path / "old"
    (data / "files").mkdir(parents=True)
    (data / "files" / "v1").write_bytes(b"old bytes")
    dep = {
        "id": 100001, "conceptrecid": 100000, "owner": 1234, "created": "2024-01-01T00:00:00",
        "modified": "2024-01-01T00:00:00", "metadata": {"title": "Old", "doi": "10.5281/zenodo.1"},
        "state": "unsubmitted", "submitted": False, "deleted": False, "bucket": "b-1",
        "files": [{"id": "f", "key": "a.txt", "size": 9, "md5": "m", "version_id": "v1",
                   "created": "x", "updated": "x"}],
        "doi": None, "published_metadata": None, "parent": None,
    }  # fmt: skip
    (data / "state.json").write_text(json.dumps({"next_id": 100002, "depositions": [dep]}))
    emu = emulator_factory(data_dir=data)
    assert [d["id"] for d in emu.state()["depositions"]] == [100001]
    assert emu.state()["depositions"][0]["metadata"] == {"title": "Old"}
    assert not (data / "state.json").exists() and (data / "state.json.imported").exists()
    new = Client(emu.base_url).create()
    assert new["id"] == 100003  # the counter carried over (a concept id, then the record id)
