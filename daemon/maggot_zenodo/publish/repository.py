"""The repository interface the exactly-once workflow talks to; Zenodo is one implementation.

A repository is one account on one server (``url``; the journal keys datasets by it and by
the token's account label). The workflow owns everything that makes a deposit exactly-once
(journal intents and results, the create marker, adoption, the decision to version): an
implementation only performs requests and translates its server's answers into
:class:`~maggot_zenodo.zenodo.entities.Deposition` and
:class:`~maggot_zenodo.publish.explain.Failure`.

The contract (also in docs/internals.md):

- every method either succeeds or raises :class:`Gone` (``get``: no such deposition),
  :class:`Denied` (``get``: this token may not see it),
  :class:`Unconfirmed` (``create``: the request may have taken effect, its answer was lost),
  :class:`Undeletable` (``delete_file``: the server keeps failing to delete a file of a
  new-version draft, its own passing fault; the workflow discards the draft and versions
  again), or a :class:`~maggot_zenodo.publish.explain.Failure` in a researcher's words;
- ``create(title, marker)`` makes one new draft that carries ``marker`` where
  :func:`maggot_zenodo.publish.markers.marker_of` finds it (the title, or ``metadata.notes``);
  it is never re-sent by the implementation once the request may have reached the server;
- ``find_titled(text)`` and ``recent(since)`` are bounded searches (a page or a few) that may
  miss a deposition the server has not indexed yet; the workflow copes;
- ``delete_file`` and ``delete_draft`` are idempotent (already gone is done);
- ``publish`` and ``new_version`` are safe to call again after an ambiguous failure.

A deposition's ``state``: ``unsubmitted`` (a draft the workflow may change), ``done``
(published: versioned only when something changed) or ``inprogress`` (being edited by a
person elsewhere: left alone).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

from maggot_zenodo.zenodo.entities import Deposition

#: Called with the bytes sent so far in the current attempt of one upload.
ProgressCallback = Callable[[int], None]


class Gone(Exception):
    """The deposition does not exist (any more) on the repository."""


class Denied(Exception):
    """The repository refuses this token access to the deposition (revoked token, or another
    account's deposition)."""


class Undeletable(Exception):
    """The repository kept failing to delete a file of a draft (its own passing fault); the
    message says what is true."""


class Unconfirmed(Exception):
    """A create whose answer was lost: it may or may not have made a deposition."""


class Repository(Protocol):
    """One account on one repository server (see the module docstring for the contract).

    ``label`` names the repository and ``auth_setting`` the configuration key of its token in the
    workflow's own words to a researcher ("Dataverse refused access…, renew dataverse.token").
    """

    url: str
    label: str
    auth_setting: str

    def get(self, deposition_id: int) -> Deposition: ...

    def create(self, title: str, marker: str) -> Deposition: ...

    def find_titled(self, text: str) -> list[Deposition]: ...

    def recent(self, since: float) -> list[Deposition]: ...

    def update_metadata(self, deposition: Deposition, metadata: Mapping[str, Any]) -> None: ...

    def upload(
        self, deposition: Deposition, path: Path, key: str, progress: ProgressCallback | None
    ) -> str: ...

    def delete_file(self, deposition: Deposition, file_id: str) -> None: ...

    def new_version(self, deposition: Deposition) -> Deposition: ...

    def publish(self, deposition: Deposition) -> Deposition: ...

    def delete_draft(self, deposition: Deposition) -> None: ...

    def close(self) -> None: ...
