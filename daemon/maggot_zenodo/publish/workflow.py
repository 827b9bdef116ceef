"""The workflow for one dataset: read, convert, vet files, deposit, write back — exactly once.

Every request is journaled before (intent) and after (result). The one step that cannot be
made idempotent on Zenodo's side — creating a deposition — carries a unique marker, recorded
in the journal before the POST and put into the new deposition's ``notes`` and title. The
created (or adopted) deposition's id is recorded in the same journal transaction that resolves
the marker, before any other request. When the answer is lost (a 502 after commit, a crash, a
``kill -9``), the next attempt searches the account's depositions and adopts the one holding
the marker instead of creating another. The marker disappears at the metadata PUT that follows
(PUT replaces all metadata).

Decisions worth knowing:
- A deposition that is ``inprogress`` (a published record someone is editing on zenodo.org)
  is left alone: the dataset fails with a message asking to finish or discard that edit.
- A published deposition is only versioned when something changed (metadata or files).
- Without the semaphore only the metadata file goes, and data files uploaded earlier are
  kept (an absent semaphore is no request to delete data).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from maggot_zenodo import metrics, tokens
from maggot_zenodo.config import Config
from maggot_zenodo.logs import get_logger, scrub
from maggot_zenodo.publish import datafiles
from maggot_zenodo.semaphore import semaphore_fingerprint
from maggot_zenodo.state import statusfile
from maggot_zenodo.state.journal import DatasetRow, Journal

MARKER_PREFIX = "maggot-zenodo create marker "
MARKER_SEARCH_PAGES = 3
MARKER_FORGET_AFTER = 24 * 3600.0
CREATE_ATTEMPTS = 3


class Progress(Protocol):
    def update(self, n: int) -> Any: ...
    def close(self) -> Any: ...


# Called with (file name, size in bytes) before each upload; tqdm fits.
ProgressFactory = Callable[[str, int], Progress]


@dataclass(frozen=True)
class Outcome:
    """How one attempt at a dataset ended."""

    folder: Path
    status: str  # "draft" | "published" | "failed"
    deposition_id: int | None = None
    deposit_url: str | None = None
    doi: str | None = None
    error: str | None = None
    hint: str | None = None
    retryable: bool = False
    detail: str | None = None  # the sysadmin's detail (logged too), never in META_zenodo.txt

    @property
    def ok(self) -> bool:
        return self.status != "failed"


class Failure(Exception):
    """This dataset cannot go on now; ``retryable`` says whether trying later may help."""

    def __init__(
        self, error: str, hint: str = "", *, retryable: bool = False, detail: str | None = None
    ) -> None:
        self.error, self.hint, self.retryable, self.detail = error, hint, retryable, detail
        super().__init__(error)


def metadata_hash(metadata: dict[str, Any]) -> str:
    """A stable digest of the metadata, to tell whether a PUT is needed.

    ``publication_date`` is left out: the crosswalk sets it to today, and a new day alone
    must not make a new version of a published record.
    """
    relevant = {k: v for k, v in metadata.items() if k != "publication_date"}
    text = json.dumps(relevant, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def remote_files(deposition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A deposition's files by name, with bare md5 checksums."""
    out = {}
    for f in deposition.get("files") or []:
        name = f.get("filename") or f.get("key")
        checksum = str(f.get("checksum") or "").removeprefix("md5:")
        if name:
            out[name] = {"id": f.get("id"), "md5": checksum, "size": f.get("filesize")}
    return out


def relative_key(root: Path, folder: Path) -> str:
    """The journal's name of a dataset: its path relative to the storage root."""
    real_root, real = os.path.realpath(root), os.path.realpath(folder)
    try:
        rel = os.path.relpath(real, real_root)
    except ValueError:
        return real
    return real if rel.startswith("..") else rel


