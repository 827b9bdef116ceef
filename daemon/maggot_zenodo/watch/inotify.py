"""watchdog's inotify observer, tuned for one file name in a huge tree.

Three changes to watchdog 7's own emitter, made by subclassing it:

* the kernel mask holds only what can announce a semaphore or a folder arrival (create,
  move, attribute change, close after write): no IN_OPEN / IN_CLOSE_NOWRITE, which our own
  walks would raise by the thousand and overflow the queue with, and no IN_MODIFY, which a
  10 GB copy raises once per write (a semaphore written to still ends with IN_CLOSE_WRITE,
  and touched again with IN_ATTRIB);
* watchdog silently ignores a failed watch below the root, including ENOSPC (the per-user
  watch limit): here it is reported, so the watcher can fall back to polling instead of
  going blind on part of the tree;
* an IN_Q_OVERFLOW (events lost) is reported after watchdog has re-placed its watches, so
  the watcher can rescan;
* watchdog places recursive watches with ``os.walk``, which recurses in Python 3.11: a folder
  nested ~1000 levels deep raised RecursionError, at start (the daemon exited) or in the
  emitter thread (which died, the daemon looking healthy). Here the walks are loops over an
  explicit stack and enter only what the ``FolderRule`` admits (no snapshot or recycle bin,
  nothing deeper than ``rules.MAX_DEPTH``); an emitter that dies all the same reports why.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileAttribEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers.inotify import InotifyEmitter, InotifyObserver, InotifyWatchGroup
from watchdog.observers.inotify_c import (
    InotifyConstants,
    InotifyEvent,
    Mask,
    Watch,
    WatchDescriptor,
    inotify_add_watch,
)

from ..logs import get_logger
from .rules import FolderRule

log = get_logger(__name__)

_FIELDS = getattr(InotifyWatchGroup, "__dataclass_fields__", {})
if not all(name in _FIELDS for name in ("_active_callbacks_by_path", "_active_callbacks_by_watch")):
    # watchdog 7.1.1 keeps its watches in a tree behind read-only properties: what
    # SemaphoreGroup registers would be lost and no event would ever arrive. The watcher
    # polls when this module cannot be imported, rather than going blind.
    raise ImportError("this watchdog's inotify internals are not the ones watch/inotify.py expects")

EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileMovedEvent,
    FileModifiedEvent,
    FileAttribEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirMovedEvent,
]

EVENT_MASK = Mask(
    InotifyConstants.IN_CREATE
    | InotifyConstants.IN_MOVED_FROM
    | InotifyConstants.IN_MOVED_TO
    | InotifyConstants.IN_ATTRIB
    | InotifyConstants.IN_CLOSE_WRITE
    | InotifyConstants.IN_DELETE_SELF
)


@dataclass
class Hooks:
    """What the observer tells the watcher; called from watchdog's threads, must not block."""

    on_watch_limit: Callable[[str], None]
    on_overflow: Callable[[], None]
    watch_limit_hit: bool = field(default=False, init=False)
    #: The semaphore's name, and (while not None) what is told of each semaphore seen placing
    #: the watches: its path, and whether it is a symlink.
    semaphore: str = ""
    found: Callable[[tuple[str, bool]], object] | None = field(default=None, init=False)
    #: Why an emitter thread died ("RecursionError: ..."), for the watcher's error line.
    failure: str | None = field(default=None, init=False)


class SemaphoreObserver(InotifyObserver):
    """An inotify observer that can count its watches and say whether its emitters live."""

    def __init__(self, emitter_class: type[InotifyEmitter]) -> None:
        super().__init__()
        self._emitter_class = emitter_class

    def watch_count(self) -> int:
        return sum(_watch_count(e) for e in list(self.emitters))

    def emitters_alive(self) -> bool:
        emitters = list(self.emitters)
        return bool(emitters) and all(e.is_alive() for e in emitters)


def _watch_count(emitter: object) -> int:
    group = getattr(emitter, "_inotify", None)  # watchdog's emitter keeps its group there
    return len(group._active_callbacks_by_watch) if group is not None else 0


