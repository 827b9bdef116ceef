"""Every configured repository for one dataset, each independently: one failing never holds
the other back (#14 §1). The service, ``run --once``, ``publish`` and ``retry`` go through here.

A semaphore request is handled once *every* configured repository handled it
(``Journal.is_pending``); a job that retries after one repository failed runs only the ones
still pending, so the other is not asked again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from maggot_zenodo.config import Config
from maggot_zenodo.constants import DATAVERSE_STATUS_FILE, STATUS_FILE
from maggot_zenodo.publish.deposit import ProgressFactory
from maggot_zenodo.publish.workflow import Outcome, Publisher
from maggot_zenodo.repositories import DATAVERSE, ZENODO, configured, zenodo_configured
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import Journal

# The Dataverse workflow is imported at its first run: a Zenodo-only start, whose READY waits
# for the imports, does not pay for it.
if TYPE_CHECKING:
    from maggot_zenodo.publish.dataverse_workflow import ClientFactory

STATUS_FILES = {ZENODO: STATUS_FILE, DATAVERSE: DATAVERSE_STATUS_FILE}

__all__ = [
    "DATAVERSE",
    "ZENODO",
    "combined",
    "configured",
    "is_pending",
    "note_next_attempt",
    "pending",
    "publish_all",
    "register",
    "write_queued",
    "zenodo_configured",
]


def pending(journal: Journal, config: Config, folder: Path, fingerprint: str | None) -> list[str]:
    """The configured repositories that have not handled ``fingerprint`` of ``folder`` (all
    of them when there is no fingerprint: a run asked for by hand)."""
    repos = configured(config)
    if fingerprint is None:
        return list(repos)
    done = journal.handled_by(folder, fingerprint)
    return [name for name, url in repos.items() if url not in done]


def is_pending(journal: Journal, config: Config, folder: Path, fingerprint: str) -> bool:
    """Whether the semaphore ``fingerprint`` of ``folder`` still awaits some repository."""
    return bool(pending(journal, config, folder, fingerprint))


def register(config: Config, journal: Journal, *, site_ran_before: bool) -> dict[str, int]:
    """Record the configured repositories in the journal; for each one new on a site that
    already ran, how many handled semaphores it will not receive (``storage.existing:
    publish`` sends them all instead)."""
    old = site_ran_before and config.storage.existing != "publish"
    added: dict[str, int] = {}
    for name, url in configured(config).items():
        count = journal.add_repository(url, handled_are_old=old)
        if count:
            added[name] = count
    return added


def write_queued(config: Config, folder: Path, names: list[str]) -> None:
    """Tell the researcher, in each repository's status file, that the dataset waits."""
    semaphore = config.storage.semaphore
    if ZENODO in names:
        statusfile.write_queued(folder, semaphore=semaphore)
    if DATAVERSE in names:
        from maggot_zenodo.publish import dataverse_workflow

        dataverse_workflow.write_queued(folder, semaphore)


def note_next_attempt(folder: Path, names: list[str], when: float) -> None:
    """Each of these repositories' status files (a retryable failure) names the retry's time."""
    for name in names:
        statusfile.note_next_attempt(folder, when, name=STATUS_FILES[name])


def publish_all(
    publisher: Publisher,
    folder: Path,
    *,
    fingerprint: str | None = None,
    with_files: bool | None = None,
    progress: ProgressFactory | None = None,
    dataverse_client: ClientFactory | None = None,
    only: list[str] | None = None,
) -> dict[str, Outcome]:
    """``{"zenodo": ..., "dataverse": ...}`` for the configured repositories (those in
    ``only`` when given), one after the other, each whatever the other's outcome."""
    config = publisher.config
    runs: dict[str, Callable[[], Outcome]] = {}
    names = [n for n in configured(config) if only is None or n in only]
    if ZENODO in names:
        runs[ZENODO] = lambda: publisher.publish(
            folder, fingerprint=fingerprint, with_files=with_files, progress=progress
        )
    if DATAVERSE in names:
        from maggot_zenodo.publish.dataverse_workflow import deposit_dataverse

        runs[DATAVERSE] = lambda: deposit_dataverse(
            config,
            publisher.journal,
            folder,
            stop=publisher.stop,
            client_factory=dataverse_client,
            with_files=with_files,
            progress=progress,
            fingerprint=fingerprint,
        )
    return {name: run() for name, run in runs.items()}


def combined(outcomes: dict[str, Outcome]) -> Outcome | None:
    """One outcome for the worker's retry logic (None: no repository was run): failed if any
    failed (retryable if any failed one is), the first failure's words prefixed by its
    repository when there are two."""
    if not outcomes:
        return None
    failed = {k: o for k, o in outcomes.items() if not o.ok}
    if not failed:
        return next(iter(outcomes.values()))
    name, first = next(iter(failed.items()))
    prefix = f"{name}: " if len(outcomes) > 1 else ""
    return Outcome(
        first.folder,
        "failed",
        first.deposition_id,
        first.deposit_url,
        None,
        f"{prefix}{first.error}",
        first.hint,
        any(o.retryable for o in failed.values()),
        first.detail,
    )
