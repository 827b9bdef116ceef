"""One attempt at one dataset for Dataverse: lock, journal row, plan, deposit, write back.

The remote half is the workflow's own :func:`~maggot_zenodo.publish.deposit.deposit` through a
:class:`~maggot_zenodo.publish.dataverse_repository.DataverseRepository`: the same journal
intents, create markers and versioning decision as for Zenodo. The journal keys Dataverse
datasets by the Dataverse URL, so a dataset's Zenodo and Dataverse deposits are independent;
the write-back is ``META_dataverse.txt`` (``dataset_url``, ``persistent_id``, ``version``).
A dataset Maggot's web page deposited earlier is adopted through its ``otherId`` marker.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from maggot_zenodo import lock, tokens
from maggot_zenodo.config import Config
from maggot_zenodo.constants import DATAVERSE_STATUS_FILE
from maggot_zenodo.convert import maggot
from maggot_zenodo.convert.dataverse.definition import load_definition
from maggot_zenodo.dataverse.client import DataverseClient
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import get_logger, scrub
from maggot_zenodo.publish import dataverse_plan, moves
from maggot_zenodo.publish.dataverse_repository import DataverseRepository, explained
from maggot_zenodo.publish.deposit import ProgressFactory, deposit
from maggot_zenodo.publish.explain import Failure, from_user_error, warning_text
from maggot_zenodo.publish.prepare import relative_key
from maggot_zenodo.publish.session import Session, Stopped
from maggot_zenodo.publish.workflow import Outcome
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow, Journal

ClientFactory = Callable[[str, str], DataverseClient]
HEADER = (
    "# Written by maggot-zenodo: the state of this dataset's Dataverse deposit.\n"
    "# Do not edit: it is rewritten at every change. Touch {semaphore} to publish again.\n"
)


def default_client(config: Config, stop: threading.Event) -> ClientFactory:
    assert config.dataverse is not None
    dv = config.dataverse

    def make(url: str, token: str) -> DataverseClient:
        return DataverseClient(
            url,
            token,
            connect_timeout=dv.connect_timeout,
            read_timeout=dv.read_timeout,
            max_retries=dv.max_retries,
            lock_timeout=dv.lock_timeout,
            stop=stop,
        )

    return make


def render_status(status: str, semaphore: str, **values: Any) -> str:
    """The text of ``META_dataverse.txt``: the keys of ``META_zenodo.txt``, named for Dataverse."""
    order = (
        "status",
        "dataset_url",
        "dataset_id",
        "persistent_id",
        "version",
        "files",
        "updated",
        "warnings",
        "error",
        "hint",
    )
    data = {"status": status, **values, "updated": statusfile.now_iso()}
    if status != "failed":
        data.pop("error", None)
        data.pop("hint", None)
    kept = {k: data[k] for k in order if data.get(k) not in (None, [], "")}
    body = yaml.safe_dump(kept, sort_keys=False, allow_unicode=True, width=100)
    return HEADER.format(semaphore=semaphore) + body


def write_queued(folder: Path, semaphore: str) -> None:
    """``META_dataverse.txt`` says ``queued``, keeping what it said of the dataset."""
    if folder.is_symlink() or not folder.is_dir():
        return
    previous = statusfile.read(folder, name=DATAVERSE_STATUS_FILE) or {}
    kept = {
        k: previous[k] for k in ("dataset_url", "persistent_id") if isinstance(previous.get(k), str)
    }
    dataset_id = previous.get("dataset_id")
    if isinstance(dataset_id, int) and not isinstance(dataset_id, bool):
        kept["dataset_id"] = dataset_id
    try:
        statusfile.write(
            folder, render_status("queued", semaphore, **kept), name=DATAVERSE_STATUS_FILE
        )
    except OSError as exc:
        get_logger("maggot_zenodo.publish.dataverse").warning(
            f"{folder}: cannot write the queued {DATAVERSE_STATUS_FILE}", error=str(exc)
        )


def follow_move(journal: Journal, row: DatasetRow, folder: Path, log: Any) -> DatasetRow:
    """A folder moved inside the storage keeps its dataset: its ``META_dataverse.txt`` names a
    dataset the journal knows for a folder that no longer holds a dataset (else: a copy)."""
    previous = statusfile.read(folder, name=DATAVERSE_STATUS_FILE)
    dataset_id = previous.get("dataset_id") if previous else None
    if not isinstance(dataset_id, int) or isinstance(dataset_id, bool):
        return row
    others = [
        r
        for r in journal.with_deposition(row.zenodo_url, row.account, dataset_id)
        if r.id != row.id
    ]
    if len(others) != 1 or moves.holds_dataset(Path(others[0].abs_folder)):
        return row
    moved = journal.rekey(others[0].id, row.id)
    journal.step(moved.id, "moved", "result", {"from": others[0].folder, "id": dataset_id})
    log.info(
        f"{row.folder}: dataset folder moved from {others[0].folder}; keeping Dataverse "
        f"dataset {dataset_id}",
        deposition_id=dataset_id,
    )
    return moved


def account_of(config: Config) -> str:
    """The journal's account label: where the token comes from (never the token)."""
    assert config.dataverse is not None and config.dataverse.token is not None
    source = config.dataverse.token
    return f"dataverse-{source.kind}:{source.value}"


