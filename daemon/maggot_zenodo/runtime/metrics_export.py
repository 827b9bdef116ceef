"""Publish the daemon's metrics: a node-exporter textfile and/or an HTTP ``/metrics`` endpoint.

Off unless ``metrics.textfile`` or ``metrics.listen`` is configured. One thread refreshes the
journal gauges (datasets per state, oldest pending) every ``metrics.interval`` seconds and
rewrites the textfile atomically (temp file + rename, so node exporter never reads half a
file); prometheus-client's own server answers scrapes from the registry. The journal is read
by that one thread only: a scrape opens no database connection. A metrics failure is logged
and never stops the daemon: publishing datasets matters more than counting them.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from prometheus_client import start_http_server, write_to_textfile

from maggot_zenodo import metrics
from maggot_zenodo.logs import get_logger
from maggot_zenodo.metrics_config import MetricsConfig
from maggot_zenodo.state.summary import SummarySource, summarize

log = get_logger("maggot_zenodo.runtime.metrics")


class MetricsExporter:
    """The refresh thread and the HTTP server for one daemon process."""

    def __init__(self, settings: MetricsConfig, journal: SummarySource) -> None:
        self.settings = settings
        self.journal = journal
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._server: Any = None
        self._last_problem: str | None = None

    def start(self) -> None:
        self.refresh()
        if self.settings.listen is not None:
            host, port = self.settings.listen
            try:
                started = start_http_server(port, addr=host, registry=metrics.REGISTRY)
            except OSError as exc:
                log.error(
                    f"metrics endpoint {host}:{port}: {exc.strerror or exc}; not serving metrics",
                    listen=f"{host}:{port}",
                )
            else:
                self._server = started[0] if started else None
                log.info(f"metrics served on http://{host}:{port}/metrics", port=port)
        self._thread = threading.Thread(
            target=self._loop, name="maggot-zenodo-metrics", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.settings.interval):
            self.refresh()

    def refresh(self) -> None:
        """Read the journal into the gauges, then rewrite the textfile (when configured)."""
        try:
            summary = summarize(self.journal)
            metrics.set_datasets(summary.counts, summary.oldest_pending_age)
            if self.settings.textfile is not None:
                write_to_textfile(str(self.settings.textfile), metrics.REGISTRY)
        except Exception as exc:
            self._problem(exc)
        else:
            self._last_problem = None

    def _problem(self, exc: Exception) -> None:
        """Log a failure once, not at every refresh while it lasts."""
        text = getattr(exc, "strerror", None) or str(exc) or exc.__class__.__name__
        where = self.settings.textfile or "journal"
        if text != self._last_problem:
            log.warning(f"metrics not updated: {where}: {text}", error=text)
        self._last_problem = text

    def stop(self) -> None:
        """Stop the thread and the server; write the textfile a last time."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.refresh()
        if self._server is not None:
            with contextlib.suppress(Exception):
                self._server.shutdown()
                self._server.server_close()


_running: MetricsExporter | None = None


def start(settings: MetricsConfig, journal: SummarySource) -> MetricsExporter | None:
    """Start exporting when the configuration asks for it (one exporter per process)."""
    global _running
    if not settings.enabled or _running is not None:
        return _running
    _running = MetricsExporter(settings, journal)
    _running.start()
    return _running


def stop() -> None:
    """Stop the process's exporter, if one runs (before the journal is closed)."""
    global _running
    exporter, _running = _running, None
    if exporter is not None:
        exporter.stop()
