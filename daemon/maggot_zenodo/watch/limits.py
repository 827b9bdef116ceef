"""The inotify watch limit: reading it, and what a sysadmin must do when it is reached."""

from __future__ import annotations

from pathlib import Path

MAX_USER_WATCHES = Path("/proc/sys/fs/inotify/max_user_watches")


def read_watch_limit(path: Path = MAX_USER_WATCHES) -> int | None:
    """The current inotify watch limit per user, if readable."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def watch_limit_message(limit: int | None, folders_hint: int | None = None) -> str:
    """What a sysadmin must do when inotify runs out of watches (pure, for the log line)."""
    current = str(limit) if limit is not None else "unknown"
    wanted = max(524288, 2 * (limit or 0), 2 * (folders_hint or 0))
    return (
        f"inotify watch limit reached (fs.inotify.max_user_watches = {current}); "
        f"falling back to polling. Raise it: sysctl -w fs.inotify.max_user_watches={wanted} "
        f"and persist it in /etc/sysctl.d/"
    )
