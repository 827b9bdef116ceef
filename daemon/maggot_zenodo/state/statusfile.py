"""Write ``META_zenodo.txt``, the file where a researcher finds what happened to a dataset.

It is YAML named ``.txt`` on purpose (Maggot indexes every ``META_*.json``). It is written
atomically (temp file in the same folder, fsync, rename) so a reader never sees half a file,
and a symlink planted under its name is replaced, never followed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import stat as stat_module
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from maggot_zenodo import constants
from maggot_zenodo.logs import get_logger

STATUS_FILE = constants.STATUS_FILE
log = get_logger(__name__)
STATUSES = ("queued", "publishing", "draft", "published", "failed")
DEFAULT_SEMAPHORE = constants.DEFAULT_SEMAPHORE


def header(semaphore: str = DEFAULT_SEMAPHORE) -> str:
    """The comment on top of the file, naming the site's semaphore file."""
    return (
        "# Written by maggot-zenodo: the state of this dataset's Zenodo deposition.\n"
        f"# Do not edit: it is rewritten at every change. Touch {semaphore} to publish again.\n"
    )


_LITERAL = ("error", "hint")  # researcher-facing prose: YAML literal blocks, never quoted
_KEY_ORDER = (
    "status",
    "deposit_url",
    "deposition_id",
    "record_url",
    "doi",
    "concept_doi",
    "files",
    "communities",
    "updated",
    "warnings",
    "error",
    "hint",
)
#: At most this many warnings are written, then one line counting the rest.
MAX_WARNINGS = 20


def now_iso() -> str:
    """The current time, ISO 8601 UTC, to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def render(
    status: str,
    *,
    deposit_url: str | None = None,
    deposition_id: int | None = None,
    record_url: str | None = None,
    doi: str | None = None,
    concept_doi: str | None = None,
    files: Sequence[dict[str, Any]] = (),
    communities: Sequence[dict[str, str]] = (),
    updated: str | None = None,
    error: str | None = None,
    hint: str | None = None,
    semaphore: str = DEFAULT_SEMAPHORE,
    warnings: Sequence[str] = (),
) -> str:
    """The text of the status file (pure: no I/O). ``error`` and ``hint`` are written as
    literal blocks (``|``) so a researcher reads them as written, apostrophes and all."""
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}")
    values: dict[str, Any] = {
        "status": status,
        "deposit_url": deposit_url,
        "deposition_id": deposition_id,
        "record_url": record_url,
        "doi": doi,
        "concept_doi": concept_doi,
        "files": [{"name": f["name"], "size": int(f["size"]), "md5": f["md5"]} for f in files],
        "communities": [{"id": c["id"], "status": c["status"]} for c in communities],
        "updated": updated or now_iso(),
        "warnings": bounded_warnings(warnings),
        "error": error,
        "hint": hint,
    }
    data = {k: values[k] for k in _KEY_ORDER if values[k] not in (None, [])}
    for key in _LITERAL:
        if isinstance(data.get(key), str):
            data[key] = _prose(data[key])
    if status != "failed":
        data.pop("error", None)
        data.pop("hint", None)
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
    return header(semaphore) + body


def bounded_warnings(warnings: Sequence[str]) -> list[str]:
    """The conversion's warnings as plain lines (the first MAX_WARNINGS, then a count)."""
    lines = [" ".join(str(w).split()) for w in warnings]
    if len(lines) > MAX_WARNINGS:
        lines = [*lines[:MAX_WARNINGS], f"… and {len(lines) - MAX_WARNINGS} more warnings."]
    return lines


class _Prose(str):
    """A string to dump as a YAML literal block."""


class _Dumper(yaml.SafeDumper):
    pass


def _represent_prose(dumper: yaml.SafeDumper, value: _Prose) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(value), style="|")


_Dumper.add_representer(_Prose, _represent_prose)


def _prose(text: str) -> str:
    """Mark researcher prose for a literal block (PyYAML falls back to quotes only when a
    literal block cannot hold the text, e.g. trailing spaces or control characters)."""
    return _Prose("\n".join(line.rstrip() for line in text.strip().splitlines()))


