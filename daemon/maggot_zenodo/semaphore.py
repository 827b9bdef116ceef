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
    """The fingerprint of the semaphore at ``path``; None when absent or not a regular file.

    A symlink is never followed: a semaphore that is a link is refused elsewhere, and here
    it simply does not count as a request.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if not stat_module.S_ISREG(st.st_mode):
        return None
    return fingerprint_of(st)
