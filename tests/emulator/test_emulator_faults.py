"""Fault injection (each kind, seeded reproducibility, spec forms) and the control endpoints."""

from __future__ import annotations

import time

import pytest
import requests
from testkit.emulator_http import DEP, Client, valid_metadata

from maggot_zenodo.emulator.faults import (
    CLASSIC,
    KINDS,
    TRANSIENT_4XX,
    FaultInjector,
    FaultSpecError,
    parse_spec,
)


@pytest.fixture
def client(emulator) -> Client:
    return Client(emulator.base_url)


def only(kind: str, **extra) -> dict:
    return {"rate": 1.0, "kinds": [kind], "count": 1, **extra}


@pytest.mark.parametrize("kind", ["500", "502", "503", "504"])
def test_5xx_faults_do_not_apply_the_request(emulator, client, kind):
    emulator.set_faults(only(kind))
    r = client.post(DEP, json={"metadata": valid_metadata()})
    assert r.status_code == int(kind)
    if kind == "500":
        assert r.json()["status"] == 500 and r.json()["error_id"]
    else:
        assert r.headers["Content-Type"] == "text/html" and b"<html>" in r.content
    assert emulator.state()["depositions"] == []
    assert emulator.state()["faults"]["injected"] == {kind: 1}
    assert client.post(DEP, json={}).status_code == 201  # count=1: the next one passes


def test_429_fault(emulator, client):
    emulator.set_faults(only("429"))
    r = client.post(DEP, json={})
    assert r.status_code == 429 and r.json()["status"] == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert emulator.state()["depositions"] == []


def test_reset_drops_the_connection_without_applying(emulator, client):
    emulator.set_faults(only("reset"))
    with pytest.raises(requests.exceptions.ConnectionError):
        client.post(DEP, json={"metadata": valid_metadata()})
    state = emulator.state()
    assert state["depositions"] == []
    assert state["requests"]["writes"] == 1 and state["faults"]["injected"] == {"reset": 1}
    assert client.get(DEP).status_code == 200  # the server itself is fine


def test_reset_mid_upload_keeps_the_previous_version(emulator, client):
    dep = client.create()
    assert client.upload(dep, "big.bin", b"old content").status_code == 201
    emulator.set_faults(only("reset_mid_upload"))
    payload = b"n" * (8 * 1024 * 1024)
    t0 = time.monotonic()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.upload(dep, "big.bin", payload)
    assert time.monotonic() - t0 < 20  # a reset, not a hang
    assert client.get(dep["links"]["bucket"] + "/big.bin").content == b"old content"
    files = emulator.state()["depositions"][0]["files"]
    assert [(f["filename"], f["filesize"]) for f in files] == [("big.bin", 11)]
    assert not list((emulator.data_dir / "tmp").iterdir())
    assert emulator.state()["faults"]["injected"] == {"reset_mid_upload": 1}


def test_reset_mid_upload_only_hits_uploads(emulator, client):
    emulator.set_faults({"rate": 1.0, "kinds": ["reset_mid_upload"]})
    dep = client.create()  # not an upload: no fault possible
    assert client.get(f"{DEP}/{dep['id']}").status_code == 200
    with pytest.raises(requests.exceptions.ConnectionError):
        client.upload(dep, "x.bin", b"x" * 100_000)


def test_slow_answers_correctly_after_a_delay(emulator, client):
    emulator.set_faults(only("slow", delay=[0.3, 0.3]))
    t0 = time.monotonic()
    r = client.post(DEP, json={})
    assert time.monotonic() - t0 >= 0.3
    assert r.status_code == 201 and len(emulator.state()["depositions"]) == 1


def test_after_commit_applies_then_answers_502(emulator, client):
    emulator.set_faults(only("after_commit"))
    r = client.post(DEP, json={"metadata": valid_metadata()})
    assert r.status_code == 502 and r.headers["Content-Type"] == "text/html"
    deps = emulator.state()["depositions"]
    assert [d["title"] for d in deps] == [valid_metadata()["title"]]


def test_control_endpoints_are_never_faulted(emulator, client):
    emulator.set_faults({"rate": 1.0, "kinds": ["500", "reset"]})
    for _ in range(5):
        assert requests.get(emulator.url("/_emulator/state"), timeout=10).status_code == 200
    r = requests.put(emulator.url("/_emulator/faults"), json={"rate": 0}, timeout=10)
    assert r.status_code == 200
    assert client.get(DEP).status_code == 200


def statuses(base_url: str, n: int) -> list[int]:
    client = Client(base_url)
    out = []
    for _ in range(n):
        try:
            out.append(client.get(DEP).status_code)
        except requests.exceptions.ConnectionError:
            out.append(-1)
    return out


def test_same_seed_same_faults(emulator):
    spec = {"rate": 0.5, "kinds": ["500", "503", "reset"], "seed": 7}
    requests.put(emulator.url("/_emulator/faults"), json=spec, timeout=10).raise_for_status()
    first = statuses(emulator.base_url, 30)
    requests.put(emulator.url("/_emulator/faults"), json=spec, timeout=10).raise_for_status()
    second = statuses(emulator.base_url, 30)
    assert first == second
    assert {200, 500, 503, -1} <= set(first)  # all kinds occurred at rate 0.5 over 30 draws
    requests.put(emulator.url("/_emulator/faults"), json={**spec, "seed": 8}, timeout=10)
    assert statuses(emulator.base_url, 30) != first


