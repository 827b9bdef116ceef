"""Which filesystem holds the storage root, and whether inotify can be trusted there.

inotify only reports changes made through the local kernel: on a network or FUSE mount a
file written by another machine (or by the FUSE daemon's remote side) raises no event, so
such roots must be polled. The table errs on the side of polling: a poll is slower, never
blind. A local root can hold such a mount further down (an NFS share mounted inside the
storage space): in auto mode that also means polling, since inotify would miss the writes
made there by other machines.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")

# Filesystem types whose content can change without the local kernel seeing the write.
NETWORK_FS_TYPES = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "smb", "ncpfs", "sshfs", "9p", "ceph",
        "cephfs", "glusterfs", "lustre", "gpfs", "afs", "openafs", "davfs", "coda", "ocfs2",
        "gfs2", "beegfs", "orangefs", "pvfs2", "virtiofs", "vboxsf", "vmhgfs", "panfs",
        "cvfs", "wekafs", "moosefs", "lizardfs", "juicefs", "quobyte", "xtreemfs",
    }
)  # fmt: skip


def unescape_mount_path(text: str) -> str:
    """Undo mountinfo's octal escapes (``\\040`` is a space, ``\\011`` a tab...)."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 4].isdigit():
            out.append(chr(int(text[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[tuple[str, str]]:
    """``(mount point, filesystem type)`` for each line of ``/proc/self/mountinfo``, in order."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 7 or "-" not in fields[6:]:
            continue
        sep = fields.index("-", 6)
        if sep + 1 >= len(fields):
            continue
        mounts.append((unescape_mount_path(fields[4]), fields[sep + 1]))
    return mounts


def _covers(mount_point: str, path: str) -> bool:
    if mount_point == "/":
        return path.startswith("/")
    return path == mount_point or path.startswith(mount_point.rstrip("/") + "/")


def fs_type_for(path: str, mountinfo_text: str) -> str | None:
    """The type of the mount holding ``path`` (already resolved): the longest mount-point
    prefix wins, and of equal ones the last mounted (it hides the earlier)."""
    best: tuple[int, str] | None = None
    for mount_point, fstype in parse_mountinfo(mountinfo_text):
        if _covers(mount_point, path) and (best is None or len(mount_point) >= best[0]):
            best = (len(mount_point), fstype)
    return best[1] if best else None


def is_network_fs(fstype: str | None) -> bool:
    """True when inotify would miss remote writes: network, cluster and FUSE filesystems."""
    if fstype is None:
        return True  # unknown: polling is the safe choice
    base = fstype.lower()
    if base.startswith("fuse"):  # fuse, fuseblk, fuse.sshfs, fuse.rclone, fuse.glusterfs...
        return True
    return base in NETWORK_FS_TYPES or base.split(".", 1)[0] in NETWORK_FS_TYPES


def mode_for_fstype(configured: str, fstype: str | None) -> str:
    """``inotify`` or ``poll``: ``configured`` when it forces a mode, else by filesystem type."""
    if configured in ("inotify", "poll"):
        return configured
    if configured != "auto":
        raise ValueError(f"storage.watch must be auto, inotify or poll, not {configured!r}")
    return "poll" if is_network_fs(fstype) else "inotify"


def network_mounts_below(path: str, mountinfo_text: str) -> list[tuple[str, str]]:
    """``(mount point, type)`` of each network or FUSE mount strictly below ``path``
    (already resolved), in mountinfo order."""
    prefix = path.rstrip("/") + "/"
    return [
        (mount_point, fstype)
        for mount_point, fstype in parse_mountinfo(mountinfo_text)
        if mount_point.startswith(prefix) and is_network_fs(fstype)
    ]


@dataclass(frozen=True)
class ModeChoice:
    """The watch mode, the root's filesystem type, and why (for the log line)."""

    mode: str
    fstype: str | None
    reason: str


def choose_mode_from(configured: str, path: str, mountinfo_text: str | None) -> ModeChoice:
    """The mode for the resolved root ``path`` given mountinfo's text (None: unreadable)."""
    if configured in ("inotify", "poll"):
        fstype = fs_type_for(path, mountinfo_text) if mountinfo_text is not None else None
        return ModeChoice(configured, fstype, "configured")
    if mountinfo_text is None:
        return ModeChoice(mode_for_fstype(configured, None), None, "mountinfo unreadable")
    fstype = fs_type_for(path, mountinfo_text)
    mode = mode_for_fstype(configured, fstype)
    if mode == "poll":
        return ModeChoice(mode, fstype, f"the storage root is on {fstype or 'an unknown'} fs")
    below = network_mounts_below(path, mountinfo_text)
    if below:
        mount_point, kind = below[0]
        more = f" (and {len(below) - 1} more)" if len(below) > 1 else ""
        return ModeChoice("poll", fstype, f"{kind} mount at {mount_point} below the root{more}")
    return ModeChoice(mode, fstype, f"local {fstype} fs, no network mount below")


def choose_mode(configured: str, root: Path, mountinfo: Path = MOUNTINFO) -> ModeChoice:
    """The watch mode for ``root`` (symlinks resolved), read from ``/proc/self/mountinfo``."""
    try:
        text: str | None = mountinfo.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError:
        text = None
    return choose_mode_from(configured, os.path.realpath(root), text)
