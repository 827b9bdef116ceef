"""What the researcher reads in ``META_zenodo.txt`` about one attempt, and the log's word on
the conversion's warnings: both from the journal row and the plan, nothing else."""

from __future__ import annotations

from typing import Any

from maggot_zenodo.publish.explain import bounded, warning_text
from maggot_zenodo.publish.prepare import Plan
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow


def render(
    status: str,
    row: DatasetRow | None,
    plan: Plan | None,
    claimed: int | None,
    semaphore: str,
    **extra: Any,
) -> str:
    """The status file's text. ``claimed``: the deposition an earlier status file named and
    this attempt has not verified yet, kept so that a failed attempt does not forget it."""
    published = status == "published"
    done = plan is not None and status in ("draft", "published")
    return statusfile.render(
        status,
        deposit_url=row.deposit_url if row else None,
        deposition_id=(row.deposition_id if row else None) or claimed,
        record_url=row.record_url if row and published else None,
        doi=row.doi if row and published else None,
        concept_doi=row.concept_doi if row and published else None,
        files=plan.file_list() if done and plan else (),
        semaphore=semaphore,
        warnings=[warning_text(w) for w in plan.warnings] if plan else (),
        **extra,
    )


def log_warnings(log: Any, rel: str, plan: Plan) -> None:
    """One log line naming the dataset and what the conversion changed or left out."""
    if not plan.warnings:
        return
    words = [warning_text(w) for w in plan.warnings]
    log.warning(
        f"{rel}: {len(words)} conversion warning(s): {'; '.join(bounded(words, 5))}",
        warnings=words,
    )
