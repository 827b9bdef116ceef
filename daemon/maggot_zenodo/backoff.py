"""One backoff rule for every retry loop: exponential, capped, optionally with full jitter.

A bottom module (no imports from the package).
"""

from __future__ import annotations

import random


def exponential(attempt: int, base: float, cap: float) -> float:
    """Delay before retry number ``attempt`` (1, 2, ...): base, 2×base, 4×base, ... ≤ cap."""
    return min(cap, base * float(2 ** max(0, attempt - 1)))


def full_jitter(attempt: int, base: float, cap: float) -> float:
    """A uniform delay in [0, exponential(attempt)]: retries of many clients do not line up."""
    return random.uniform(0.0, exponential(attempt, base, cap))