def deposit_dataverse(
    config: Config,
    journal: Journal,
    folder: Path,
    *,
    stop: threading.Event | None = None,
    client_factory: ClientFactory | None = None,
    with_files: bool | None = None,
    progress: ProgressFactory | None = None,
    fingerprint: str | None = None,
    today: dt.date | None = None,
) -> Outcome:
    """Bring ``folder``'s Dataverse dataset up to date; never raises for a dataset's problem."""
    stop = stop or threading.Event()
    run = _DataverseRun(
        config,
        journal,
        Path(folder).absolute(),
        stop,
        client_factory or default_client(config, stop),
        fingerprint,
        today,
    )
    locks = Path(config.state).parent / "locks"
    try:
        locks.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(f"dataverse:{os.path.realpath(folder)}".encode()).hexdigest()[:32]
        held = lock.try_flock(locks / f"{name}.lock")
    except OSError:
        return run.fail(
            Failure(
                "maggot-zenodo cannot work on this dataset: its state folder is unusable.",
                "Tell the site administrator.",
                retryable=True,
            )
        )
    if held is None:
        return run.fail(
            Failure(
                "Another maggot-zenodo process is publishing this dataset to Dataverse right now.",
                "Nothing to do.",
                retryable=True,
            )
        )
    try:
        return run.execute(with_files, progress)
    finally:
        os.close(held)


