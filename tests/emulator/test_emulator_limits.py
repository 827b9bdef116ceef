"""File limits, token restrictions and rate limits (headers on every answer, 429s)."""

from __future__ import annotations

import time

from testkit.emulator_http import DEP, Client

from maggot_zenodo.emulator.ratelimit import RateLimiter, parse_rate

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


def test_max_files_per_record(emulator_factory):
    emu = emulator_factory(max_files=3)
    client = Client(emu.base_url)
    dep = client.create()
    for i in range(3):
        assert client.upload(dep, f"f{i}.txt", b"x").status_code == 201
    r = client.upload(dep, "f3.txt", b"x")
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Uploading selected files will result in exceeding the max amount per record."
    )
    # replacing an existing key is still allowed at the limit
    assert client.upload(dep, "f0.txt", b"yy").status_code == 201
    assert len(client.get(f"{DEP}/{dep['id']}/files").json()) == 3


def test_max_file_size_with_length_and_chunked(emulator_factory):
    emu = emulator_factory(max_file_size=1000)
    client = Client(emu.base_url)
    dep = client.create()
    assert client.upload(dep, "ok.bin", b"x" * 1000).status_code == 201
    r = client.upload(dep, "big.bin", b"x" * 1001)
    assert r.status_code == 400 and r.json()["message"] == "Maximum file size exceeded."
    r = client.put(dep["links"]["bucket"] + "/big2.bin", data=iter([b"x" * 600, b"x" * 600]))
    assert r.status_code == 400 and r.json()["message"] == "Maximum file size exceeded."
    names = [f["filename"] for f in client.get(f"{DEP}/{dep['id']}/files").json()]
    assert names == ["ok.bin"]
    assert not list((emu.data_dir / "tmp").iterdir())


def test_bucket_quota(emulator_factory):
    emu = emulator_factory(quota=1500)
    client = Client(emu.base_url)
    dep = client.create()
    assert client.upload(dep, "a.bin", b"x" * 1000).status_code == 201
    r = client.upload(dep, "b.bin", b"x" * 600)
    assert r.status_code == 400 and r.json()["message"] == "Bucket quota exceeded."


def test_configured_tokens_only(emulator_factory):
    emu = emulator_factory(tokens=("alpha", "beta"))
    assert Client(emu.base_url, token="alpha").post(DEP, json={}).status_code == 201
    r = Client(emu.base_url, token="gamma").post(DEP, json={})
    assert r.status_code == 403 and r.json() == {"status": 403, "message": "Permission denied."}
    # two accepted tokens are two users
    assert Client(emu.base_url, token="beta").get(DEP).json() == []


def test_owner_is_stable_per_token(emulator):
    a = Client(emulator.base_url, token="tok-a").create()
    a2 = Client(emulator.base_url, token="tok-a").create()
    b = Client(emulator.base_url, token="tok-b").create()
    assert a["owner"] == a2["owner"] != b["owner"]
    assert "tok-a" not in str(emulator.state())


def test_rate_limit_headers_on_every_answer(emulator):
    client = Client(emulator.base_url)
    before = time.time()
    for r in (client.get(DEP), client.post(DEP, data=b"{bad"), client.get(f"{DEP}/1")):
        for name in RATE_HEADERS:
            assert name in r.headers, (r.status_code, name)
        assert r.headers["X-RateLimit-Limit"] == "1000"
        assert before <= int(r.headers["X-RateLimit-Reset"]) <= time.time() + 61
    assert int(r.headers["X-RateLimit-Remaining"]) == 997
    anon = Client(emulator.base_url, token=None).get(DEP)
    assert anon.status_code == 403 and "X-RateLimit-Remaining" in anon.headers


def test_429_beyond_rate_limit_per_token(emulator_factory):
    emu = emulator_factory(rate_limit="5/min")
    client = Client(emu.base_url)
    remaining = [int(client.get(DEP).headers["X-RateLimit-Remaining"]) for _ in range(5)]
    assert remaining == [4, 3, 2, 1, 0]
    r = client.post(DEP, json={})
    assert r.status_code == 429
    assert r.json() == {"status": 429, "message": "5 per 1 minute"}
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert emu.state()["depositions"] == []  # the refused POST did not create anything
    # another token has its own budget
    assert Client(emu.base_url, token="other").get(DEP).status_code == 200
    assert emu.state()["requests"]["by_status"]["429"] == 1


def test_rate_limiter_window_rolls_over():
    now = [1000.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert [limiter.hit("t").allowed for _ in range(3)] == [True, True, False]
    verdict = limiter.hit("t")
    assert verdict.headers["Retry-After"] == "60" and verdict.headers["X-RateLimit-Reset"] == "1060"
    now[0] += 60
    assert limiter.hit("t").allowed
    assert parse_rate("100/min") == parse_rate("100") == parse_rate(100) == 100
    assert parse_rate(None) == 1000
