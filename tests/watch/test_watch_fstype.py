"""Choosing inotify or polling from the filesystem type of the storage root."""

from __future__ import annotations

from pathlib import Path

import pytest

from maggot_zenodo.watch.fstype import (
    choose_mode,
    choose_mode_from,
    fs_type_for,
    is_network_fs,
    mode_for_fstype,
    network_mounts_below,
    parse_mountinfo,
)
from maggot_zenodo.watch.limits import watch_limit_message

MOUNTINFO = """\
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw
40 27 0:50 / /data rw,relatime shared:5 - xfs /dev/sdb1 rw
41 40 0:51 / /data/nfs rw,relatime shared:6 - nfs4 srv:/export rw,vers=4.2
42 40 0:52 / /data/smb\\040share rw,relatime - cifs //srv/share rw
43 40 0:53 / /data/remote rw,nosuid,nodev - fuse.sshfs user@host:/d rw
44 40 0:54 / /data/rclone rw - fuse.rclone gdrive: rw
45 41 0:55 / /data/nfs/local rw - ext4 /dev/sdc1 rw
46 27 0:56 / /over rw - nfs srv:/a rw
47 27 0:57 / /over rw - tmpfs tmpfs rw
48 27 0:58 / /data2 rw - 9p host rw
"""


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "ext4"),
        ("/home/user", "ext4"),
        ("/data", "xfs"),
        ("/data/projects/ds1", "xfs"),
        ("/data/nfs", "nfs4"),
        ("/data/nfs/team1/ds2", "nfs4"),
        ("/data/nfsother", "xfs"),  # a prefix of characters is not a prefix of components
        ("/data/smb share/ds", "cifs"),
        ("/data/remote/ds", "fuse.sshfs"),
        ("/data/rclone", "fuse.rclone"),
        ("/data/nfs/local/ds", "ext4"),  # a local disk mounted inside an NFS tree
        ("/over/x", "tmpfs"),  # the later mount on the same point hides the earlier
        ("/data2/x", "9p"),
    ],
)
def test_longest_mount_point_prefix(path: str, expected: str) -> None:
    assert fs_type_for(path, MOUNTINFO) == expected


def test_parse_mountinfo_unescapes_and_skips_garbage() -> None:
    mounts = parse_mountinfo(MOUNTINFO + "garbage line\n\n")
    assert ("/data/smb share", "cifs") in mounts
    assert len(mounts) == 10


@pytest.mark.parametrize(
    "fstype",
    ["nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse", "fuse.sshfs", "fuse.rclone", "fuseblk",
     "sshfs", "9p", "ceph", "glusterfs", "fuse.glusterfs", "lustre", "gpfs", "afs", "davfs",
     None],
)  # fmt: skip
def test_network_and_fuse_filesystems_are_polled(fstype: str | None) -> None:
    assert is_network_fs(fstype)
    assert mode_for_fstype("auto", fstype) == "poll"


@pytest.mark.parametrize("fstype", ["ext4", "xfs", "btrfs", "tmpfs", "zfs", "overlay", "ext3"])
def test_local_filesystems_use_inotify(fstype: str) -> None:
    assert not is_network_fs(fstype)
    assert mode_for_fstype("auto", fstype) == "inotify"


def test_forced_modes_win_and_bad_mode_is_refused() -> None:
    assert mode_for_fstype("inotify", "nfs4") == "inotify"
    assert mode_for_fstype("poll", "ext4") == "poll"
    with pytest.raises(ValueError, match="auto, inotify or poll"):
        mode_for_fstype("fanotify", "ext4")


def test_auto_picks_inotify_on_the_local_tmp_filesystem(tmp_path: Path) -> None:
    fstype = choose_mode("inotify", tmp_path).fstype
    assert fstype is not None
    if is_network_fs(fstype):
        pytest.skip(f"the temporary folder is on {fstype}, not a local filesystem")
    choice = choose_mode("auto", tmp_path)
    assert (choice.mode, choice.fstype) == ("inotify", fstype)


def test_unreadable_mountinfo_means_poll(tmp_path: Path) -> None:
    assert choose_mode("auto", tmp_path, mountinfo=tmp_path / "missing").fstype is None
    assert mode_for_fstype("auto", None) == "poll"


def test_watch_limit_message_names_the_sysctl_and_current_value() -> None:
    text = watch_limit_message(8192, folders_hint=100_000)
    assert "fs.inotify.max_user_watches = 8192" in text
    assert "sysctl -w fs.inotify.max_user_watches=524288" in text
    assert "polling" in text
    assert "unknown" in watch_limit_message(None)
    assert "max_user_watches=2000000" in watch_limit_message(1_000_000)


def test_watcher_in_auto_mode_uses_inotify_on_local_disk(tmp_path: Path) -> None:
    from maggot_zenodo.watch import Watcher

    if is_network_fs(choose_mode("inotify", tmp_path).fstype):
        pytest.skip("the temporary folder is not on a local filesystem")
    watcher = Watcher(tmp_path, "META_datafile_ok.txt", "auto", 30, 0, lambda _f, _r: None)
    assert watcher.mode == "inotify"
    assert Watcher(tmp_path, "x", "poll", 30, 0, lambda _f, _r: None).mode == "poll"


def test_a_network_or_fuse_mount_below_a_local_root_means_poll() -> None:
    # /data is local xfs, but NFS, CIFS and FUSE shares are mounted inside it
    assert network_mounts_below("/data", MOUNTINFO) == [
        ("/data/nfs", "nfs4"),
        ("/data/smb share", "cifs"),
        ("/data/remote", "fuse.sshfs"),
        ("/data/rclone", "fuse.rclone"),
    ]
    choice = choose_mode_from("auto", "/data", MOUNTINFO)
    assert (choice.mode, choice.fstype) == ("poll", "xfs")
    assert "nfs4 mount at /data/nfs below the root (and 3 more)" in choice.reason
    # only mounts strictly below count: not the root's own, not a sibling sharing a prefix
    assert network_mounts_below("/data/nfs/local", MOUNTINFO) == []
    assert network_mounts_below("/dat", MOUNTINFO) == []
    assert choose_mode_from("auto", "/data/nfs/local", MOUNTINFO).mode == "inotify"
    assert choose_mode_from("auto", "/home", MOUNTINFO).mode == "inotify"
    # a local mount below a local root does not matter
    local = "27 1 254:0 / / rw - ext4 /dev/vda rw\n30 27 0:9 / /srv/d/tmp rw - tmpfs t rw\n"
    assert choose_mode_from("auto", "/srv/d", local).mode == "inotify"


def test_forced_modes_ignore_mounts_below_and_unreadable_mountinfo_polls() -> None:
    assert choose_mode_from("inotify", "/data", MOUNTINFO).mode == "inotify"
    assert choose_mode_from("poll", "/home", MOUNTINFO).mode == "poll"
    unknown = choose_mode_from("auto", "/data", None)
    assert (unknown.mode, unknown.reason) == ("poll", "mountinfo unreadable")


def test_choose_mode_reads_a_mountinfo_file(tmp_path: Path) -> None:
    info = tmp_path / "mountinfo"
    info.write_text(MOUNTINFO)
    assert choose_mode("auto", Path("/data"), info).mode == "poll"
    assert choose_mode("auto", Path("/data/nfs/local"), info).mode == "inotify"
    assert choose_mode("auto", Path("/data"), tmp_path / "missing").mode == "poll"