def test_fault_filters_methods_and_match(emulator, client):
    emulator.set_faults({"rate": 1.0, "kinds": ["503"], "methods": ["PUT"], "match": "/files/"})
    dep = client.create()
    assert client.get(f"{DEP}/{dep['id']}").status_code == 200
    assert client.put(f"{DEP}/{dep['id']}", json={"metadata": {}}).status_code == 200
    assert client.upload(dep, "a.txt", b"a").status_code == 503


def test_bad_fault_spec_is_400(emulator):
    r = requests.put(emulator.url("/_emulator/faults"), json={"kinds": ["boom"]}, timeout=10)
    assert r.status_code == 400 and "boom" in r.json()["message"]


def test_spec_forms():
    short = parse_spec("rate=0.2,kinds=502+reset,seed=3,delay=0.1-0.5")
    as_json = parse_spec('{"rate": 0.2, "kinds": ["502", "reset"], "seed": 3, "delay": [0.1, 0.5]}')
    assert short == as_json
    assert short.kinds == ("502", "reset") and short.seed == 3 and short.delay == (0.1, 0.5)
    assert parse_spec("rate=1", seed=9).seed == 9
    assert parse_spec({"rate": 0.5, "seed": 1}, seed=9).seed == 1
    for bad in ("rate=2", "kinds=teapot", "nonsense", '{"rat": 1}', "{"):
        with pytest.raises(FaultSpecError):
            parse_spec(bad)


def test_injector_is_deterministic_for_a_seed():
    def draws(seed: int) -> list:
        inj = FaultInjector(parse_spec({"rate": 0.3, "seed": seed}))
        return [inj.decide("PUT", "/api/files/b/k", upload=True) for _ in range(200)]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    kinds = {f.kind for f in draws(1) if f}
    assert kinds == set(parse_spec({}).kinds)


def test_state_counts_and_reset(emulator, client):
    dep = client.create(valid_metadata())
    client.upload(dep, "a.txt", b"abc")
    client.get(f"{DEP}/{dep['id']}")
    emulator.set_faults(only("500"))
    client.get(DEP)
    state = requests.get(emulator.url("/_emulator/state"), timeout=10).json()
    assert state["requests"] == {
        "total": 4,
        "by_status": {"201": 2, "200": 1, "500": 1},
        "by_method": {"POST": 1, "PUT": 1, "GET": 2},
        "writes": 2,
    }
    (d,) = state["depositions"]
    assert {k: d[k] for k in ("id", "state", "submitted", "title", "doi")} == {
        "id": dep["id"],
        "state": "unsubmitted",
        "submitted": False,
        "title": valid_metadata()["title"],
        "doi": None,
    }
    assert d["conceptrecid"] == int(dep["conceptrecid"]) and d["owner"] == dep["owner"]
    assert d["files"] == [
        {"filename": "a.txt", "filesize": 3, "checksum": "900150983cd24fb0d6963f7d28e17f72"}
    ]
    assert d["metadata"]["creators"] == valid_metadata()["creators"]
    assert state["faults"]["injected"] == {"500": 1}
    r = requests.post(emulator.url("/_emulator/reset"), timeout=10)
    assert r.status_code == 204
    state = emulator.state()
    assert state["depositions"] == [] and state["requests"]["total"] == 0
    assert state["faults"]["injected"] == {} and state["faults"]["spec"]["rate"] == 0
    assert client.get(f"{DEP}/{dep['id']}").status_code == 404
    assert not list((emulator.data_dir / "files").iterdir())


@pytest.mark.parametrize("data", [b"", b"x", iter([b"tiny"])])
def test_reset_mid_upload_drops_even_short_bodies(emulator, client, data):
    dep = client.create()
    emulator.set_faults(only("reset_mid_upload"))
    with pytest.raises(requests.exceptions.ConnectionError):
        client.put(dep["links"]["bucket"] + "/k", data=data)
    assert emulator.state()["depositions"][0]["files"] == []


def test_control_answers_carry_no_rate_headers_on_a_shared_connection(emulator, client):
    assert "X-RateLimit-Limit" in client.get(DEP).headers
    r = client.get("/_emulator/state")  # same session, same keep-alive connection
    assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers
    assert r.json()["requests"]["total"] == 1


# ----- Zenodo's transient faults that look final (issue #10 §2) ------------------------------
@pytest.mark.parametrize(
    ("kind", "status", "message"),
    [
        ("transfer_failed", 400, "The file upload transfer failed, please try again."),
        ("spurious_quota", 400, "Bucket quota exceeded."),
    ],
)
def test_transient_upload_faults_answer_zenodo_texts_and_store_nothing(
    emulator, client, kind, status, message
):
    dep = client.create()
    emulator.set_faults(only(kind))
    r = client.upload(dep, "small.txt", b"tiny")
    assert r.status_code == status and r.json() == {"status": status, "message": message}
    assert emulator.state()["depositions"][0]["files"] == []
    assert emulator.state()["faults"]["injected"] == {kind: 1}
    assert client.upload(dep, "small.txt", b"tiny").status_code == 201  # a retry succeeds


