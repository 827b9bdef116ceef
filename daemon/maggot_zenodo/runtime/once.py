"""``maggot-zenodo run --once``: publish what is pending, then exit."""

from __future__ import annotations

from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.logs import get_logger
from maggot_zenodo.runtime.engine import SKIPPED, Runtime
from maggot_zenodo.runtime.scan import pending_datasets
from maggot_zenodo.runtime.startup import hold, refuse_bad_environment

log = get_logger("maggot_zenodo.runtime.once")


def run_once(config: Config) -> int:
    """Publish every dataset awaiting processing, then exit: 0 when all succeeded, else 1."""
    if refuse_bad_environment(config):
        return EXIT_USAGE
    held = hold(config)
    if held is None:
        return EXIT_FAILED
    runtime: Runtime | None = None
    try:
        runtime = Runtime(config, retries=False)
        runtime.install_signals(reload=False)
        runtime.ensure_baseline()
        pending = list(pending_datasets(config, runtime.journal))
        for folder, reason in pending:
            log.info("pending", dataset=runtime.rel(folder), reason=reason)
        runtime.pool.start()
        runtime.settler.start()
        for folder, reason in pending:
            if not runtime.trigger(folder, reason):
                runtime.record(SKIPPED)  # handled meanwhile (or its semaphore went)
        interrupted = False
        while runtime.outcome_counts().total() < len(pending):
            lost = held.keep()
            if lost is not None:
                log.error(f"stopping: {lost}", error=lost)
                runtime.stop_requested = True
            if runtime.stop_requested:
                interrupted = True
                runtime.drain()
                break
            runtime.wakeup.wait(1.0)
        o = runtime.outcome_counts()
        summary = f"{o['published']} published, {o['draft']} draft, {o['failed']} failed"
        if interrupted:
            finished = o["published"] + o["draft"] + o["failed"] + o[SKIPPED]
            summary += f", {len(pending) - finished} not processed (interrupted)"
        print(summary, flush=True)
        ok = not interrupted and o["failed"] == 0
        return EXIT_OK if ok else EXIT_FAILED
    finally:
        if runtime is not None:
            runtime.pool.close()
            runtime.close()
        held.release()
