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

STATUS_FILE = "META_zenodo.txt"
STATUSES = ("queued", "publishing", "draft", "published", "failed")
HEADER = (
    "# Written by maggot-zenodo: the state of this dataset's Zenodo deposition.\n"
    "# Do not edit: it is rewritten at every change. Touch META_datafile_ok.txt to publish again.\n"
)
_KEY_ORDER = (
    "status",
    "deposit_url",
    "deposition_id",
    "record_url",
    "doi",
    "concept_doi",
    "files",
    "updated",
    "error",
    "hint",
)


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
    updated: str | None = None,
    error: str | None = None,
    hint: str | None = None,
) -> str:
    """The text of the status file (pure: no I/O)."""
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
        "updated": updated or now_iso(),
        "error": error,
        "hint": hint,
    }
    data = {k: values[k] for k in _KEY_ORDER if values[k] not in (None, [])}
    if status != "failed":
        data.pop("error", None)
        data.pop("hint", None)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return HEADER + body


def write(folder: Path, text: str, name: str = STATUS_FILE) -> Path:
    """Atomically replace ``folder/name`` with ``text``; readable like the folder, never 0o777.

    The mode is 0644, or 0640 when the folder denies others; the group is the folder's.
    """
    folder = Path(folder)
    target = folder / name
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
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


def read(folder: Path, name: str = STATUS_FILE) -> dict[str, Any] | None:
    """The status file's content, or None when absent or unreadable (tests, `status`)."""
    try:
        fd = os.open(Path(folder) / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "r", encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    return data if isinstance(data, dict) else None