def subfolders(folder: bytes, rule: FolderRule) -> list[bytes]:
    """The subfolders of ``folder`` that ``rule`` admits, symlinks not followed; [] when it
    cannot be listed (vanished, unreadable: the rescans cover it)."""
    child = rule.depth(os.fsdecode(folder)) + 1
    out: list[bytes] = []
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False) and rule.admits_entry(
                        os.fsdecode(entry.name), child, entry.path
                    ):
                        out.append(entry.path)
                except OSError:
                    continue
    except OSError:
        return []
    return out


def _created_events(folder: bytes, wd: WatchDescriptor, rule: FolderRule) -> list[InotifyEvent]:
    """IN_CREATE events for the entries of ``folder`` (watched as ``wd``), as watchdog
    simulates for a folder that arrived with content."""
    events: list[InotifyEvent] = []
    dir_mask = Mask(InotifyConstants.IN_CREATE | InotifyConstants.IN_ISDIR)
    try:
        with os.scandir(folder) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if rule.admits_child(os.fsdecode(entry.path)):
                            events.append(InotifyEvent(wd, dir_mask, 0, entry.name))
                    else:
                        events.append(InotifyEvent(wd, InotifyConstants.IN_CREATE, 0, entry.name))
                except OSError:
                    continue
    except OSError:
        return []
    return events


class SemaphoreGroup(InotifyWatchGroup):
    """watchdog's watch group with iterative, rule-bounded placement and reported failures;
    ``build_observer`` binds ``hooks`` and ``rule`` in a subclass."""

    hooks: ClassVar[Hooks]
    rule: ClassVar[FolderRule]

    def _add_all_callbacks(self, path: bytes) -> None:
        # Replaces watchdog's os.walk recursion: an explicit stack, bounded by the rule.
        if path != self.path and not self.rule.admits(os.fsdecode(path)):
            return
        self._add_callback(path)
        if self.is_recursive and os.path.isdir(path):
            self._place_below(path)

    def _place_below(self, top: bytes) -> None:
        """Watch every admitted folder below ``top`` (watched already), each listed right
        after its watch is placed, so the listing may also serve as the start-up scan
        (``hooks.found``): what appears in a folder later raises an event.

        The hot loop of a start: one ``inotify_add_watch`` and one ``scandir`` per folder,
        with the fewest Python operations in between (100 000 folders at a start)."""
        hooks, rule = self.hooks, self.rule
        found = hooks.found
        sem = os.fsencode(hooks.semaphore)
        fd = self._inotify_fd
        lock, watches, inotify_fd = fd._lock, fd._watch_for_wd, fd._inotify_fd
        mask, group, callback = self.event_mask, self._id, self._callback
        by_path, by_wd = self._active_callbacks_by_path, self._active_callbacks_by_watch
        admits, decode, scandir = rule.admits_entry, os.fsdecode, os.scandir
        # depth below the root = slashes in the path + offset (paths are joined by scandir)
        offset = rule.depth(decode(top)) - top.rstrip(b"/").count(b"/")
        stack = [top]
        while stack:
            folder = stack.pop()
            if folder is not top:
                with lock:
                    wd = inotify_add_watch(inotify_fd, folder, mask)
                    if wd != -1:
                        watch = watches.get(wd)
                        if watch is None:
                            watch = watches[wd] = Watch(wd, mask, folder)
                        watch.callbacks[group] = callback
                if wd == -1:
                    if not self._watch_failed(folder):
                        return  # the watch limit: the watcher is switching to polling
                else:
                    by_path[folder] = wd
                    by_wd[wd] = folder
            child = folder.count(b"/") + offset + 1
            try:
                with scandir(folder) as entries:
                    for entry in entries:
                        try:
                            if entry.is_dir(follow_symlinks=False):
                                if admits(decode(entry.name), child, entry.path):
                                    stack.append(entry.path)
                            elif entry.name == sem and found is not None:
                                found((decode(entry.path), entry.is_symlink()))
                        except OSError:
                            continue
            except OSError:
                continue  # vanished or unreadable meanwhile: the rescans cover it

    def _watch_failed(self, folder: bytes) -> bool:
        """``inotify_add_watch`` failed on ``folder`` (errno set): False at the watch limit
        (reported once), True when the walk may go on (the folder vanished or cannot be
        read meanwhile: the rescans cover it)."""
        if ctypes.get_errno() != errno.ENOSPC:
            return True
        if not self.hooks.watch_limit_hit:
            self.hooks.watch_limit_hit = True
            self.hooks.on_watch_limit(os.fsdecode(folder))
        return False

    def _recursive_simulate(self, src_path: bytes) -> list[InotifyEvent]:
        # Parents before children, as watchdog's top-down os.walk, but without recursion.
        events: list[InotifyEvent] = []
        stack = [src_path]
        while stack:
            folder = stack.pop()
            wd = self._active_callbacks_by_path.get(folder)
            if wd is None:
                continue  # not watched (excluded, too deep, or arrived after the watches)
            events.extend(_created_events(folder, wd, self.rule))
            stack.extend(reversed(subfolders(folder, self.rule)))
        return events

    def _add_callback(self, path: bytes) -> None:
        if self.hooks.watch_limit_hit and path != self.path:
            return  # no use trying 100 000 more: the watcher is switching to polling
        fd = self._inotify_fd
        try:
            # watchdog's add_callback() warns when the folder is already ours (a
            # `mkdir -p` reports each level twice) and builds that warning from the repr
            # of every watched path: O(folders) per new folder. Register directly.
            with fd._lock:
                watch = fd._get_or_create_watch(path, self.event_mask)
                watch.callbacks[self._id] = self._callback
            wd = watch.wd
        except OSError as exc:
            if exc.errno == errno.ENOSPC and not self.hooks.watch_limit_hit:
                self.hooks.watch_limit_hit = True
                self.hooks.on_watch_limit(os.fsdecode(path))
            if path == self.path:
                raise
            return  # vanished or unreadable meanwhile: the rescans cover it
        self._active_callbacks_by_path[path] = wd
        self._active_callbacks_by_watch[wd] = path

    def on_queue_overflow(self) -> None:
        super().on_queue_overflow()
        self.hooks.on_overflow()