def explain_http(exc: Exception) -> Failure:
    """A Zenodo error in a researcher's and a sysadmin's words."""
    from maggot_zenodo.zenodo import client as zenodo

    status = getattr(exc, "status", None)
    message = scrub(str(getattr(exc, "message", "") or exc))
    details = []
    for err in getattr(exc, "errors", None) or []:
        msgs = err.get("messages") or [err.get("message", "")]
        details.append(f"{err.get('field', '')}: {'; '.join(str(m) for m in msgs)}".strip(": "))
    detail = (" " + " ".join(details)) if details else ""
    if isinstance(exc, zenodo.ZenodoUnavailable):
        return Failure(
            f"Zenodo could not be reached or was unavailable ({message}).",
            "Nothing to do: it will be tried again automatically.",
            retryable=True,
        )
    if isinstance(exc, getattr(zenodo, "FileChanged", ())):
        return Failure(
            "A file kept changing while it was being sent to Zenodo.",
            "Wait until the files are complete; it will be tried again automatically.",
            retryable=True,
        )
    if isinstance(exc, zenodo.ChecksumMismatch):
        return Failure(
            "A file arrived damaged on Zenodo (checksum mismatch).",
            "Nothing to do: it will be sent again automatically.",
            retryable=True,
        )
    if isinstance(exc, zenodo.PermissionDenied):
        return Failure(
            "Zenodo refused the request (permission denied): the token is invalid, revoked, "
            "or belongs to another account than this deposition.",
            "Ask the site administrator to check the Zenodo token, then touch the semaphore.",
        )
    if isinstance(exc, zenodo.BadRequest):
        return Failure(
            f"Zenodo rejected the dataset: {message}{detail}",
            "Correct the metadata in Maggot, then touch the semaphore file again.",
        )
    if isinstance(exc, zenodo.TooLarge):
        return Failure(
            f"Zenodo refused a file as too large ({message}).",
            "Reduce the files' size (split or compress them), then touch the semaphore again.",
        )
    return Failure(
        f"Zenodo answered an unexpected error ({status}: {message}).",
        "It will be tried again; if it persists, tell the site administrator.",
        retryable=True,
    )


class _Stopped(Exception):
    pass


