"""The client-side rate limiter: its guarantee, checked on a simulated clock (no sleeping)."""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import Any

import pytest
from testkit import wait_for
from testkit.zenodo_client import make_client

from maggot_zenodo.zenodo.client import ZenodoUnavailable
from maggot_zenodo.zenodo.ratelimit import (
    Interrupted,
    RateLimiter,
    limiter_for,
    parse_retry_after,
)


class FakeTime:
    """A clock that only moves when the limiter sleeps or the test advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_700_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def wall_clock(self) -> float:
        return self.wall + (self.now - 1000.0)

    def sleep(self, seconds: float) -> bool:
        self.slept.append(seconds)
        self.now += seconds
        return False


def max_in_any_window(starts: list[float], window: float) -> int:
    best, current = 0, deque()
    for t in starts:
        current.append(t)
        while current[0] <= t - window:
            current.popleft()
        best = max(best, len(current))
    return best


def test_never_more_than_limit_in_any_window() -> None:
    ft = FakeTime()
    limiter = RateLimiter(7, 60.0, clock=ft.clock, wall_clock=ft.wall_clock)
    rng = random.Random(4)
    starts = []
    for _ in range(200):
        ft.now += rng.choice([0.0, 0.0, 0.5, 3.0, 11.0])
        limiter.acquire(ft.sleep)
        starts.append(ft.now)
    assert max_in_any_window(starts, 60.0) == 7
    # It waited only as much as needed: 200 starts at 7/minute need about 28 minutes.
    assert starts[-1] - starts[0] < 30 * 60


def test_first_requests_do_not_wait() -> None:
    ft = FakeTime()
    limiter = RateLimiter(3, 60.0, clock=ft.clock, wall_clock=ft.wall_clock)
    assert [limiter.acquire(ft.sleep) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire(ft.sleep) == pytest.approx(60.0)


def test_remaining_zero_pauses_until_reset() -> None:
    ft = FakeTime()
    limiter = RateLimiter(100, 60.0, clock=ft.clock, wall_clock=ft.wall_clock)
    reset = ft.wall_clock() + 42
    pause = limiter.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    assert pause == pytest.approx(42)
    limiter.acquire(ft.sleep)
    assert sum(ft.slept) == pytest.approx(42)


def test_retry_after_preferred_over_reset_when_exhausted() -> None:
    ft = FakeTime()
    limiter = RateLimiter(100, 60.0, clock=ft.clock, wall_clock=ft.wall_clock)
    headers = {
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(ft.wall_clock() + 500),
        "Retry-After": "7",
    }
    assert limiter.observe(headers) == pytest.approx(7)


def test_remaining_above_zero_imposes_nothing() -> None:
    ft = FakeTime()
    limiter = RateLimiter(100, 60.0, clock=ft.clock, wall_clock=ft.wall_clock)
    headers = {"X-RateLimit-Remaining": "3", "Retry-After": "60"}
    assert limiter.observe(headers) == 0.0
    assert limiter.delay() == 0.0


def test_absurd_reset_is_capped() -> None:
    ft = FakeTime()
    limiter = RateLimiter(100, 60.0, clock=ft.clock, wall_clock=ft.wall_clock)
    pause = limiter.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "99999999999"})
    assert pause == 3600.0


def test_interruptible_wait() -> None:
    limiter = RateLimiter(1, 60.0)
    limiter.acquire()
    stop = threading.Event()
    stop.set()
    with pytest.raises(Interrupted):
        limiter.acquire(stop.wait)


def test_shared_per_site_and_strictest_limit_wins() -> None:
    a = limiter_for("http://127.0.0.1:1/", 50, 123.0)
    b = limiter_for("HTTP://127.0.0.1:1", 20, 123.0)
    c = limiter_for("http://127.0.0.1:2", 20, 123.0)
    assert a is b
    assert a.limit == 20
    assert c is not a


def test_parse_retry_after() -> None:
    assert parse_retry_after("12") == 12
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", lambda: 1445412470.0) == 10.0
    assert parse_retry_after("-5") == 0.0


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RateLimiter(0)


# --------------------------------------------------------------------------- against the emulator
# The emulator counts requests per token in one-minute windows and answers 429 beyond its
# limit. Waiting out a minute would make slow tests, so each test lets the client reach the
# point where it must wait, checks what the emulator counted, then stops the client (the stop
# event interrupts the wait): no request can have slipped through, and none is timing-based.


def run_in_threads(calls: list[Any]) -> tuple[list[threading.Thread], list[BaseException]]:
    errors: list[BaseException] = []

    def run(call: Any) -> None:
        try:
            call()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    return threads, errors


def test_client_stays_under_its_configured_limit(emulator_factory: Any) -> None:
    emu = emulator_factory(rate_limit="5/min")
    stop = threading.Event()
    client = make_client(emu.base_url, rate_limit=5, stop=stop)
    threads, errors = run_in_threads([lambda: client.list(page_size=10)] * 8)
    assert wait_for(lambda: emu.state()["requests"]["total"] == 5)
    assert wait_for(lambda: client._limiter.delay() > 50)
    counted = emu.state()["requests"]
    stop.set()
    for t in threads:
        t.join(10)
    client.close()
    assert counted["total"] == 5 and "429" not in counted["by_status"]
    assert len(errors) == 3 and all(isinstance(e, ZenodoUnavailable) for e in errors)
    assert all("interrupted" in str(e) for e in errors)
    assert emu.state()["requests"]["total"] == 5


def test_client_follows_remaining_and_reset_headers(emulator_factory: Any) -> None:
    emu = emulator_factory(rate_limit="5/min")
    stop = threading.Event()
    client = make_client(emu.base_url, rate_limit=1000, stop=stop)
    for _ in range(5):  # the fifth answer says X-RateLimit-Remaining: 0
        client.list(page_size=10)
    assert 50 < client._limiter.delay() <= 61
    threads, errors = run_in_threads([lambda: client.get(1)])
    stop.set()
    threads[0].join(10)
    client.close()
    assert isinstance(errors[0], ZenodoUnavailable)
    state = emu.state()["requests"]
    assert state["total"] == 5 and "429" not in state["by_status"]


def test_limit_is_shared_by_clients_of_one_site(emulator: Any) -> None:
    stop = threading.Event()
    first = make_client(emulator.base_url, rate_limit=3, stop=stop)
    second = make_client(emulator.base_url, rate_limit=3, stop=stop)
    assert first._limiter is second._limiter
    first.list()
    second.list()
    first.list()
    threads, errors = run_in_threads([second.list])
    assert wait_for(lambda: first._limiter.delay() > 50)
    stop.set()
    threads[0].join(10)
    first.close()
    second.close()
    assert isinstance(errors[0], ZenodoUnavailable)
    assert emulator.state()["requests"]["total"] == 3