class _DataverseRun:
    def __init__(
        self,
        config: Config,
        journal: Journal,
        folder: Path,
        stop: threading.Event,
        factory: ClientFactory,
        fingerprint: str | None,
        today: dt.date | None,
    ) -> None:
        assert config.dataverse is not None
        self.config, self.dv, self.journal, self.folder = config, config.dataverse, journal, folder
        self.stop, self.factory, self.fingerprint, self.today = stop, factory, fingerprint, today
        self.rel = relative_key(config.storage.root, folder)
        self.row: DatasetRow | None = None
        self.files: list[dict[str, Any]] = []
        self.warnings: list[str] = []
        self.version: str | None = None
        self.client: DataverseClient | None = None
        self.log = get_logger("maggot_zenodo.publish.dataverse", dataset=self.rel)

    def execute(self, with_files: bool | None, progress: ProgressFactory | None) -> Outcome:
        try:
            return self._succeed(self._execute(with_files, progress))
        except Stopped:
            return self.fail(Failure("Stopped before the end.", "", retryable=True), "queued")
        except UserError as exc:
            return self.fail(from_user_error(exc))
        except Exception as exc:  # a bug or the machine: this dataset fails alone
            self.log.exception(f"{self.rel}: unexpected error (Dataverse)")
            return self.fail(
                Failure(
                    f"An internal error stopped the publication to Dataverse "
                    f"({type(exc).__name__}).",
                    "It will be tried again; if it persists, tell the site administrator.",
                    retryable=True,
                )
            )
        finally:
            if self.client is not None:
                self.client.close()

    def _execute(self, with_files: bool | None, progress: ProgressFactory | None) -> str:
        semaphore = self.folder / self.config.storage.semaphore
        if not self.folder.is_dir():
            raise Failure(f"The dataset folder {self.folder} does not exist.", "")
        if semaphore.is_symlink():
            raise Failure(
                f"The semaphore file {semaphore.name} is a symbolic link; it is refused.",
                "Replace it with a regular file, then touch it again.",
            )
        present = semaphore_fingerprint(semaphore) is not None
        self.fingerprint = self.fingerprint or (
            semaphore_fingerprint(semaphore) if present else None
        )
        token = self._token()
        self.row = self.journal.dataset(
            self.dv.url, account_of(self.config), self.rel, str(self.folder)
        )
        if self.row.deposition_id is None:
            self.row = follow_move(self.journal, self.row, self.folder, self.log)
        self._update(status="publishing", error=None, hint=None)
        self._write("publishing")
        self.client = client = self.factory(self.dv.url, token)
        rows, _ = load_definition(self.config.maggot.conf_dir)
        blocks = dataverse_plan.site_blocks(client, self.config, rows)
        site = maggot.load_site(self.config.maggot.conf_dir, self.config.maggot.cvlist_dir)
        dataset, conversion = dataverse_plan.convert(
            self.config, site, self.folder, blocks, self.rel, self.today
        )
        plan = dataverse_plan.plan(
            self.config,
            dataset,
            conversion,
            with_files=present if with_files is None else with_files,
            md5_cache=self.journal,
        )
        self.files = plan.file_list()
        self.warnings = statusfile.bounded_warnings([warning_text(w) for w in plan.warnings])
        repo = DataverseRepository(
            client, self.dv.collection, conversion.create_body(), release=self.dv.release
        )
        session = Session(self.journal, self.row, repo, self.log, self.stop)
        self._adopt_maggot(session, repo, dataset.record)
        dep = deposit(plan, session, publish=self.dv.publish, progress=progress)
        self.row = session.row
        self.version = dep.metadata.get("version") if dep.state == "done" else None
        return "draft" if dep.state == "unsubmitted" else "published"

    def _token(self) -> str:
        if self.dv.token is None:
            raise Failure(
                "The site's access to Dataverse is not set up.",
                "Tell the site administrator (dataverse.token).",
                retryable=True,
            )
        try:
            return tokens.read_source(self.dv.token)
        except tokens.TokenError as exc:
            self.log.error(f"{self.rel}: no usable Dataverse token", error=scrub(exc.message))
            raise Failure(
                "The site's access to Dataverse is not set up or not working, so "
                "this dataset cannot be sent now.",
                "Contact the site administrator "
                "(nothing to change in the dataset); it will be tried again "
                "automatically.",
                retryable=True,
            ) from None

    def _adopt_maggot(self, s: Session, repo: DataverseRepository, record: Any) -> None:
        """A dataset Maggot's web page made, found by its otherId, becomes this one's."""
        short = record.get("title") if isinstance(record, dict) else None
        if s.refresh().deposition_id or s.journal.open_markers(s.row.id) or not short:
            return
        with explained():
            found = repo.find_maggot(str(short))
        if len(found) == 1:
            s.record(found[0], None)
            s.step("adopt-maggot", "result", {"id": found[0].id})
            self.log.info(
                f"{self.rel}: adopted Dataverse dataset {found[0].id} made by Maggot",
                deposition_id=found[0].id,
            )
        elif len(found) > 1:
            raise Failure(
                f"Maggot made {len(found)} Dataverse datasets for this record "
                f"({', '.join(str(d.doi) for d in found)}); maggot-zenodo does not "
                "choose.",
                "Delete the extra drafts on Dataverse, then touch the semaphore again.",
            )

    # -- endings -------------------------------------------------------------------------
    def _succeed(self, status: str) -> Outcome:
        extra = {"handled_fingerprint": self.fingerprint} if self.fingerprint else {}
        self._update(status=status, error=None, hint=None, files=self.files, **extra)
        self._write(status)
        row = self.journal.get(self.row.id) if self.row else None
        self.log.info(
            "dataset done",
            repository="dataverse",
            status=status,
            deposition_id=row.deposition_id if row else None,
        )
        return Outcome(
            self.folder,
            status,
            row.deposition_id if row else None,
            row.deposit_url if row else None,
            row.doi if row and status == "published" else None,
        )

    def fail(self, f: Failure, status: str = "failed") -> Outcome:
        error, hint = scrub(f.error), scrub(f.hint)
        if self.row is not None:
            values: dict[str, Any] = {"status": status, "error": error, "hint": hint}
            if not f.retryable and self.fingerprint:
                values["handled_fingerprint"] = self.fingerprint
            self._update(**values)
        self.log.warning(
            f"{self.rel}: Dataverse failed: {error}", status=status, retryable=f.retryable
        )
        try:
            self._write(status, error=error, hint=hint)
        except OSError as exc:
            self.log.error(f"{self.rel}: cannot write {DATAVERSE_STATUS_FILE}", error=str(exc))
        row = self.journal.get(self.row.id) if self.row else None
        return Outcome(
            self.folder,
            "failed",
            row.deposition_id if row else None,
            row.deposit_url if row else None,
            None,
            error,
            hint,
            f.retryable,
            scrub(f.detail) if f.detail else None,
        )

    def _write(self, status: str, **extra: Any) -> None:
        if self.folder.is_symlink() or not self.folder.is_dir():
            return
        row = self.journal.get(self.row.id) if self.row else None
        done = status in ("draft", "published")
        text = render_status(
            status,
            self.config.storage.semaphore,
            dataset_url=row.deposit_url if row else None,
            dataset_id=row.deposition_id if row else None,
            persistent_id=row.doi if row else None,
            version=self.version if status == "published" else None,
            files=self.files if done else [],
            warnings=self.warnings if done else [],
            **extra,
        )
        statusfile.write(self.folder, text, name=DATAVERSE_STATUS_FILE)

    def _update(self, **values: Any) -> None:
        assert self.row is not None
        self.row = self.journal.update(self.row.id, **values)