class Publisher:
    """Publishes datasets; thread-safe for different folders (one worker per folder)."""

    def __init__(
        self,
        config: Config,
        journal: Journal,
        *,
        stop: threading.Event | None = None,
        client_factory: Callable[[str, str], Any] | None = None,
    ) -> None:
        self.config = config
        self.journal = journal
        self.stop = stop or threading.Event()
        self._client_factory = client_factory or self._default_client
        self._site: Any = None
        self._site_lock = threading.Lock()

    def _default_client(self, url: str, token: str) -> Any:
        from maggot_zenodo.zenodo.client import ZenodoClient

        return ZenodoClient.from_config(self.config.zenodo, token, stop=self.stop)

    def site(self) -> Any:
        with self._site_lock:
            if self._site is None:
                from maggot_zenodo.convert import maggot

                self._site = maggot.load_site(
                    self.config.maggot.conf_dir, self.config.maggot.cvlist_dir
                )
            return self._site

    def publish(
        self,
        folder: Path,
        *,
        fingerprint: str | None = None,
        with_files: bool | None = None,
        progress: ProgressFactory | None = None,
    ) -> Outcome:
        """Bring ``folder``'s deposition up to date; never raises for a dataset's problems."""
        folder = Path(folder).absolute()
        run = _Run(self, folder, fingerprint, with_files, progress)
        try:
            lock = self._lock(folder)
        except OSError as exc:
            locks = Path(self.config.state).parent / "locks"
            detail = (
                f"cannot lock the dataset in {locks} ({exc.strerror or exc}): the service user "
                "needs write access to the state folder's locks/ directory"
            )
            get_logger("maggot_zenodo.publish.workflow", dataset=str(folder)).error(
                "cannot take the dataset lock", status="failed", error=detail
            )
            return Outcome(
                folder,
                "failed",
                error="maggot-zenodo cannot work on this dataset: its state folder is unusable.",
                hint="Tell the site administrator; it will be tried again automatically.",
                retryable=True,
                detail=detail,
            )
        if lock is None:
            return Outcome(
                folder,
                "failed",
                error="Another maggot-zenodo process is publishing this dataset right now.",
                hint="Nothing to do: it will be tried again.",
                retryable=True,
            )
        try:
            return run.execute()
        finally:
            os.close(lock)

    def _lock(self, folder: Path) -> int | None:
        """An exclusive lock on ``folder`` across processes (the daemon and `publish`)."""
        locks = Path(self.config.state).parent / "locks"
        locks.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(os.path.realpath(folder).encode()).hexdigest()[:32]
        fd = os.open(locks / f"{name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd


class _Run:
    """One attempt at one dataset (all state of the attempt, none shared)."""

    def __init__(
        self,
        publisher: Publisher,
        folder: Path,
        fingerprint: str | None,
        with_files: bool | None,
        progress: ProgressFactory | None,
    ) -> None:
        self.p = publisher
        self.config = publisher.config
        self.journal = publisher.journal
        self.folder = folder
        self.rel = relative_key(self.config.storage.root, folder)
        self.semaphore = folder / self.config.storage.semaphore
        self.fingerprint = fingerprint
        self.with_files = with_files
        self.progress = progress
        self.row: DatasetRow | None = None
        self.client: Any = None
        self.files: list[datafiles.LocalFile] = []
        self.md5: dict[str, str] = {}
        self.log = get_logger("maggot_zenodo.publish.workflow", dataset=self.rel)

    # -- the attempt -------------------------------------------------------------------
    def execute(self) -> Outcome:
        try:
            return self._execute()
        except _Stopped:
            self.log.info("stopped between steps", status="queued")
            if self.row is not None:
                self._update(status="queued")
            self._try_write_status("queued")
            return self._outcome("failed", "Stopped before the end.", "", retryable=True)
        except Failure as f:
            return self._fail(f)
        except datafiles.DataFilesError as exc:
            return self._fail(Failure(str(exc), exc.hint, retryable=exc.retryable))
        except Exception as exc:  # a bug or the machine: fail this dataset only, retry later
            from maggot_zenodo.zenodo import client as zenodo

            if isinstance(exc, zenodo.ZenodoError):
                return self._fail(explain_http(exc))
            self.log.exception("unexpected error", status="failed")
            return self._fail(
                Failure(
                    f"An internal error stopped the publication ({type(exc).__name__}).",
                    "It will be tried again; if it persists, tell the site administrator.",
                    retryable=True,
                )
            )
        finally:
            if self.client is not None:
                self.client.close()

    def _execute(self) -> Outcome:
        from maggot_zenodo.convert import crosswalk, maggot
        from maggot_zenodo.convert.problems import DatasetError

        if not self.folder.is_dir():
            raise Failure(f"The dataset folder {self.folder} does not exist.", "")
        if self.semaphore.is_symlink():
            self._journal_refusal()
            raise Failure(
                f"The semaphore file {self.semaphore.name} is a symbolic link; it is refused.",
                f"Replace it with a regular file: rm it, then touch {self.semaphore.name}.",
            )
        present = semaphore_fingerprint(self.semaphore) is not None
        if self.fingerprint is None and present:
            self.fingerprint = semaphore_fingerprint(self.semaphore)
        with_files = present if self.with_files is None else self.with_files

        try:
            token = tokens.token_for(self.config, self.semaphore if present else None)
        except tokens.TokenError as exc:
            # the sysadmin's paths and commands go to the log, plain words to the researcher
            detail = f"{exc.message} {exc.hint}".strip()
            self.log.error("no usable Zenodo token", error=scrub(detail))
            raise Failure(
                "The site's access to Zenodo is not set up or not working, "
                "so this dataset cannot be sent now.",
                "Contact the site administrator (nothing to change in the dataset); "
                "it will be tried again automatically.",
                retryable=True,
                detail=detail,
            ) from None
        self.row = self.journal.dataset(
            self.config.zenodo.url, token.account, self.rel, str(self.folder)
        )
        if self.row.deposition_id is None:
            self._follow_move()
        self._update(status="publishing", error=None, hint=None)
        try:
            self._write_status("publishing")
        except OSError as exc:
            raise self._unwritable(exc) from None

        try:
            site = self.p.site()
        except DatasetError as exc:  # the site's Maggot files: the sysadmin's to fix
            failure = _problems_failure("The site's Maggot configuration is unusable", exc.problems)
            raise Failure(failure.error, failure.hint, retryable=True) from None
        try:
            dataset = maggot.read_dataset(
                self.folder,
                site=site,
                max_size=self.config.maggot.max_metadata_size,
                semaphore=self.config.storage.semaphore,
            )
        except DatasetError as exc:
            raise _problems_failure("The dataset's metadata cannot be read", exc.problems) from None
        if dataset.metadata_file.is_symlink():
            raise Failure(
                f"The metadata file {dataset.metadata_file.name} is a symbolic link; refused.",
                "Replace the link by the file itself.",
            )
        conversion = crosswalk.convert(
            dataset.record,
            site,
            communities=self.config.zenodo.communities,
            today=dt.date.today(),
        )
        if not conversion.ok:
            raise _problems_failure("The metadata cannot go to Zenodo", conversion.problems)
        metadata: dict[str, Any] = conversion.metadata

        z = self.config.zenodo
        locations = datafiles.local_locations(dataset.record) if with_files else []
        self.files = datafiles.resolve(
            self.folder,
            locations,
            metadata_file=dataset.metadata_file if z.include_metadata_file else None,
            max_files=z.max_files,
            max_file_size=z.max_file_size,
            max_record_size=z.max_record_size,
        )
        self._local_md5s()
        self._checkpoint()

        self.client = self.p._client_factory(z.url, token.value)
        dep = self._deposition(metadata, with_files=with_files)
        if dep.get("state") == "unsubmitted":
            self._put_metadata(dep, metadata)
            self._sync_files(dep, delete=with_files)
            if z.publish:
                dep = self._publish(dep)
        self._cleanup_markers()
        return self._succeed(dep)

    def _unwritable(self, exc: OSError) -> Failure:
        """The dataset folder refuses our status file: the sysadmin's to fix, said plainly.

        Permission problems (EACCES, EPERM, EROFS) are not retried: nothing changes until
        someone fixes the folder, and retrying would only fill the log. Anything else (disk
        full, quota, I/O error) may pass, so it is retried."""
        permanent = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
        detail = (
            f"cannot write {statusfile.STATUS_FILE} in {self.folder} ({exc.strerror or exc}): "
            "the service user needs write access to the dataset folder (make it group-writable "
            "for the service's group, with the setgid bit so new files keep that group)"
        )
        self.log.error("cannot write the status file", status="failed", error=detail)
        return Failure(
            "maggot-zenodo cannot write into this dataset folder, so it was not sent to Zenodo.",
            "Ask the site administrator to give the maggot-zenodo service write access to the "
            f"folder, then touch {self.config.storage.semaphore} again."
            if permanent
            else "It will be tried again; if it persists, tell the site administrator.",
            retryable=not permanent,
            detail=detail,
        )

    def _follow_move(self) -> None:
        """A dataset folder moved or renamed inside the storage keeps its deposition.

        Its own ``META_zenodo.txt`` names a deposition the journal knows for another folder:
        when that folder no longer holds a ``META_*.json`` (moved away), the journal row moves
        here. When it still does, this folder is a copy, starting a new dataset: nothing is
        adopted. A deposition the journal does not know (journal lost) is never adopted."""
        assert self.row is not None
        previous = statusfile.read(self.folder)
        dep_id = previous.get("deposition_id") if previous else None
        if not isinstance(dep_id, int) or isinstance(dep_id, bool):
            return
        candidates = [
            r
            for r in self.journal.with_deposition(self.row.zenodo_url, self.row.account, dep_id)
            if r.id != self.row.id
        ]
        if len(candidates) != 1:
            return
        [old] = candidates
        old_folder = Path(old.abs_folder)
        if _holds_dataset(old_folder):
            self.log.info(
                "copied status file names another dataset's deposition; not adopting it",
                deposition_id=dep_id,
                other=old.folder,
            )
            return
        self.row = self.journal.rekey(old.id, self.row.id)
        self._step("moved", "result", {"from": old.folder, "id": dep_id})
        self.log.info(
            "dataset folder moved; keeping its deposition",
            deposition_id=dep_id,
            moved_from=old.folder,
        )

    # -- local files -------------------------------------------------------------------
    def _local_md5s(self) -> None:
        for f in self.files:
            cached = self.journal.cached_md5(str(f.path), f.size, f.mtime_ns, f.ino)
            if cached is None:
                fd = datafiles.open_verified(f)
                try:
                    cached = datafiles.md5_fd(fd)
                finally:
                    os.close(fd)
                self.journal.store_md5(str(f.path), f.size, f.mtime_ns, f.ino, cached)
            self.md5[f.key] = cached

    def _wanted(self) -> dict[str, str]:
        return {f.key: self.md5[f.key] for f in self.files}

    # -- deposition --------------------------------------------------------------------
    def _deposition(self, metadata: dict[str, Any], *, with_files: bool) -> dict[str, Any]:
        """The deposition to work on, created, adopted or versioned as needed."""
        from maggot_zenodo.zenodo import client as zenodo

        row = self._row()
        dep = None
        if row.deposition_id:
            try:
                dep = self.client.get(row.deposition_id)
            except (zenodo.NotFound, zenodo.Gone):
                self._step("get", "result", {"id": row.deposition_id, "gone": True})
                self.log.warning(
                    "deposition gone on Zenodo; creating anew", deposition_id=row.deposition_id
                )
                self.journal.forget_uploaded(row.id)
                self._update(
                    deposition_id=None,
                    bucket_url=None,
                    metadata_hash=None,
                    doi=None,
                    concept_doi=None,
                    record_url=None,
                    deposit_url=None,
                )
        if dep is None:
            dep = self._adopt_or_create(metadata)
        self._remember(dep)
        state = dep.get("state")
        if state == "inprogress":
            raise Failure(
                "The published record is being edited on Zenodo right now; "
                "maggot-zenodo leaves it alone.",
                "On zenodo.org, save (publish) or discard the edit, then touch the semaphore.",
            )
        if state == "unsubmitted":
            return dep
        # published (done): new version only when something changed
        if self._row().metadata_hash == metadata_hash(metadata) and not self._files_differ(
            dep, delete=with_files
        ):
            return dep
        return self._new_version(dep)

    def _files_differ(self, dep: dict[str, Any], *, delete: bool) -> bool:
        """Would a sync upload or delete anything? (Files others added are not ours.)"""
        remote = remote_files(dep)
        wanted = self._wanted()
        if any((remote.get(k) or {}).get("md5") != md5 for k, md5 in wanted.items()):
            return True
        ours = self.journal.uploaded(self._row().id) if delete else {}
        return any(k in ours and k not in wanted for k in remote)

    def _new_version(self, dep: dict[str, Any]) -> dict[str, Any]:
        self._checkpoint()
        self._step("newversion", "intent", {"from": dep["id"]})
        new = self.client.new_version(dep["id"])
        self._step("newversion", "result", {"from": dep["id"], "id": new["id"]})
        self.log.info("new version", deposition_id=new["id"], status="publishing")
        self._update(metadata_hash=None)
        self._remember(new)
        return new

    def _adopt_or_create(self, metadata: dict[str, Any]) -> dict[str, Any]:
        from maggot_zenodo.zenodo import client as zenodo

        row = self._row()
        found = self._search_markers()
        if found:
            return self._adopt(*found)
        for _attempt in range(CREATE_ATTEMPTS):
            self._checkpoint()
            uid = str(uuid.uuid4())
            marker = f"{MARKER_PREFIX}{uid}"
            self.journal.add_marker(row.id, marker)
            self._step("create", "intent", {"marker": marker})
            try:
                dep = self.client.create(
                    {
                        "title": marker_title(str(metadata.get("title") or ""), uid),
                        "notes": marker,
                        "upload_type": "dataset",
                    }
                )
            except zenodo.ZenodoError as exc:
                if not getattr(exc, "maybe_committed", False):
                    self.journal.resolve_marker(marker)
                    raise
                self._step("create", "error", {"marker": marker, "maybe_committed": True})
                found = self._search_markers()
                if found:
                    return self._adopt(*found)
                continue  # it did not reach Zenodo (or is not listed yet: cleaned up later)
            # the id and the marker's end go to the journal together, before any other request
            self._record(dep, marker)
            self._step("create", "result", {"marker": marker, "id": dep["id"]})
            self.log.info("deposition created", deposition_id=dep["id"], status="publishing")
            if not (dep.get("links") or {}).get("bucket"):
                dep = self.client.get(dep["id"])
            return dep
        raise Failure(
            "Zenodo did not confirm the creation of the deposition.",
            "Nothing to do: it will be tried again automatically.",
            retryable=True,
        )

    def _record(self, dep: dict[str, Any], marker: str | None) -> None:
        """Remember a new deposition and resolve its marker in one journal transaction."""
        links = dep.get("links") or {}
        extra = {k: links.get(v) for k, v in (("bucket_url", "bucket"), ("deposit_url", "html"))}
        extra = {k: v for k, v in extra.items() if v}
        assert self.row is not None
        self.row = self.journal.record_deposition(self.row.id, marker, int(dep["id"]), **extra)

    def _search_markers(
        self,
    ) -> tuple[str, dict[str, Any], list[tuple[str, dict[str, Any]]]] | None:
        """Find the deposition an unanswered create made (oldest marker first), with the
        duplicates other unanswered creates made; None if not listed. Resolves nothing."""
        row = self._row()
        markers = dict(self.journal.open_markers(row.id))
        if not markers:
            return None
        unique = {d.get("id"): d for d in self._recent(markers)}.values()
        hits = [(marker, d) for d in unique if (marker := _marker_of(d)) in markers]
        if not hits:
            now = time.time()
            for marker, since in markers.items():
                if now - since > MARKER_FORGET_AFTER:
                    self.journal.resolve_marker(marker)
            return None
        hits.sort(key=lambda h: markers[h[0]])
        marker, chosen = hits[0]
        return marker, chosen, hits[1:]

    def _recent(self, markers: dict[str, float]) -> list[dict[str, Any]]:
        """Depositions that may carry one of ``markers``: found by title, else the newest."""
        found: list[dict[str, Any]] = []
        for marker in sorted(markers, key=markers.__getitem__, reverse=True)[:3]:
            uid = marker.removeprefix(MARKER_PREFIX)
            found += self.client.list(q=f'title:"{uid}"', max_pages=1)
        if any(_marker_of(d) in markers for d in found):
            return found
        since = min(markers.values()) - 300
        deps = self.client.list(sort="mostrecent", max_pages=MARKER_SEARCH_PAGES)
        return [d for d in deps if _created(d) is None or _created(d) >= since]

    def _adopt(
        self, marker: str, found: dict[str, Any], others: list[tuple[str, dict[str, Any]]]
    ) -> dict[str, Any]:
        # recorded (and the marker resolved) before the GET: an outage now loses nothing
        self._record(found, marker)
        self._step("create", "result", {"marker": marker, "id": found["id"], "adopted": True})
        dep = self.client.get(found["id"])
        self.log.info(
            "adopted the deposition of an unanswered create",
            deposition_id=dep["id"],
            status="publishing",
        )
        for other_marker, orphan in others:
            self._delete_orphan(orphan)
            self.journal.resolve_marker(other_marker)
        return dep

    def _cleanup_markers(self) -> None:
        """Delete drafts of earlier unanswered creates that show up only now."""
        row = self._row()
        markers = dict(self.journal.open_markers(row.id))
        if not markers:
            return
        for d in self._recent(markers):
            marker = _marker_of(d)
            if marker in markers and d.get("id") != row.deposition_id:
                self._delete_orphan(d)
                self.journal.resolve_marker(marker)

    def _delete_orphan(self, dep: dict[str, Any]) -> None:
        from maggot_zenodo.zenodo import client as zenodo

        if dep.get("submitted") or dep.get("state") != "unsubmitted":
            return
        self._step("delete-orphan", "intent", {"id": dep["id"]})
        with contextlib.suppress(zenodo.NotFound, zenodo.Gone):
            self.client.delete(dep["id"])
        self._step("delete-orphan", "result", {"id": dep["id"]})
        self.log.warning("deleted a duplicate draft", deposition_id=dep["id"])

    def _remember(self, dep: dict[str, Any]) -> None:
        links = dep.get("links") or {}
        values: dict[str, Any] = {"deposition_id": dep["id"]}
        if links.get("bucket"):
            values["bucket_url"] = links["bucket"]
        if links.get("html"):
            values["deposit_url"] = links["html"]
        if dep.get("doi"):
            values["doi"] = dep["doi"]
            values["record_url"] = links.get("record_html") or links.get("html")
        if dep.get("conceptdoi"):
            values["concept_doi"] = dep["conceptdoi"]
        self._update(**values)

    # -- metadata, files, publish ------------------------------------------------------
    def _put_metadata(self, dep: dict[str, Any], metadata: dict[str, Any]) -> None:
        digest = metadata_hash(metadata)
        if self._row().metadata_hash == digest:
            return
        self._checkpoint()
        self._step("metadata", "intent", {"id": dep["id"], "hash": digest})
        self.client.update(dep["id"], metadata)
        self._update(metadata_hash=digest)
        self._step("metadata", "result", {"id": dep["id"], "hash": digest})

    def _sync_files(self, dep: dict[str, Any], *, delete: bool) -> None:
        from maggot_zenodo.zenodo import client as zenodo

        row = self._row()
        remote = remote_files(dep)
        bucket = row.bucket_url
        for f in self.files:
            md5 = self.md5[f.key]
            have = remote.get(f.key)
            if have and have["md5"] == md5:
                continue
            self._checkpoint()
            if not bucket:
                bucket = (self.client.get(dep["id"]).get("links") or {}).get("bucket")
                self._update(bucket_url=bucket)
            self.journal.mark_uploaded(row.id, f.key, md5, f.size)
            self._step("upload", "intent", {"id": dep["id"], "key": f.key, "md5": md5})
            fd = datafiles.open_verified(f)
            bar = self.progress(f.key, f.size) if self.progress else None
            try:
                result = self.client.upload(
                    bucket, datafiles.fd_path(fd), f.key, progress=bar.update if bar else None
                )
            finally:
                os.close(fd)
                if bar is not None:
                    bar.close()
            if result.md5 != md5:
                raise Failure(
                    f"The file “{f.location}” changed while it was being sent.",
                    "Wait until the files are complete; it will be tried again.",
                    retryable=True,
                )
            metrics.count_upload(result.size)
            self._step("upload", "result", {"id": dep["id"], "key": f.key, "md5": md5})
            self.log.info("file uploaded", deposition_id=dep["id"], file=f.key, size=f.size)
        if not delete:
            return
        ours = self.journal.uploaded(row.id)
        wanted = self._wanted()
        for key, info in remote.items():
            if key in wanted or key not in ours:
                continue
            self._checkpoint()
            self._step("delete-file", "intent", {"id": dep["id"], "key": key})
            with contextlib.suppress(zenodo.NotFound):
                self.client.delete_file(dep["id"], info["id"])
            self.journal.forget_uploaded(row.id, key)
            self._step("delete-file", "result", {"id": dep["id"], "key": key})
            self.log.info("file deleted", deposition_id=dep["id"], file=key)

    def _publish(self, dep: dict[str, Any]) -> dict[str, Any]:
        self._checkpoint()
        self._step("publish", "intent", {"id": dep["id"]})
        done = self.client.publish(dep["id"])
        self._step("publish", "result", {"id": dep["id"], "doi": done.get("doi")})
        self._remember(done)
        self.log.info(
            "published", deposition_id=done["id"], doi=done.get("doi"), status="published"
        )
        return done

    # -- endings -----------------------------------------------------------------------
    def _succeed(self, dep: dict[str, Any]) -> Outcome:
        status = "draft" if dep.get("state") == "unsubmitted" else "published"
        self._update(
            status=status,
            error=None,
            hint=None,
            files=self._file_list(),
            **({"handled_fingerprint": self.fingerprint} if self.fingerprint else {}),
        )
        self._try_write_status(status)  # the deposition is done: a write problem is logged
        row = self._row()
        self.log.info("dataset done", deposition_id=row.deposition_id, status=status)
        return self._outcome(status)

    def _fail(self, f: Failure) -> Outcome:
        error, hint = scrub(f.error), scrub(f.hint)
        detail = scrub(f.detail) if f.detail else None
        if self.row is not None:
            values: dict[str, Any] = {"status": "failed", "error": error, "hint": hint}
            if not f.retryable and self.fingerprint:
                values["handled_fingerprint"] = self.fingerprint
            self._update(**values)
        self.log.warning(
            "dataset failed",
            status="failed",
            error=error,
            retryable=f.retryable,
            deposition_id=self.row.deposition_id if self.row else None,
        )
        self._try_write_status("failed", error=error, hint=hint)
        return self._outcome("failed", error, hint, retryable=f.retryable, detail=detail)

    def _outcome(
        self,
        status: str,
        error: str | None = None,
        hint: str | None = None,
        *,
        retryable: bool = False,
        detail: str | None = None,
    ) -> Outcome:
        row = self._row() if self.row is not None else None
        return Outcome(
            folder=self.folder,
            status=status,
            deposition_id=row.deposition_id if row else None,
            deposit_url=row.deposit_url if row else None,
            doi=row.doi if row and status == "published" else None,
            error=error,
            hint=hint,
            retryable=retryable,
            detail=detail,
        )

    def _file_list(self) -> list[dict[str, Any]]:
        return [{"name": f.key, "size": f.size, "md5": self.md5[f.key]} for f in self.files]

    def _try_write_status(self, status: str, **extra: Any) -> None:
        """Write the status file where failing must not change the outcome: log it."""
        try:
            self._write_status(status, **extra)
        except OSError as exc:
            self.log.error(
                "cannot write the status file; the service user needs write access to the "
                "dataset folder (group-writable, setgid)",
                folder=str(self.folder),
                error=str(exc),
            )

    def _journal_refusal(self) -> None:
        """Give a request refused before any work a journal row, so that its fingerprint is
        recorded as handled and the daemon does not refuse it again at every rescan."""
        if self.fingerprint is None:
            self.fingerprint = semaphore_fingerprint(self.semaphore)
        try:
            token = tokens.token_for(self.config, None)
        except tokens.TokenError:
            return  # no site account to key it by: it is refused again next time, harmlessly
        self.row = self.journal.dataset(
            self.config.zenodo.url, token.account, self.rel, str(self.folder)
        )

    def _write_status(self, status: str, **extra: Any) -> None:
        if self.folder.is_symlink() or not self.folder.is_dir():
            return
        row = self._row() if self.row is not None else None
        published = status == "published"
        text = statusfile.render(
            status,
            deposit_url=row.deposit_url if row else None,
            deposition_id=row.deposition_id if row else None,
            record_url=row.record_url if row and published else None,
            doi=row.doi if row and published else None,
            concept_doi=row.concept_doi if row and published else None,
            files=self._file_list() if self.md5 and status in ("draft", "published") else (),
            semaphore=self.config.storage.semaphore,
            **extra,
        )
        statusfile.write(self.folder, text)

    # -- helpers -----------------------------------------------------------------------
    def _row(self) -> DatasetRow:
        assert self.row is not None
        self.row = self.journal.get(self.row.id)
        return self.row

    def _update(self, **values: Any) -> None:
        assert self.row is not None
        self.row = self.journal.update(self.row.id, **values)

    def _step(self, step: str, phase: str, detail: Any = None) -> None:
        assert self.row is not None
        self.journal.step(self.row.id, step, phase, detail)

    def _checkpoint(self) -> None:
        if self.p.stop.is_set():
            raise _Stopped


_TITLE_MARKER = re.compile(r"\[maggot-zenodo ([0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})\]")


def marker_title(title: str, uid: str) -> str:
    """The title a new deposition carries until the metadata PUT: the dataset's real title
    (recognisable to a researcher if that PUT fails) with the marker's uuid (searchable)."""
    tag = f"[maggot-zenodo {uid}]"
    return f"{title.strip()} {tag}" if title.strip() else tag


def _marker_of(dep: dict[str, Any]) -> str | None:
    """The create marker a deposition carries (in its notes or its title), if any."""
    md = dep.get("metadata") or {}
    title = str(md.get("title") or dep.get("title") or "")
    text = f"{md.get('notes') or ''}\n{title}"
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(MARKER_PREFIX):
            return line
    m = _TITLE_MARKER.search(title)
    return f"{MARKER_PREFIX}{m.group(1)}" if m else None


def _created(dep: dict[str, Any]) -> float | None:
    text = dep.get("created")
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.timestamp()


def _holds_dataset(folder: Path) -> bool:
    """Does ``folder`` (still) hold a Maggot metadata file?"""
    try:
        with os.scandir(folder) as entries:
            return any(e.name.startswith("META_") and e.name.endswith(".json") for e in entries)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot tell: assume it does (never share a deposition by mistake)


def _problems_failure(what: str, problems: Sequence[Any]) -> Failure:
    errors = [p for p in problems if getattr(p, "severity", "error") == "error"] or list(problems)
    lines = [str(getattr(p, "message", p)) for p in errors]
    fields = [getattr(p, "field", "") for p in errors]
    text = "; ".join(f"{f}: {m}" if f else m for f, m in zip(fields, lines, strict=True))
    hints = [getattr(p, "hint", "") for p in errors if getattr(p, "hint", "")]
    hint = " ".join(dict.fromkeys(hints)) or "Correct it in Maggot, then touch the semaphore file."
    return Failure(f"{what}: {text}", hint)
