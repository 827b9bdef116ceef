"""Every configured repository for one dataset, each independently: one failing never holds
the other back. What the service and ``publish`` call once both are wired (see
docs/dataverse.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from maggot_zenodo.config import Config
from maggot_zenodo.publish.dataverse_workflow import ClientFactory, deposit_dataverse
from maggot_zenodo.publish.deposit import ProgressFactory
from maggot_zenodo.publish.workflow import Outcome, Publisher


def zenodo_configured(config: Config) -> bool:
    return config.zenodo.token is not None or config.tokens.owners_dir is not None


def publish_all(
    publisher: Publisher,
    folder: Path,
    *,
    fingerprint: str | None = None,
    with_files: bool | None = None,
    progress: ProgressFactory | None = None,
    dataverse_client: ClientFactory | None = None,
) -> dict[str, Outcome]:
    """``{"zenodo": ..., "dataverse": ...}`` for the repositories the site configures."""
    config = publisher.config
    runs: dict[str, Callable[[], Outcome]] = {}
    if zenodo_configured(config):
        runs["zenodo"] = lambda: publisher.publish(
            folder, fingerprint=fingerprint, with_files=with_files, progress=progress
        )
    if config.dataverse is not None:
        runs["dataverse"] = lambda: deposit_dataverse(
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


def combined(outcomes: dict[str, Outcome]) -> Outcome:
    """One outcome for the worker's retry logic: failed if any failed (retryable if any failed
    one is), the first failure's words prefixed by its repository."""
    failed = {k: o for k, o in outcomes.items() if not o.ok}
    if not failed:
        return next(iter(outcomes.values()))
    name, first = next(iter(failed.items()))
    return Outcome(
        first.folder,
        "failed",
        first.deposition_id,
        first.deposit_url,
        None,
        f"{name}: {first.error}",
        first.hint,
        any(o.retryable for o in failed.values()),
        first.detail,
    )
