"""Which folders the watcher looks into: one rule for the scanner, the poller and inotify.

Two reasons keep a folder out, and everything below it with it:

* it is excluded: NAS snapshots, recycle bins and system folders hold stale copies of dataset
  folders, semaphores included, and each copy would become its own deposition. The built-in
  names below, plus the site's ``storage.exclude`` (globs on a folder's name, or on its path
  relative to the storage root when the glob holds a ``/``);
* it is too deep: a folder nested 1000 levels down (by accident, or by a runaway script) must
  not stop the daemon. Below ``MAX_DEPTH`` levels under the root nothing is listed or watched;
  the first time a walker meets such a folder it logs it, once.
"""

from __future__ import annotations

import fnmatch
import os
import re
import threading
from dataclasses import dataclass, field

from ..logs import get_logger

log = get_logger(__name__)

#: Folders of common NAS boxes and file systems that are never looked into.
BUILTIN_EXCLUDES: tuple[str, ...] = (
    "#snapshot",  # Synology
    "#recycle",  # Synology
    "@eaDir",  # Synology thumbnails and indexes
    ".snapshot",  # NetApp, Isilon, many NFS filers
    "~snapshot",  # NetApp (CIFS view)
    ".zfs",  # ZFS snapshots
    "@Recycle",  # QNAP
    ".@__thumb",  # QNAP thumbnails
    ".recycle",  # Samba's vfs_recycle
    "$RECYCLE.BIN",  # Windows
    "System Volume Information",  # Windows
    ".Trash-*",  # freedesktop trash on removable media
    "lost+found",  # ext2/3/4
)
#: Levels below the storage root that are still listed and watched (the root is level 0).
MAX_DEPTH = 64
#: How many distinct too-deep folders are remembered (each is logged once).
_MAX_REMEMBERED = 10_000


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns))


@dataclass(frozen=True)
class FolderRule:
    """The rule for one storage root; ``admits_child`` is the walkers' cheap per-folder test."""

    root: str
    exclude: tuple[str, ...] = ()
    max_depth: int = MAX_DEPTH
    _names: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _paths: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _root_depth: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        root = os.path.normpath(os.fspath(self.root))
        object.__setattr__(self, "root", root)
        names = BUILTIN_EXCLUDES + tuple(p for p in self.exclude if "/" not in p.strip("/"))
        paths = tuple(p.strip("/") for p in self.exclude if "/" in p.strip("/"))
        object.__setattr__(self, "_names", _compile(names))
        object.__setattr__(self, "_paths", _compile(paths))
        object.__setattr__(self, "_root_depth", 0 if root == "/" else root.count("/"))

    def relative(self, path: str) -> str | None:
        """``path`` relative to the root ("" for the root itself); None when outside it."""
        path = os.path.normpath(path)
        if path == self.root:
            return ""
        prefix = self.root if self.root.endswith("/") else self.root + "/"
        return path[len(prefix) :] if path.startswith(prefix) else None

    def depth(self, path: str) -> int:
        """Levels of ``path`` below the root (a path built by joining names to the root)."""
        return path.rstrip("/").count("/") - self._root_depth

    def _excluded(self, name: str, rel: str) -> bool:
        if self._names is not None and self._names.match(name):
            return True
        return self._paths is not None and bool(self._paths.match(rel))

    def admits_child(self, path: str) -> bool:
        """Whether a walker standing in an admitted folder may enter its subfolder ``path``.

        Too deep: logged once (``note_too_deep``) and False. Excluded: False, silently.
        """
        return self.admits_entry(os.path.basename(path), self.depth(path), path)

    def admits_entry(self, name: str, depth: int, path: str | bytes) -> bool:
        """``admits_child`` for a walker that knows the entry's name and depth (the hot path:
        the full path is decoded only when a path glob or the depth bound needs it)."""
        if self._names is not None and self._names.match(name):
            return False
        if self._paths is not None:
            full = os.fsdecode(path)
            if self._paths.match(full[len(self.root) + 1 :] if self.root != "/" else full[1:]):
                return False
        if depth > self.max_depth:
            note_too_deep(self, os.path.dirname(os.fsdecode(path)))
            return False
        return True

    def admits(self, path: str) -> bool:
        """Whether ``path`` (any folder, e.g. one an event names) lies inside the watched part
        of the tree: below the root, not too deep, with no excluded folder on the way."""
        rel = self.relative(path)
        if rel is None:
            return False
        if rel == "":
            return True
        parts = rel.split("/")
        if len(parts) > self.max_depth:
            return False
        return not any(
            self._excluded(part, "/".join(parts[: i + 1])) for i, part in enumerate(parts)
        )


_remembered: set[tuple[str, str]] = set()
_remembered_lock = threading.Lock()


def note_too_deep(rule: FolderRule, folder: str) -> None:
    """Log, once per folder, that the folders below ``folder`` are too deep to be watched."""
    key = (rule.root, folder)
    with _remembered_lock:
        if key in _remembered:
            return
        if len(_remembered) >= _MAX_REMEMBERED:
            _remembered.clear()  # bounded memory; a folder may then be logged a second time
        _remembered.add(key)
    rel = rule.relative(folder) or folder
    shown = rel if len(rel) <= 200 else f"{rel[:120]}…{rel[-60:]}"
    log.warning(
        f"{shown}: folders below are more than {rule.max_depth} levels under the storage "
        "root; they are not watched or scanned (move the dataset higher up)",
        folder=rel,
        max_depth=rule.max_depth,
    )
