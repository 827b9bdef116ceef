"""The retry spool: requests from ``maggot-zenodo retry`` to the running daemon (#9 §5).

One small JSON file per dataset in ``<state folder>/retry/``, written atomically (temp file +
rename), so the command needs no socket and no signal, and a request made while the daemon
restarts waits for it. The daemon takes (reads, then deletes) the requests at each tick of its
main loop. Asking twice for one dataset is one request.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from pathlib import Path

SUFFIX = ".json"


def spool_dir(state: Path) -> Path:
    """The spool folder beside the state file."""
    return Path(state).parent / "retry"


def request(spool: Path, folder: Path) -> Path:
    """Queue a retry of ``folder`` (absolute); returns the request file."""
    spool.mkdir(parents=True, exist_ok=True)
    name = hashlib.sha256(os.fsencode(str(folder))).hexdigest()[:32]
    path = spool / f"{name}{SUFFIX}"
    temp = spool / f".{name}.{os.getpid()}.tmp"
    temp.write_text(json.dumps({"folder": str(folder), "requested": time.time()}), "utf-8")
    os.replace(temp, path)
    return path


def take(spool: Path, limit: int = 1000) -> list[Path]:
    """The folders asked for, oldest first (at most ``limit``); their requests are removed.
    An unreadable request is removed too (it names nothing usable)."""
    try:
        entries = [e for e in os.scandir(spool) if e.name.endswith(SUFFIX) and e.is_file()]
    except OSError:
        return []
    entries.sort(key=lambda e: e.stat().st_mtime_ns if e.is_file() else 0)
    folders: list[Path] = []
    for entry in entries[:limit]:
        try:
            data = json.loads(Path(entry.path).read_text("utf-8"))
            folders.append(Path(str(data["folder"])))
        except (OSError, ValueError, KeyError, TypeError):
            pass
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
    return folders
