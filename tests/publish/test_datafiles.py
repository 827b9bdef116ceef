"""datafiles: the security rules on real folders, links, FIFOs and directories."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from maggot_zenodo.publish import datafiles
from maggot_zenodo.publish.datafiles import DataFilesError, resolve


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
    # "./a.csv" is a.csv again (" a.csv " was, until #15: spaces are now part of a name)
    files = resolve(ds, ["a.csv", "sub/b.csv", "./a.csv"], metadata_file=ds / "META_ds.json")
    assert [f.key for f in files] == ["META_ds.json", "a.csv", "b.csv"]  # a.csv once
    assert files[1].size == (ds / "a.csv").stat().st_size


def test_a_link_inside_the_folder_is_fine(ds):
    (ds / "link.csv").symlink_to("a.csv")
    assert [f.key for f in resolve(ds, ["link.csv"], metadata_file=None)] == ["link.csv"]


def test_zenodo_name_is_the_declared_name_not_the_link_target(ds):
    (ds / "raw").mkdir()
    (ds / "raw" / "run7.csv").write_text("1,2\n")
    (ds / "results.csv").symlink_to("raw/run7.csv")
    [f] = resolve(ds, ["results.csv"], metadata_file=None)
    assert f.key == "results.csv"
    assert f.path == ds / "raw" / "run7.csv"  # what is read is still the real file


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("../secret.txt", "“..”"),
        ("sub/../../secret.txt", "“..”"),
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
    assert "same name “a.csv”" in _refused(ds, "a.csv", "sub/a.csv")
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


def _swap_for_link(folder: Path, name: str, target: Path) -> None:
    os.rename(folder / name, folder / f"{name}.old")
    os.symlink(target, folder / name)


@pytest.fixture
def raced(tmp_path: Path) -> tuple[Path, Path]:
    ds = tmp_path / "ds"
    (ds / "sub").mkdir(parents=True)
    (ds / "sub" / "data.csv").write_text("harmless\n")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "data.csv").write_text("SOMEONE ELSE'S\n")
    return ds, secret


def test_a_folder_swapped_for_a_link_between_check_and_open_is_refused(raced, monkeypatch):
    ds, secret = raced
    real_realpath = os.path.realpath

    def racing_realpath(path, *args, **kwargs):
        resolved = real_realpath(path, *args, **kwargs)
        if str(path).endswith("sub/data.csv"):  # the attacker wins the race right here
            _swap_for_link(ds, "sub", secret)
        return resolved

    monkeypatch.setattr(datafiles.os.path, "realpath", racing_realpath)
    with pytest.raises(DataFilesError, match="outside the dataset folder") as err:
        resolve(ds, ["sub/data.csv"], metadata_file=None)
    assert not err.value.retryable


def test_a_folder_swapped_for_a_link_after_vetting_is_never_opened(raced):
    ds, secret = raced
    [f] = resolve(ds, ["sub/data.csv"], metadata_file=None)
    _swap_for_link(ds, "sub", secret)
    with pytest.raises(DataFilesError, match="outside the dataset folder") as err:
        datafiles.open_verified(f)
    assert not err.value.retryable
    # even the same inode reached through an outside link is refused: hard-link it there
    (secret / "data.csv").unlink()
    os.link(ds / "sub.old" / "data.csv", secret / "data.csv")
    with pytest.raises(DataFilesError, match="outside the dataset folder"):
        datafiles.open_verified(f)


def test_a_file_changed_after_vetting_is_retryable(ds):
    [f] = resolve(ds, ["a.csv"], metadata_file=None)
    with (ds / "a.csv").open("a") as fh:
        fh.write("3,4\n")  # the copy was still running
    with pytest.raises(DataFilesError, match="still being written") as err:
        datafiles.open_verified(f)
    assert err.value.retryable


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("new\nline.csv", "control character"),
        ("tab\there.csv", "control character"),
        ("bell\x07.csv", "control character"),
        ("x" * 252 + ".csv", "longer than 255 bytes"),
        ("é" * 126 + ".csv", "longer than 255 bytes"),  # 256 bytes in UTF-8, 130 characters
        ("META_zenodo.txt", "maggot-zenodo writes itself"),
        ("META_dataverse.txt", "maggot-zenodo writes itself"),
        ("META_datafile_ok.txt", "maggot-zenodo writes itself"),
        (".META_zenodo.txt.12.ab12cd34.tmp", "maggot-zenodo writes itself"),
    ],
)
def test_file_names_zenodo_cannot_take_are_refused_before_anything(ds, name, why):
    if len(name.encode()) <= 255:  # longer names cannot even exist on most file systems
        (ds / name).write_text("x")
    message = _refused(ds, name)
    assert why in message
    assert "\n" not in message.split("”")[0]  # the name is shown escaped, on one line


def test_a_custom_semaphore_is_one_of_the_tools_files(ds):
    (ds / "PUBLISH.ok").write_text("")
    assert "writes itself" in _refused(ds, "PUBLISH.ok", semaphore="PUBLISH.ok")
    assert [f.key for f in resolve(ds, ["a.csv"], metadata_file=None, semaphore="x")] == ["a.csv"]


def test_spaces_around_a_name_are_part_of_it(ds):
    (ds / " spaced .csv").write_text("s")
    [f] = resolve(ds, [" spaced .csv"], metadata_file=None)
    assert (f.key, f.path.name) == (" spaced .csv", " spaced .csv")
    assert "missing" in _refused(ds, " a.csv ")  # not a.csv: a different name
