"""The one way a test waits: poll a condition against a deadline, never a blind sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class WaitTimeout(AssertionError, TimeoutError):
    """A condition not met in time: a test failure, and a TimeoutError for fixtures that
    turn a host that cannot do the job (the e2e container boot) into a skip."""


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    what: str = "condition",
    *,
    step: float = 0.02,
    fail: bool = True,
) -> T:
    """Poll ``predicate`` until it returns something true and return that value.

    After ``timeout`` seconds: a :class:`WaitTimeout` naming ``what``, or with ``fail=False`` the
    last (false) value, for tests that only hope for an event and go on either way.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            if fail:
                raise WaitTimeout(f"timed out after {timeout:g} s waiting for {what}")
            return value  # type: ignore[return-value]  # the false value was asked for
        time.sleep(step)