class SemaphoreEmitter(InotifyEmitter):
    """watchdog's inotify emitter with our group and mask; its death is recorded in ``hooks``."""

    hooks: ClassVar[Hooks]
    group_class: ClassVar[type[SemaphoreGroup]]

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # the thread ends; the watcher sees it and restarts it
            self.hooks.failure = f"{type(exc).__name__}: {exc}"[:500]
            log.error(
                f"inotify event thread for {self.watch.path} died: {self.hooks.failure}",
                root=self.watch.path,
                error=self.hooks.failure,
            )

    def on_thread_start(self) -> None:
        self._inotify = self.group_class(
            self._inotify_fd,
            os.fsencode(self.watch.path),
            is_recursive=self.watch.is_recursive,
            event_mask=EVENT_MASK,
            follow_symlink=False,
        )


def build_observer(hooks: Hooks, rule: FolderRule) -> SemaphoreObserver:
    """An inotify observer whose emitters report watch-limit errors, queue overflows and their
    own death, and place watches iteratively where ``rule`` admits."""
    group = type("BoundGroup", (SemaphoreGroup,), {"hooks": hooks, "rule": rule})
    emitter = type("BoundEmitter", (SemaphoreEmitter,), {"hooks": hooks, "group_class": group})
    return SemaphoreObserver(emitter)


class SemaphoreHandler(FileSystemEventHandler):
    """Turns watchdog events into two cheap calls: a semaphore path seen, a folder arrived.

    The semaphore's name is checked first, so a burst of events about data files costs one
    string comparison each.
    """

    def __init__(
        self,
        semaphore: str,
        on_semaphore: Callable[[str], None],
        on_folder: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._semaphore = semaphore
        self._on_semaphore = on_semaphore
        self._on_folder = on_folder

    def dispatch(self, event: FileSystemEvent) -> None:
        path = os.fsdecode(event.dest_path or event.src_path)
        if event.is_directory:
            if event.event_type in ("created", "moved"):
                self._on_folder(path)
        elif os.path.basename(path) == self._semaphore:
            self._on_semaphore(path)
