"""The daemon runtime's entry points: ``run``, ``run --once`` and ``scan``.

The pieces live in their own modules: ``scan`` (what awaits processing), ``engine`` (the
wakeup pipe and the Runtime: settle, queue, workers), ``startup`` (environment, lock and lease
checks), ``once`` (``run --once``) and ``daemon`` (``run``). This module names them for the
CLI.
"""

from __future__ import annotations

from maggot_zenodo.runtime.daemon import Daemon, WatcherFailed, config_changes, run_daemon
from maggot_zenodo.runtime.engine import SKIPPED, Runtime, Wakeup
from maggot_zenodo.runtime.once import run_once
from maggot_zenodo.runtime.scan import pending_datasets, pending_reason, relative, run_scan

__all__ = [
    "SKIPPED",
    "Daemon",
    "Runtime",
    "Wakeup",
    "WatcherFailed",
    "config_changes",
    "pending_datasets",
    "pending_reason",
    "relative",
    "run_daemon",
    "run_once",
    "run_scan",
]
