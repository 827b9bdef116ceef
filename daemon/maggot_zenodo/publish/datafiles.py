"""Turn a dataset's declared resources into local files that are safe to upload.

The security rules live here: a location that is absolute, holds ``..``, or resolves
(symlinks followed) outside the dataset folder is refused, and so is anything that is not
a readable regular file. Files are opened with O_NOFOLLOW, and after every open the kernel is
asked where the descriptor really points (``/proc/self/fd/N``): O_NOFOLLOW guards only the
last component, so a folder of the path swapped for a link between the check and the open
would otherwise hand over a file from elsewhere. The opened descriptor is also checked to be
the very file that was vetted; the upload then reads through ``/proc/self/fd/N``.

A file keeps its declared name on Zenodo (the last component of its location), not the name
of the file a link points to.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from maggot_zenodo.constants import (
    DATAVERSE_STATUS_FILE,
    DEFAULT_SEMAPHORE,
    METADATA_PREFIX,
    STATUS_FILE,
    TEMP_SUFFIX,
)
from maggot_zenodo.convert.maggot import local_resources
from maggot_zenodo.errors import UserError

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class LocalFile:
    """One file to upload: its Zenodo key, where it is, and the stat that identifies it."""

    key: str
    location: str
    path: Path
    size: int
    mtime_ns: int
    ino: int
    dev: int
    # The dataset folder (symlinks resolved): every open checks it stays inside. None only
    # for LocalFiles built by hand elsewhere; then the exact vetted path is required.
    folder: Path | None = None


class DataFilesError(UserError):
    """The dataset's files break a rule; ``problems`` lists each, in a researcher's words.

    ``retryable`` is True when trying again later may succeed by itself (a file still being
    written)."""

    def __init__(self, problems: Sequence[str], hint: str, *, retryable: bool = False) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems), hint, retryable=retryable)


def local_locations(record: dict[str, Any]) -> list[str]:
    """Resource locations that are not URLs, as written."""
    return list(local_resources(record))


#: Zenodo's (and most file systems') limit on one file name, in UTF-8 bytes.
MAX_NAME_BYTES = 255


def shown(name: str) -> str:
    """A file name as a researcher can read it: control characters written as escapes."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode("ascii")
        for c in name
    )


def own_file(name: str, semaphore: str = DEFAULT_SEMAPHORE) -> bool:
    """Is ``name`` one of this tool's own files (status files, semaphore, temporary files)?"""
    if name in (STATUS_FILE, DATAVERSE_STATUS_FILE, semaphore):
        return True
    return name.startswith("." + METADATA_PREFIX) and name.endswith(TEMP_SUFFIX)


def name_problem(location: str, semaphore: str = DEFAULT_SEMAPHORE) -> str | None:
    """Why ``location`` cannot be a file name on Zenodo, or None. Names are kept exactly as
    written: leading and trailing spaces are part of them."""
    if "\x00" in location:
        return f"“{shown(location)}” is not a valid file name (it holds a NUL character)."
    if any(not c.isprintable() and c != " " for c in location):
        return (
            f"“{shown(location)}” holds a control character (a newline, a tab…); "
            "rename the file without it."
        )
    key = PurePosixPath(location).name
    if len(key.encode("utf-8")) > MAX_NAME_BYTES:
        return f"“{key[:40]}…” is a file name longer than {MAX_NAME_BYTES} bytes; shorten it."
    if own_file(key, semaphore):
        return f"“{location}” is a file maggot-zenodo writes itself; it cannot be a resource."
    return None


def _check_location(
    folder_real: Path, location: str, semaphore: str = DEFAULT_SEMAPHORE
) -> tuple[Path | None, str | None]:
    """The real path of ``location`` inside ``folder_real``, or why it is refused."""
    why = name_problem(location, semaphore)
    if why:
        return None, why
    pure = PurePosixPath(location)
    if pure.is_absolute() or location.startswith("~"):
        return None, f"“{location}” is an absolute path; give a path inside the dataset folder."
    if ".." in pure.parts:
        return None, f"“{location}” goes up with “..”; only files inside the dataset folder go."
    real = Path(os.path.realpath(folder_real / pure))
    if real != folder_real and folder_real not in real.parents:
        return None, f"“{location}” leads outside the dataset folder (through a link)."
    if real == folder_real:
        return None, f"“{location}” is the dataset folder itself, not a file."
    return real, None


OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def opened_path(fd: int) -> str:
    """Where ``fd`` really points, as the kernel knows it (Linux; follows no name again)."""
    return os.readlink(f"/proc/self/fd/{fd}")


def is_inside(folder_real: Path, path: str) -> bool:
    """True when ``path`` (resolved) lies strictly below ``folder_real``."""
    return path.startswith(os.fspath(folder_real).rstrip("/") + "/")


def _stat_regular(
    path: Path, location: str, folder_real: Path
) -> tuple[os.stat_result | None, str | None]:
    try:
        fd = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        return None, f"“{location}” is declared but missing from the dataset folder."
    except PermissionError:
        return None, f"“{location}” cannot be read (permission denied)."
    except OSError as exc:
        return None, f"“{location}” cannot be opened ({exc.strerror})."
    try:
        where = opened_path(fd)
        if where != os.fspath(path) or not is_inside(folder_real, where):
            # a folder on the way was swapped for a link after the path was checked
            return (
                None,
                f"“{location}” leads outside the dataset folder (it changed as it was read).",
            )
        st = os.fstat(fd)
        if not stat_module.S_ISREG(st.st_mode):
            return None, f"“{location}” is not a regular file."
        return st, None
    finally:
        os.close(fd)


