"""Seeded fault injection for the Dataverse emulator.

Transport faults (``500 502 503 504 429 reset slow after_commit``) hit any ``/api/`` request;
behaviour faults apply to the requests they concern and let the request succeed:
``lingering_lock`` (an upload or a publication holds its lock for long), ``async_publish``
(finalisation takes a while after the 200) and ``lagging_index`` (search learns of a change
late). Spec: ``{"rate": 0.2, "kinds": [...], "seed": 1, "count": N, "match": "/add"}`` or the
short form ``rate=0.2,kinds=502+lagging_index,seed=3``.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

TRANSPORT = ("500", "502", "503", "504", "429", "reset", "slow", "after_commit")
BEHAVIOUR = ("lingering_lock", "async_publish", "lagging_index")
KINDS = TRANSPORT + BEHAVIOUR
_APPLIES = {
    "lingering_lock": ("/add", "/actions/:publish"),
    "async_publish": ("/actions/:publish",),
    "lagging_index": ("/datasets", "/versions/:draft", "/add", "/actions/:publish"),
}


@dataclass(frozen=True)
class FaultSpec:
    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    seed: int | None = None
    count: int | None = None
    match: str = ""
    delay: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_spec(spec: str | dict[str, Any] | None, seed: int | None = None) -> FaultSpec:
    """A spec from JSON, the short form or a dict; ValueError with the reason otherwise."""
    if spec is None:
        return FaultSpec(seed=seed)
    raw: dict[str, Any]
    if isinstance(spec, str):
        text = spec.strip()
        if text.startswith("{"):
            raw = json.loads(text)
        else:
            raw = {}
            for part in filter(None, (p.strip() for p in text.split(","))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise ValueError(f"expected key=value in fault spec, got {part!r}")
                raw[key] = value.split("+") if key == "kinds" else value
    else:
        raw = dict(spec)
    unknown = set(raw) - {"rate", "kinds", "seed", "count", "match", "delay"}
    if unknown:
        raise ValueError(f"unknown fault spec keys: {sorted(unknown)}")
    kinds = tuple(str(k) for k in raw.get("kinds", KINDS))
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown fault kinds {bad}; known: {', '.join(KINDS)}")
    rate = float(raw.get("rate", 0.0))
    if not 0.0 <= rate <= 1.0:
        raise ValueError("fault rate must be between 0 and 1")
    seed_value = raw.get("seed", seed)
    count = raw.get("count")
    return FaultSpec(
        rate=rate,
        kinds=kinds,
        seed=None if seed_value is None else int(seed_value),
        count=None if count is None else int(count),
        match=str(raw.get("match", "")),
        delay=float(raw.get("delay", 0.5)),
    )


class FaultInjector:
    """One draw per eligible request (thread-safe, reproducible for a seed)."""

    def __init__(self, spec: FaultSpec) -> None:
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()
        self.configure(spec)

    def configure(self, spec: FaultSpec) -> None:
        with self._lock:
            self.spec = spec
            self._rng = random.Random(spec.seed)

    def clear(self) -> None:
        self.configure(FaultSpec())
        with self._lock:
            self.injected.clear()

    def decide(self, method: str, path: str) -> str | None:
        with self._lock:
            spec = self.spec
            if spec.rate <= 0 or not spec.kinds or spec.match not in path:
                return None
            if spec.count is not None and sum(self.injected.values()) >= spec.count:
                return None
            eligible = [
                k
                for k in spec.kinds
                if k in TRANSPORT or (method != "GET" and any(p in path for p in _APPLIES[k]))
            ]
            if not eligible or self._rng.random() >= spec.rate:
                return None
            kind = self._rng.choice(eligible)
            self.injected[kind] += 1
            return kind

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)
