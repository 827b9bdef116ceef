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
  the watcher can rescan.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field

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
from watchdog.observers.inotify_c import InotifyConstants, Mask

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


def build_observer(hooks: Hooks) -> SemaphoreObserver:
    """An inotify observer whose emitters report watch-limit errors and queue overflows."""

    class _Group(InotifyWatchGroup):
        def _add_callback(self, path: bytes) -> None:
            if hooks.watch_limit_hit and path != self.path:
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
                if exc.errno == errno.ENOSPC and not hooks.watch_limit_hit:
                    hooks.watch_limit_hit = True
                    hooks.on_watch_limit(os.fsdecode(path))
                if path == self.path:
                    raise
                return  # vanished or unreadable meanwhile: the rescans cover it
            self._active_callbacks_by_path[path] = wd
            self._active_callbacks_by_watch[wd] = path

        def on_queue_overflow(self) -> None:
            super().on_queue_overflow()
            hooks.on_overflow()

    class _Emitter(InotifyEmitter):
        def on_thread_start(self) -> None:
            self._inotify = _Group(
                self._inotify_fd,
                os.fsencode(self.watch.path),
                is_recursive=self.watch.is_recursive,
                event_mask=EVENT_MASK,
                follow_symlink=False,
            )

    return SemaphoreObserver(_Emitter)


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
