"""Keeping the watcher alive: a watcher whose thread died is noticed, logged, and restarted.

The decision is a small state machine, apart from the threads it judges: the daemon asks it
at every tick, with the watcher's liveness and the time, what to do. While a watcher is dead
the daemon's health check fails, so the systemd watchdog is not fed; restarts back off
(1 s, 2 s, 4 s, ... up to a minute) so a watcher that dies at once does not spin, and a
watcher that stayed up for ``stable`` seconds starts the backoff afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

from maggot_zenodo import backoff

OK, DIED, WAITING, RESTART = "ok", "died", "waiting", "restart"


@dataclass
class WatcherSupervisor:
    base: float = 1.0
    cap: float = 60.0
    stable: float = 300.0
    restarts: int = 0
    dead_since: float | None = None
    due: float = 0.0
    ready_at: float | None = None

    def ready(self, now: float) -> None:
        """A watcher (the first, or a restarted one) is ready."""
        self.ready_at = now

    def observe(self, alive: bool, now: float) -> str:
        """``ok``; ``died`` (just noticed: log it, ``delay()`` says when the restart comes);
        ``waiting`` (dead, restart not due yet); ``restart`` (restart it now)."""
        if alive:
            self.dead_since = None
            if self.restarts and self.ready_at is not None and now - self.ready_at >= self.stable:
                self.restarts = 0
            return OK
        if self.dead_since is None:
            self.dead_since = now
            self.due = now + self.delay()
            return DIED
        if now < self.due:
            return WAITING
        self.restarts += 1
        self.dead_since = None
        return RESTART

    def delay(self) -> float:
        """Seconds from noticing a death to the restart."""
        return backoff.exponential(self.restarts + 1, self.base, self.cap)
