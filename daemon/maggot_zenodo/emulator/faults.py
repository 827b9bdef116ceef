"""Seeded, reproducible fault injection for ``/api/`` requests.

A spec is JSON (``{"rate": 0.2, "kinds": ["502", "reset"], "seed": 1}``) or the short form
``rate=0.2,kinds=502+reset,seed=3``. Optional keys: ``delay`` (seconds for ``slow``, a number or
``[min, max]``; short form ``delay=0.2-1``), ``count`` (inject at most this many faults),
``methods`` (only these HTTP methods) and ``match`` (only paths containing this text).
The same seed and the same request sequence give the same faults.

``kinds`` defaults to the nine classic kinds (so older specs draw as before); the kinds that
mimic Zenodo's transient 4xx answers are drawn only when named, and only on the requests they
concern: bucket uploads (``transfer_failed``, ``spurious_413``, ``spurious_quota``), requests to
an unpublished new-version draft (``newversion_403``), deletions of a file of such a draft
(``draft_file_delete_500``).
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

CLASSIC = ("500", "502", "503", "504", "429", "reset", "reset_mid_upload", "slow", "after_commit")
# Zenodo's transient faults that come back as 4xx (or a 500 on one route), see ZENODO-API.md.
TRANSIENT_4XX = (
    "transfer_failed",
    "spurious_413",
    "spurious_quota",
    "newversion_403",
    "draft_file_delete_500",
)
KINDS = CLASSIC + TRANSIENT_4XX
# Kinds that only make sense on some requests; a request outside them is not drawn for them.
UPLOAD_ONLY = frozenset({"reset_mid_upload", "transfer_failed", "spurious_413", "spurious_quota"})


class FaultSpecError(ValueError):
    """A fault spec that cannot be understood."""


@dataclass(frozen=True)
class FaultSpec:
    rate: float = 0.0
    kinds: tuple[str, ...] = ()
    seed: int | None = None
    delay: tuple[float, float] = (0.2, 1.0)
    count: int | None = None
    methods: tuple[str, ...] = ()
    match: str = ""


@dataclass(frozen=True)
class Target:
    """What a request touches, as far as faults care (decided by the server before drawing)."""

    upload: bool = False
    version_draft: bool = False
    file_delete: bool = False

    def allows(self, kind: str) -> bool:
        if kind in UPLOAD_ONLY:
            return self.upload
        if kind == "newversion_403":
            return self.version_draft
        if kind == "draft_file_delete_500":
            return self.version_draft and self.file_delete
        return True


@dataclass(frozen=True)
class Fault:
    kind: str
    delay: float = 0.0


def _short_form(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep:
            raise FaultSpecError(f"expected key=value in fault spec, got {part!r}")
        key = key.strip()
        if key in ("kinds", "methods"):
            out[key] = [v for v in value.split("+") if v]
        elif key == "delay":
            lo, _, hi = value.partition("-")
            out[key] = [float(lo), float(hi or lo)]
        else:
            out[key] = value
    return out


def parse_spec(spec: str | dict[str, Any] | FaultSpec | None, seed: int | None = None) -> FaultSpec:
    """Read a spec in JSON, short or dict form; ``seed`` applies when the spec has none."""
    if spec is None:
        return FaultSpec(seed=seed)
    if isinstance(spec, FaultSpec):
        return spec
    if isinstance(spec, str):
        text = spec.strip()
        try:
            raw = json.loads(text) if text.startswith("{") else _short_form(text)
        except (json.JSONDecodeError, ValueError) as exc:
            raise FaultSpecError(f"invalid fault spec: {exc}") from None
    else:
        raw = dict(spec)
    unknown = set(raw) - {"rate", "kinds", "seed", "delay", "count", "methods", "match"}
    if unknown:
        raise FaultSpecError(f"unknown fault spec keys: {sorted(unknown)}")
    try:
        kinds = tuple(str(k) for k in raw.get("kinds", CLASSIC))
        rate = float(raw.get("rate", 0.0))
        delay_raw = raw.get("delay", (0.2, 1.0))
        if isinstance(delay_raw, (int, float)):
            delay_raw = (delay_raw, delay_raw)
        delay = (float(delay_raw[0]), float(delay_raw[-1]))
        seed_value = raw.get("seed", seed)
        count = raw.get("count")
        parsed = FaultSpec(
            rate=rate,
            kinds=kinds,
            seed=None if seed_value is None else int(seed_value),
            delay=delay,
            count=None if count is None else int(count),
            methods=tuple(m.upper() for m in raw.get("methods", ())),
            match=str(raw.get("match", "")),
        )
    except (TypeError, ValueError, IndexError) as exc:
        raise FaultSpecError(f"invalid fault spec: {exc}") from None
    bad = [k for k in parsed.kinds if k not in KINDS]
    if bad:
        raise FaultSpecError(f"unknown fault kinds {bad}; known: {', '.join(KINDS)}")
    if not 0.0 <= parsed.rate <= 1.0:
        raise FaultSpecError("fault rate must be between 0 and 1")
    return parsed


@dataclass
class FaultInjector:
    """Decides, request by request, whether to inject a fault (thread-safe)."""

    spec: FaultSpec = field(default_factory=FaultSpec)
    injected: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(self.spec.seed)

    def configure(self, spec: FaultSpec) -> None:
        with self._lock:
            self.spec = spec
            self._rng = random.Random(spec.seed)

    def clear(self) -> None:
        self.configure(FaultSpec())
        with self._lock:
            self.injected.clear()

    def decide(
        self, method: str, path: str, target: Target | None = None, *, upload: bool = False
    ) -> Fault | None:
        """One draw per eligible request (one with at least one kind that fits ``target``);
        ``upload=True`` alone is short for ``Target(upload=True)``."""
        target = target or Target(upload=upload)
        with self._lock:
            spec = self.spec
            if spec.rate <= 0 or not spec.kinds:
                return None
            if spec.count is not None and sum(self.injected.values()) >= spec.count:
                return None
            if (spec.methods and method not in spec.methods) or spec.match not in path:
                return None
            kinds = [k for k in spec.kinds if target.allows(k)]
            if not kinds or self._rng.random() >= spec.rate:
                return None
            kind = self._rng.choice(kinds)
            delay = self._rng.uniform(*spec.delay) if kind == "slow" else 0.0
            self.injected[kind] += 1
            return Fault(kind, delay)

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.injected)
