"""The semaphore file's fingerprint: what tells a new request from one already handled.

A researcher asks for publication by creating, touching or moving in the semaphore; each
of these changes the inode, the mtime or the ctime, so the triple names one request.
"""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path


def fingerprint_of(st: os.stat_result) -> str:
    """A stable text naming one state of the semaphore file."""
    return f"{st.st_ino}:{st.st_mtime_ns}:{st.st_ctime_ns}"


def semaphore_fingerprint(path: Path) -> str | None:
    """The fingerprint of the semaphore at ``path``; None when absent, or neither a regular
    file nor a symlink.

    A symlink is never followed: its fingerprint is the link's own (lstat). It counts as a
    request so that the Publisher refuses it with a message the researcher sees, and the
    journal records that request as handled instead of it being silently ignored.
    """
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    if not (stat_module.S_ISREG(st.st_mode) or stat_module.S_ISLNK(st.st_mode)):
        return None
    return fingerprint_of(st)


def is_symlink_semaphore(path: Path) -> bool:
    """True when the semaphore at ``path`` is a symbolic link (refused by the Publisher)."""
    try:
        return stat_module.S_ISLNK(os.lstat(path).st_mode)
    except (OSError, ValueError):
        return False
