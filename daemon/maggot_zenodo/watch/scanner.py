"""Find every semaphore below a folder: the reconciliation scan.

A plain ``os.scandir`` walk: one ``getdents`` per folder and no ``stat`` of data files
(``DirEntry`` knows the entry type), which is what makes a 100 000-folder scan cost about
as much as ``find``. Symlinks are never followed (loops, and escapes from the storage space).
The walk is a loop over an explicit stack, never recursive, and enters only the folders the
``FolderRule`` admits (no NAS snapshot or recycle bin, nothing deeper than
``rules.MAX_DEPTH``).
A semaphore that is itself a symlink is reported all the same (never followed): the publish
step refuses it with a message in the dataset's META_zenodo.txt, instead of the request
being silently ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..logs import get_logger
from .rules import FolderRule

log = get_logger(__name__)


def list_folder(folder: str, semaphore: str, rule: FolderRule) -> tuple[list[str], bool] | None:
    """The subfolders of ``folder`` that ``rule`` admits, and whether it holds the semaphore as
    a regular file or a symlink; None when it vanished or cannot be listed (logged)."""
    subdirs: list[str] = []
    has_semaphore = False
    depth = rule.depth(folder) + 1
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if rule.admits_entry(entry.name, depth, entry.path):
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
        why = exc.strerror or str(exc)
        log.warning(f"{folder}: folder cannot be listed: {why}", folder=folder, error=why)
        return None
    return subdirs, has_semaphore


def walk(top: str, semaphore: str, rule: FolderRule) -> Iterator[tuple[str, list[str], bool]]:
    """For each admitted folder below ``top`` (itself included, if admitted): its path, its
    admitted subfolders' paths, and whether it holds the semaphore (a regular file or a
    symlink). Unreadable folders are logged and skipped."""
    if not rule.admits(top):
        return
    stack = [top]
    while stack:
        folder = stack.pop()
        listing = list_folder(folder, semaphore, rule)
        if listing is None:
            continue
        subdirs, has_semaphore = listing
        yield folder, subdirs, has_semaphore
        stack.extend(reversed(subdirs))


def find_semaphores(top: Path, semaphore: str, rule: FolderRule | None = None) -> Iterator[Path]:
    """Every semaphore below ``top`` that ``rule`` admits (by default the rule of a storage
    rooted at ``top``): regular files, and symlinks (never followed) so that they can be
    refused with a message."""
    rule = rule if rule is not None else FolderRule(os.fspath(top))
    for folder, _subdirs, has_semaphore in walk(os.path.normpath(top), semaphore, rule):
        if has_semaphore:
            yield Path(folder, semaphore)