def test_spurious_413_on_a_tiny_upload(emulator, client):
    dep = client.create()
    emulator.set_faults(only("spurious_413"))
    r = client.upload(dep, "small.txt", b"x" * 1000)
    assert r.status_code == 413 and b"413 Request Entity Too Large" in r.content
    assert emulator.state()["depositions"][0]["files"] == []
    assert client.upload(dep, "small.txt", b"x" * 1000).status_code == 201


@pytest.mark.parametrize("kind", ["transfer_failed", "spurious_413", "spurious_quota"])
def test_upload_faults_never_hit_other_requests(emulator, client, kind):
    emulator.set_faults({"rate": 1.0, "kinds": [kind]})
    dep = client.create()
    assert client.get(f"{DEP}/{dep['id']}").status_code == 200
    assert client.put(f"{DEP}/{dep['id']}", json={"metadata": valid_metadata()}).status_code == 200
    assert emulator.state()["faults"]["injected"] == {}
    assert client.upload(dep, "a.txt", b"a").status_code in (400, 413)


def new_version_draft(client: Client) -> dict:
    record = client.published({"data.csv": b"a,b\n"})
    r = client.post(f"{DEP}/{record['id']}/actions/newversion")
    assert r.status_code == 201, r.text
    return client.get(f"{DEP}/{r.json()['id']}").json()


def test_newversion_403_hits_only_requests_to_a_fresh_version_draft(emulator, client):
    plain = client.create()
    draft = new_version_draft(client)
    emulator.set_faults({"rate": 1.0, "kinds": ["newversion_403"], "count": 3})
    assert client.get(f"{DEP}/{plain['id']}").status_code == 200  # not a version draft
    assert client.upload(plain, "p.txt", b"p").status_code == 201
    assert emulator.state()["faults"]["injected"] == {}
    r = client.get(f"{DEP}/{draft['id']}")
    assert r.status_code == 403 and r.json() == {"status": 403, "message": "Permission denied."}
    assert client.upload(draft, "new.txt", b"n").status_code == 403  # its bucket too
    r = client.put(f"{DEP}/{draft['id']}", json={"metadata": valid_metadata(title="Changed")})
    assert r.status_code == 403
    assert emulator.state()["faults"]["injected"] == {"newversion_403": 3}
    after = client.get(f"{DEP}/{draft['id']}").json()  # count reached: the draft is intact
    assert after["title"] == draft["title"] and [f["filename"] for f in after["files"]] == [
        "data.csv"
    ]


@pytest.mark.parametrize("route", ["deposition", "bucket"])
def test_draft_file_delete_500_keeps_the_file(emulator, client, route):
    plain = client.create()
    assert client.upload(plain, "p.txt", b"p").status_code == 201
    draft = new_version_draft(client)
    emulator.set_faults({"rate": 1.0, "kinds": ["draft_file_delete_500"], "count": 1})
    plain_file = client.get(f"{DEP}/{plain['id']}/files").json()[0]
    assert client.delete(f"{DEP}/{plain['id']}/files/{plain_file['id']}").status_code == 204
    assert client.get(f"{DEP}/{draft['id']}").status_code == 200  # not a deletion
    (entry,) = draft["files"]
    path = (
        f"{DEP}/{draft['id']}/files/{entry['id']}"
        if route == "deposition"
        else f"{draft['links']['bucket']}/{entry['filename']}"
    )
    r = client.delete(path)
    assert r.status_code == 500 and r.json()["error_id"]
    assert [f["filename"] for f in client.get(f"{DEP}/{draft['id']}").json()["files"]] == [
        "data.csv"
    ]
    assert client.delete(path).status_code == 204  # count=1: the retry deletes
    assert client.get(f"{DEP}/{draft['id']}").json()["files"] == []


def test_new_kinds_are_seeded_and_reproducible(emulator):
    spec = {"rate": 0.5, "kinds": ["transfer_failed", "spurious_413", "spurious_quota"], "seed": 4}

    def run() -> list[int]:
        emulator.reset()
        client = Client(emulator.base_url)
        dep = client.create()
        emulator.set_faults(spec)
        return [client.upload(dep, f"f{i}.txt", b"x" * i).status_code for i in range(30)]

    first = run()
    assert first == run()
    assert {201, 400, 413} <= set(first)


def test_default_kinds_stay_the_classic_nine():
    assert parse_spec({"rate": 0.1}).kinds == CLASSIC
    assert set(parse_spec("kinds=newversion_403+spurious_413").kinds) == {
        "newversion_403",
        "spurious_413",
    }
    assert set(KINDS) == set(CLASSIC) | set(TRANSIENT_4XX) and len(TRANSIENT_4XX) == 5