class _Found:
    """The files vetted so far, and every problem met (one attempt's working list)."""

    def __init__(self, folder_real: Path) -> None:
        self.folder_real = folder_real
        self.problems: list[str] = []
        self.files: list[LocalFile] = []
        self._seen: set[tuple[int, int]] = set()

    def add(self, location: str, real: Path, key: str) -> None:
        st, why = _stat_regular(real, location, self.folder_real)
        if why:
            self.problems.append(why)
            return
        assert st is not None
        if (st.st_dev, st.st_ino) in self._seen:
            return  # the same file declared twice (or the metadata file declared): once
        self._seen.add((st.st_dev, st.st_ino))
        self.files.append(
            LocalFile(
                key,
                location,
                real,
                st.st_size,
                st.st_mtime_ns,
                st.st_ino,
                st.st_dev,
                self.folder_real,
            )
        )


def _limit_problems(
    found: list[LocalFile], max_files: int, max_file_size: int, max_record_size: int
) -> list[str]:
    """Clashing names on Zenodo (it keeps no folders), and the size and count limits."""
    problems = []
    by_key: dict[str, list[str]] = {}
    for f in found:
        by_key.setdefault(f.key, []).append(f.location)
    for key, locs in sorted(by_key.items()):
        if len(locs) > 1:
            problems.append(
                f"Several files would have the same name “{key}” on Zenodo "
                f"({', '.join(locs)}); Zenodo keeps no folders."
            )
    if len(found) > max_files:
        problems.append(f"{len(found)} files are declared; Zenodo takes at most {max_files}.")
    for f in found:
        if f.size > max_file_size:
            problems.append(f"“{f.location}” is {f.size} bytes; the limit is {max_file_size}.")
    total = sum(f.size for f in found)
    if total > max_record_size:
        problems.append(f"The files add up to {total} bytes; the limit is {max_record_size}.")
    return problems


def resolve(
    folder: Path,
    locations: Iterable[str],
    *,
    metadata_file: Path | None,
    max_files: int = 100,
    max_file_size: int = 50_000_000_000,
    max_record_size: int = 50_000_000_000,
    semaphore: str = DEFAULT_SEMAPHORE,
) -> list[LocalFile]:
    """Vet every declared location (and the metadata file); all problems at once."""
    found = _Found(Path(os.path.realpath(folder)))
    if metadata_file is not None:
        mpath = found.folder_real / Path(metadata_file).name
        if mpath.is_symlink():
            found.problems.append(
                f"The metadata file “{mpath.name}” is a symbolic link; it is refused."
            )
        else:
            found.add(mpath.name, mpath, mpath.name)
    for location in locations:
        real, why = _check_location(found.folder_real, location, semaphore)
        if why:
            found.problems.append(why)
        else:
            assert real is not None
            # the declared name, not the link target's: ``results.csv -> raw/run7.csv``
            # is uploaded as results.csv
            found.add(location, real, PurePosixPath(location).name)
    problems = found.problems + _limit_problems(
        found.files, max_files, max_file_size, max_record_size
    )
    if problems:
        raise DataFilesError(
            problems,
            "Fix the resources in the dataset's metadata (or the files in its folder), "
            "then touch the semaphore file again.",
        )
    return found.files


def open_verified(f: LocalFile) -> int:
    """Open ``f`` without following links and check it is still the vetted file, unchanged.

    A file that changed since it was vetted is most likely still being written: that error
    is retryable. A path that now leads elsewhere (a folder swapped for a link) is refused.
    """
    fd = os.open(f.path, OPEN_FLAGS)
    try:
        where = opened_path(fd)
        inside = is_inside(f.folder, where) if f.folder is not None else where == os.fspath(f.path)
        if not inside:
            raise DataFilesError(
                [f"“{f.location}” leads outside the dataset folder (a folder became a link)."],
                "Remove the links from the dataset folder, then touch the semaphore file again.",
            )
        st = os.fstat(fd)
        same = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) == (
            f.dev,
            f.ino,
            f.size,
            f.mtime_ns,
        )
        if where != os.fspath(f.path) or not stat_module.S_ISREG(st.st_mode) or not same:
            raise DataFilesError(
                [
                    f"“{f.location}” changed while being published: "
                    "it was still being written (or replaced)."
                ],
                "Nothing to do if the copy is finishing: it is tried again later. "
                "Otherwise touch the semaphore file again once the files are in place.",
                retryable=True,
            )
    except BaseException:
        os.close(fd)
        raise
    return fd


def fd_path(fd: int) -> Path:
    """A path that reopens exactly the file behind ``fd`` (Linux)."""
    return Path(f"/proc/self/fd/{fd}")


def md5_fd(fd: int) -> str:
    """md5 of the whole file behind ``fd`` (read from its start, position left unchanged)."""
    h = hashlib.md5()  # noqa: S324 - Zenodo's checksum, not security
    offset = 0
    while True:
        chunk = os.pread(fd, CHUNK, offset)
        if not chunk:
            break
        h.update(chunk)
        offset += len(chunk)
    return h.hexdigest()
