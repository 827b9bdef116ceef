"""The journaled state of one attempt at one dataset, shared by the deposit and marker steps.

Every remote step goes through :meth:`Session.step` (intent before the request, result after)
and every change of what is known goes through :meth:`Session.update`, so the journal is
always ahead of the repository. Nothing here knows which repository it talks to.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from maggot_zenodo.publish.repository import Repository
from maggot_zenodo.state.journal import DatasetRow, Journal
from maggot_zenodo.zenodo.entities import Deposition


def record_page(dep: Deposition) -> str | None:
    """The published record's web page: ``dep.record`` unless that is an API address."""
    if dep.record and "/api/" not in dep.record:
        return dep.record
    return dep.html


class Stopped(Exception):
    """The daemon is stopping: the attempt ends between two steps (nothing half done)."""


@dataclass
class Session:
    """Journal, row, repository and logger of one attempt (one worker; never shared)."""

    journal: Journal
    row: DatasetRow
    repo: Repository
    log: Any  # a structlog logger bound to the dataset
    stop: threading.Event
    #: Called once the deposition is known (created, adopted, moved here): the status file
    #: names it at once, so a folder renamed mid-run is recognised at its new place.
    on_known: Callable[[], None] | None = None

    def known(self) -> None:
        if self.on_known is not None:
            self.on_known()

    def refresh(self) -> DatasetRow:
        self.row = self.journal.get(self.row.id)
        return self.row

    def update(self, **values: Any) -> None:
        self.row = self.journal.update(self.row.id, **values)

    def step(self, step: str, phase: str, detail: Any = None) -> None:
        self.journal.step(self.row.id, step, phase, detail)

    def checkpoint(self) -> None:
        if self.stop.is_set():
            raise Stopped

    def record(self, dep: Deposition, marker: str | None) -> None:
        """Remember a new deposition and resolve its marker in one journal transaction."""
        extra = {k: v for k, v in (("bucket_url", dep.bucket), ("deposit_url", dep.html)) if v}
        self.row = self.journal.record_deposition(self.row.id, marker, dep.id, **extra)
        self.known()

    def remember(self, dep: Deposition) -> None:
        """What the repository says of the deposition now, into the journal."""
        values: dict[str, Any] = {"deposition_id": dep.id}
        if dep.bucket:
            values["bucket_url"] = dep.bucket
        if dep.html:
            values["deposit_url"] = dep.html
        if dep.doi:
            values["doi"] = dep.doi
            values["record_url"] = record_page(dep)
        if dep.concept_doi:
            values["concept_doi"] = dep.concept_doi
        self.update(**values)
