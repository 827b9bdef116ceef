"""Find every semaphore below a folder: the reconciliation scan.

A plain ``os.scandir`` walk: one ``getdents`` per folder and no ``stat`` of data files
(``DirEntry`` knows the entry type), which is what makes a 100 000-folder scan cost about
as much as ``find``. Symlinks are never followed (loops, and escapes from the storage space).
A semaphore that is itself a symlink is reported all the same (never followed): the publish
step refuses it with a message in the dataset's META_zenodo.txt, instead of the request
being silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..logs import get_logger

# Read-only snapshot trees (NetApp, ZFS): they would double every dataset with stale copies.
SKIPPED_DIRS = frozenset({".snapshot", ".zfs"})

log = get_logger(__name__)


def list_folder(folder: str, semaphore: str) -> tuple[list[str], bool] | None:
    """Subfolder paths of ``folder`` and whether it holds the semaphore as a regular file or a
    symlink; None when it vanished or cannot be listed (logged)."""
    subdirs: list[str] = []
    has_semaphore = False
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in SKIPPED_DIRS:
                            subdirs.append(entry.path)
                    elif entry.name == semaphore and (
                        entry.is_file(follow_symlinks=False) or entry.is_symlink()
                    ):
                        has_semaphore = True
                except OSError:
                    continue
    except FileNotFoundError:
        return None  # removed while we walked
    except OSError as exc:
        log.warning("folder cannot be listed", folder=folder, error=exc.strerror or str(exc))
        return None
    return subdirs, has_semaphore


def walk(top: str, semaphore: str) -> Iterator[tuple[str, list[str], bool]]:
    """For each folder below ``top`` (itself included): its path, its subfolders' paths, and
    whether it holds the semaphore (a regular file or a symlink). Unreadable folders are
    logged and skipped."""
    stack = [top]
    while stack:
        folder = stack.pop()
        listing = list_folder(folder, semaphore)
        if listing is None:
            continue
        subdirs, has_semaphore = listing
        yield folder, subdirs, has_semaphore
        stack.extend(reversed(subdirs))


def find_semaphores(root: Path, semaphore: str) -> Iterator[Path]:
    """Every semaphore below ``root``, at any depth: regular files, and symlinks (never
    followed) so that they can be refused with a message."""
    for folder, _subdirs, has_semaphore in walk(os.fspath(root), semaphore):
        if has_semaphore:
            yield Path(folder, semaphore)
