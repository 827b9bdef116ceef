"""``maggot-zenodo adopt DATASET_DIR DEPOSITION_ID``: settle an ambiguous adoption by title.

The deposition must be verifiably the dataset's (this account, the same title and creators,
owned by no other dataset of the journal); it is then recorded as the dataset's, and the next
publication (touch the semaphore, or ``maggot-zenodo publish``) updates it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TextIO

from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import get_logger
from maggot_zenodo.publish import adoption, gate
from maggot_zenodo.publish.prepare import choose_token, prepare, relative_key
from maggot_zenodo.publish.repository import Denied, Gone
from maggot_zenodo.publish.session import Session
from maggot_zenodo.publish.workflow import Publisher
from maggot_zenodo.repositories import zenodo_configured
from maggot_zenodo.state.journal import Journal


def _tie(pub: Publisher, folder: Path, deposition_id: int, out: TextIO) -> int:
    config, journal = pub.config, pub.journal
    rel = relative_key(config.storage.root, folder)
    semaphore = folder / config.storage.semaphore
    token = choose_token(config, semaphore if semaphore.exists() else None)
    row = journal.dataset(config.zenodo.url, token.account, rel, str(folder))
    if row.deposition_id is not None:
        print(f"failed: {rel} already has deposition {row.deposition_id}.", file=out)
        return EXIT_FAILED
    plan = prepare(config, pub.site(), folder, with_files=False)
    repo = pub.repository(token.value)
    try:
        session = Session(journal, row, repo, get_logger(__name__, dataset=rel), pub.stop)
        try:
            dep = adoption.adopt_chosen(session, plan.metadata, deposition_id)
        except (Gone, Denied):
            print(f"failed: deposition {deposition_id} is not in this account.", file=out)
            return EXIT_FAILED
    finally:
        repo.close()
    journal.update(row.id, status="queued", error=None, hint=None, handled_fingerprint=None)
    print(f"{rel}: tied to deposition {dep.id} ({dep.html})", file=out)
    print(f"next: touch {semaphore} (or run maggot-zenodo publish {folder})", file=out)
    return EXIT_OK


def run(config: Config, dataset_dir: Path, deposition_id: int, *, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if not zenodo_configured(config):
        print(
            "maggot-zenodo adopt: this site publishes to Dataverse only, and adopt ties a Zenodo "
            "deposition. A Dataverse dataset Maggot made is adopted at its next publication, "
            "through its otherId marker.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    folder = Path(os.path.abspath(dataset_dir))
    journal = Journal(config.state)
    pub = Publisher(config, journal)
    try:
        gate.check_folder(config, folder)
        lock = pub._lock(folder)
        if lock is None:
            print("failed: a maggot-zenodo process is publishing it right now.", file=out)
            return EXIT_FAILED
        try:
            return _tie(pub, folder, deposition_id, out)
        finally:
            os.close(lock)
    except UserError as exc:
        print(f"failed: {exc.message}", file=out)
        if exc.hint:
            print(f"hint: {exc.hint}", file=out)
        return EXIT_FAILED if not exc.retryable else EXIT_USAGE
    finally:
        journal.close()
