"""The daemon's Prometheus metrics, in a registry of its own.

A bottom module: the Zenodo client, the publish workflow and the worker pool count what they
do with one call each (counting costs a lock and an addition, exported or not); the runtime's
exporter (``runtime/metrics_export.py``) refreshes the journal gauges and publishes the
registry as a node-exporter textfile and/or over HTTP, when the configuration asks for it.
The process-wide default registry is not used, so no other library's metrics leak in.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)

# The `*_created` series (when each counter began) only double the output; a scraper reads a
# restart from the counters' reset anyway.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus-client
REGISTRY = CollectorRegistry(auto_describe=True)

UPLOADS = Counter(
    "maggot_zenodo_uploads",
    "Files uploaded to Zenodo and verified against the server's checksum.",
    registry=REGISTRY,
)
UPLOADED_BYTES = Counter(
    "maggot_zenodo_uploaded_bytes",
    "Bytes of the files uploaded to Zenodo and verified.",
    registry=REGISTRY,
)
ANSWERS = Counter(
    "maggot_zenodo_zenodo_responses",
    "Answers received from Zenodo, by HTTP status code.",
    ["code"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "maggot_zenodo_retries",
    "Datasets put back to try again later (Zenodo unavailable, the network down).",
    registry=REGISTRY,
)
DATASETS = Gauge(
    "maggot_zenodo_datasets",
    "Datasets the journal holds, by state.",
    ["state"],
    registry=REGISTRY,
)
OLDEST_PENDING = Gauge(
    "maggot_zenodo_oldest_pending_seconds",
    "How long the oldest queued or publishing dataset has waited (0: none pending).",
    registry=REGISTRY,
)

_states_lock = threading.Lock()
_states_seen: set[str] = set()


def count_answer(status: int) -> None:
    """One answer from Zenodo with HTTP ``status``."""
    ANSWERS.labels(code=str(status)).inc()


def count_upload(size: int) -> None:
    """One file of ``size`` bytes uploaded and verified."""
    UPLOADS.inc()
    UPLOADED_BYTES.inc(max(0, size))


def count_retry() -> None:
    """One dataset scheduled to be tried again later."""
    RETRIES.inc()


def set_datasets(counts: Mapping[str, int], oldest_pending_age: float | None) -> None:
    """The journal gauges; a state seen before and now absent drops to 0 (not to a stale
    value, and not out of the series)."""
    with _states_lock:
        _states_seen.update(counts)
        for state in sorted(_states_seen):
            DATASETS.labels(state=state).set(counts.get(state, 0))
    OLDEST_PENDING.set(oldest_pending_age or 0.0)


def exposition() -> bytes:
    """The registry in Prometheus' text format."""
    return generate_latest(REGISTRY)
