"""datafiles: the security rules on real folders, links, FIFOs and directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from maggot_zenodo import datafiles
from maggot_zenodo.datafiles import DataFilesError, resolve


@pytest.fixture
def ds(tmp_path: Path) -> Path:
    folder = tmp_path / "ds"
    folder.mkdir()
    (folder / "META_ds.json").write_text("{}")
    (folder / "a.csv").write_text("a,b\n1,2\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "b.csv").write_text("x\n")
    (tmp_path / "secret.txt").write_text("outside")
    return folder


def _refused(folder: Path, *locations: str, **kw) -> str:
    with pytest.raises(DataFilesError) as err:
        resolve(folder, locations, metadata_file=None, **kw)
    return str(err.value)


def test_declared_files_and_metadata_file(ds):
    files = resolve(ds, ["a.csv", "sub/b.csv", " a.csv "], metadata_file=ds / "META_ds.json")
    assert [f.key for f in files] == ["META_ds.json", "a.csv", "b.csv"]  # a.csv once
    assert files[1].size == (ds / "a.csv").stat().st_size


def test_a_link_inside_the_folder_is_fine(ds):
    (ds / "link.csv").symlink_to("a.csv")
    assert [f.key for f in resolve(ds, ["link.csv"], metadata_file=None)] == ["a.csv"]


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("../secret.txt", "'..'"),
        ("sub/../../secret.txt", "'..'"),
        ("/etc/passwd", "absolute"),
        ("~/x", "absolute"),
        ("nope.csv", "missing"),
        ("sub", "not a regular file"),
    ],
)
def test_refused_locations(ds, location, words):
    assert words in _refused(ds, location)


def test_symlink_escaping_the_folder(ds):
    (ds / "escape.txt").symlink_to(ds.parent / "secret.txt")
    (ds / "dirlink").symlink_to(ds.parent)
    text = _refused(ds, "escape.txt", "dirlink/secret.txt")
    assert text.count("outside the dataset folder") == 2


def test_unreadable_fifo_is_refused_without_blocking(ds):
    # as root chmod 000 does not stop reading: a FIFO cannot be read as a file either
    os.mkfifo(ds / "pipe.csv")
    assert "not a regular file" in _refused(ds, "pipe.csv")


def test_unreadable_file_when_not_root(ds):
    if os.geteuid() == 0:
        pytest.skip("root reads chmod 000 files; the FIFO test covers unreadable as root")
    (ds / "a.csv").chmod(0)
    assert "permission denied" in _refused(ds, "a.csv")


def test_duplicate_keys_count_and_sizes(ds):
    (ds / "sub" / "a.csv").write_text("other")
    assert "same name 'a.csv'" in _refused(ds, "a.csv", "sub/a.csv")
    assert "at most 1" in _refused(ds, "a.csv", "sub/b.csv", max_files=1)
    assert "the limit is 3" in _refused(ds, "a.csv", max_file_size=3)
    assert "add up to" in _refused(ds, "a.csv", "sub/b.csv", max_record_size=9)


def test_all_problems_are_reported_at_once(ds):
    err = _refused(ds, "../x", "/abs", "missing.csv")
    assert len(err.splitlines()) == 3


def test_metadata_file_symlink_is_refused(ds):
    (ds / "META_ds.json").unlink()
    (ds / "META_ds.json").symlink_to(ds.parent / "secret.txt")
    with pytest.raises(DataFilesError, match="symbolic link"):
        resolve(ds, [], metadata_file=ds / "META_ds.json")


def test_open_verified_md5_and_swap_detection(ds):
    [f] = resolve(ds, ["a.csv"], metadata_file=None)
    fd = datafiles.open_verified(f)
    try:
        assert datafiles.md5_fd(fd) == hashlib.md5((ds / "a.csv").read_bytes()).hexdigest()  # noqa: S324
        assert datafiles.fd_path(fd).read_bytes() == (ds / "a.csv").read_bytes()
    finally:
        os.close(fd)
    (ds / "a.csv").unlink()
    (ds / "a.csv").symlink_to(ds.parent / "secret.txt")
    with pytest.raises(OSError):  # O_NOFOLLOW: a link swapped in is not opened
        datafiles.open_verified(f)
    (ds / "a.csv").unlink()
    (ds / "a.csv").write_text("replaced")
    with pytest.raises(DataFilesError, match="replaced"):
        datafiles.open_verified(f)
