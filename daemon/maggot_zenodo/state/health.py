"""What can be wrong with the state database, said in one line that names the file and the fix.

A corrupt, truncated, read-only or full database, or a directory where the file should be,
is the sysadmin's to fix; every command says so and exits 2 instead of showing a traceback.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from maggot_zenodo.errors import UserError


class StateError(UserError):
    """The state database cannot be used; the message names the file and the fix."""


def state_error(path: Path, exc: BaseException) -> StateError:
    """What is wrong with the state database at ``path``, in one line with the fix."""
    text = str(exc).lower()
    if path.is_dir():
        why, fix = "is a directory", f"point 'state:' at a file path, or remove the folder {path}"
    elif "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        why, fix = (
            "cannot be written",
            f"give the service user write access to {path} and its folder",
        )
    elif "full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        why, fix = "cannot grow: the disk is full", f"free space on the file system of {path}"
    elif "not a database" in text or "malformed" in text or "corrupt" in text:
        why, fix = (
            "is damaged (not a readable SQLite database)",
            (
                f"move {path} aside and start again: the daemon rebuilds it (datasets already "
                "published are recognised, not published twice)"
            ),
        )
    elif "unable to open" in text:
        why, fix = "cannot be opened", f"check that the folder of {path} exists and is writable"
    else:
        why, fix = f"cannot be used ({exc})", f"check {path} and its folder"
    return StateError(f"the state database {path} {why}. Fix: {fix}.", fix, retryable=True)


def check_state(path: Path) -> StateError | None:
    """Can the state database at ``path`` be opened, read and written? None when it can.

    A database that does not exist yet is fine when its folder can be created and written.
    Nothing is created: the check opens an existing file only, and asks SQLite to verify it.
    """
    path = Path(path)
    if path.is_dir():
        return state_error(path, IsADirectoryError(errno.EISDIR, "is a directory"))
    if not path.exists():
        folder = next((p for p in path.parents if p.exists()), None)
        if folder is None or not os.access(folder, os.W_OK | os.X_OK):
            return state_error(path, PermissionError(errno.EACCES, "readonly folder"))
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, timeout=5.0)
        try:
            ok = conn.execute("PRAGMA quick_check").fetchone()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except (sqlite3.Error, OSError) as exc:
        return state_error(path, exc)
    if not ok or ok[0] != "ok":
        return state_error(path, sqlite3.DatabaseError("database disk image is malformed"))
    return None
