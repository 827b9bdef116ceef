"""Datasets counted by state, from the journal: what `status`, `status --check` and the
Prometheus metrics report.

The counts come from the journal rather than from a running daemon's memory, so they mean
the same thing after a restart and whether or not the daemon runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

#: The states every report lists, zero or not, in this order; any other state the journal
#: holds (a newer version's) is listed after them rather than dropped.
STATES = ("queued", "publishing", "draft", "published", "failed", "baselined")
#: States in which a semaphore still awaits its publication.
PENDING = ("queued", "publishing")


class SummarySource(Protocol):
    """What a summary needs of the journal (``state.journal.Journal`` has both)."""

    def counts_by_state(self) -> dict[str, int]: ...

    def oldest_pending(self, states: tuple[str, ...] = PENDING) -> float | None: ...


@dataclass(frozen=True)
class Summary:
    """Counts by state (known states first), their total, and how long the oldest pending
    dataset has waited (None: nothing pending)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATES, 0))
    oldest_pending_age: float | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)

    def as_dict(self) -> dict[str, Any]:
        """The ``summary`` object of ``status --json``."""
        age = self.oldest_pending_age
        return {
            "counts": dict(self.counts),
            "total": self.total,
            "oldest_pending_age": None if age is None else round(age, 1),
        }

    def perfdata(self) -> str:
        """Nagios performance data: ``queued=0 … oldest_pending=0s``."""
        parts = [f"{_label(state)}={n}" for state, n in self.counts.items()]
        parts.append(f"oldest_pending={round(self.oldest_pending_age or 0)}s")
        return " ".join(parts)

    def text(self) -> str:
        """One line for people: ``5 datasets: 1 queued, … ; oldest pending 2m 5s``."""
        noun = "dataset" if self.total == 1 else "datasets"
        counts = ", ".join(f"{n} {state}" for state, n in self.counts.items())
        line = f"{self.total} {noun}: {counts}"
        if self.oldest_pending_age is not None:
            line += f"; oldest pending {human_age(self.oldest_pending_age)}"
        return line


def summarize(journal: SummarySource, now: float | None = None) -> Summary:
    """The summary of what ``journal`` holds now."""
    held = journal.counts_by_state()
    counts = {state: held.get(state, 0) for state in STATES}
    counts.update({state: n for state, n in sorted(held.items()) if state not in counts})
    oldest = journal.oldest_pending(PENDING)
    now = time.time() if now is None else now
    age = None if oldest is None else max(0.0, now - oldest)
    return Summary(counts=counts, oldest_pending_age=age)


def human_age(seconds: float) -> str:
    """``45s``, ``2m 5s``, ``3h 10m``, ``2d 4h``: an age a person reads at a glance."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60}s"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def _label(state: str) -> str:
    """A perfdata label: no spaces, quotes or '=' (a state name from the journal is data)."""
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in state) or "unknown"
