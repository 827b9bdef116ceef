"""Watching the storage space for semaphores: inotify or polling, scans, and settling."""

from __future__ import annotations

from . import scanner, settle
from .scanner import find_semaphores
from .settle import Settler, declared_files
from .watcher import Watcher

__all__ = ["Settler", "Watcher", "declared_files", "find_semaphores", "scanner", "settle"]