def write(folder: Path, text: str, name: str = STATUS_FILE) -> Path:
    """Atomically replace ``folder/name`` with ``text``; readable like the folder, never 0o777.

    The mode is 0644, or 0640 when the folder denies others; the group is the folder's.
    """
    folder = Path(folder)
    target = folder / name
    # O_NOFOLLOW: a folder swapped for a symlink fails here (ELOOP) instead of redirecting
    # the write; everything below is relative to this fd, so later swaps change nothing.
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        dst = os.fstat(dir_fd)
        mode = 0o644 if dst.st_mode & stat_module.S_IROTH else 0o640
        tmp = f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
        fd = os.open(
            tmp,
            os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            mode,
            dir_fd=dir_fd,
        )
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode("utf-8"))
                fh.flush()
                os.fchmod(fh.fileno(), mode)
                if os.geteuid() == 0 or dst.st_gid in os.getgroups():
                    with contextlib.suppress(OSError):
                        os.fchown(fh.fileno(), -1, dst.st_gid)
                os.fsync(fh.fileno())
            # rename() replaces a symlink at the target; it never writes through it
            os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp, dir_fd=dir_fd)
            raise
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return target


# -- reading it back, and the queued state ------------------------------------------------
# Keys of an earlier write-back that stay true while the dataset waits for a worker: a
# researcher re-triggering a published dataset keeps its link, DOI and file list meanwhile.
_KEPT_STR = ("deposit_url", "record_url", "doi", "concept_doi")
MAX_STATUS_FILE = 256 * 1024  # far above any file this tool writes; more is not ours


def _kept_files(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    files = []
    for item in value:
        if not isinstance(item, dict):
            return []
        name, size, md5 = item.get("name"), item.get("size"), item.get("md5")
        if not (isinstance(name, str) and isinstance(md5, str)):
            return []
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            return []
        files.append({"name": name, "size": size, "md5": md5})
    return files


def queued_text(previous: dict[str, Any] | None, semaphore: str = DEFAULT_SEMAPHORE) -> str:
    """The ``queued`` write-back, keeping what the earlier one said about the deposition
    (pure; a field of the wrong type, as a hand-edited file may hold, is dropped)."""
    previous = previous if isinstance(previous, dict) else {}
    kept: dict[str, Any] = {k: previous[k] for k in _KEPT_STR if isinstance(previous.get(k), str)}
    dep_id = previous.get("deposition_id")
    if isinstance(dep_id, int) and not isinstance(dep_id, bool):
        kept["deposition_id"] = dep_id
    return render("queued", files=_kept_files(previous.get("files")), semaphore=semaphore, **kept)


def handled_here(folder: Path) -> bool:
    """Whether ``folder`` holds a write-back of either repository (not followed): a dataset
    this tool handled, even if the journal no longer knows it."""
    base = os.fspath(folder)  # no Path per folder: a baseline asks for 10 000 of them
    return any(os.path.lexists(os.path.join(base, name)) for name in constants.STATUS_FILES)


def read(folder: Path, name: str = STATUS_FILE) -> dict[str, Any] | None:
    """The current ``META_zenodo.txt`` of ``folder``, or None. Never blocks nor follows a
    link (a FIFO or a symlink planted under that name is ignored), never reads a huge file."""
    text = _read_text(folder, name)
    return None if text is None else _parse(text)


def _parse(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text)
    except (ValueError, RecursionError, yaml.YAMLError):
        return None
    return data if isinstance(data, dict) else None


def _read_text(folder: Path, name: str) -> str | None:
    try:
        fd = os.open(
            Path(folder) / name,
            os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
        )
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat_module.S_ISREG(st.st_mode) or st.st_size > MAX_STATUS_FILE:
            return None
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read(MAX_STATUS_FILE + 1).decode("utf-8", errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def note_next_attempt(folder: Path, when: float, name: str = STATUS_FILE) -> bool:
    """Add to a ``failed`` status file when the daemon tries again (``next_attempt``, ISO
    8601 UTC), so the researcher reads a time, not only "automatically". False when the file
    is not a failure (a new run already replaced it) or cannot be written."""
    text = _read_text(folder, name)
    data = _parse(text) if text is not None else None  # the one read of the file
    if text is None or data is None or data.get("status") != "failed":
        return False
    at = dt.datetime.fromtimestamp(when, dt.timezone.utc).replace(microsecond=0).isoformat()
    kept = [line for line in text.splitlines() if not line.startswith("next_attempt:")]
    line = yaml.safe_dump({"next_attempt": at}, default_flow_style=False).strip()
    try:
        write(folder, "\n".join([*kept, line]) + "\n", name=name)
    except OSError as exc:
        log.warning(f"{folder}: cannot note the next attempt in {name}", error=str(exc))
        return False
    return True


def write_queued(folder: Path, semaphore: str = DEFAULT_SEMAPHORE) -> bool:
    """Tell the researcher their dataset waits for a worker (atomically; False on failure)."""
    if folder.is_symlink() or not folder.is_dir():
        return False
    try:
        write(folder, queued_text(read(folder), semaphore))
    except OSError as exc:
        log.warning(
            f"{folder}: cannot write the queued status file", folder=str(folder), error=str(exc)
        )
        return False
    return True
