"""Watching the storage space for semaphores: inotify or polling, scans, and settling."""

from __future__ import annotations

from . import scanner, settle
from .scanner import find_semaphores
from .settle import wait_until_settled
from .watcher import Watcher

__all__ = ["Watcher", "find_semaphores", "scanner", "settle", "wait_until_settled"]
