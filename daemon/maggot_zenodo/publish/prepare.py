"""Everything about a dataset that needs no repository: token, read, convert, vet files, md5s.

A publication reads each file once (#13): the plan holds only the md5s the cache knows
(unless ``read_ahead``); the deposit hashes ahead only a file whose md5 could save an upload,
and takes the others' md5 from the upload itself (see :mod:`maggot_zenodo.publish.uploads`).

:func:`convert_dataset` is the one read → convert pipeline (``check`` uses it too);
:func:`prepare` adds the token and the vetted files and gives a :class:`Plan`, which
:func:`maggot_zenodo.publish.deposit.deposit` sends. Nothing here makes a request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from maggot_zenodo import tokens
from maggot_zenodo.config import Config
from maggot_zenodo.constants import DEFAULT_SEMAPHORE
from maggot_zenodo.convert import crosswalk, maggot
from maggot_zenodo.convert.problems import DatasetError, Problem
from maggot_zenodo.errors import UserError
from maggot_zenodo.publish import datafiles
from maggot_zenodo.publish.explain import Failure, bounded, problems_failure


class NotConvertible(UserError):
    """The record was read but cannot go to Zenodo: ``problems`` holds errors and warnings."""

    def __init__(self, metadata_file: Path, problems: Sequence[Problem]) -> None:
        self.metadata_file = metadata_file
        self.problems = tuple(problems)
        count = sum(p.is_error for p in self.problems)
        super().__init__(f"{metadata_file}: {count} error(s); nothing would be sent")


@dataclass(frozen=True)
class Converted:
    """A dataset read and converted: its Maggot file and record, the metadata, the warnings."""

    dataset: maggot.Dataset
    metadata: dict[str, Any]
    warnings: tuple[Problem, ...]


@dataclass(frozen=True)
class Plan:
    """What one deposit sends: the converted metadata and the vetted files with the md5s known.

    ``md5`` fills in as the deposit learns them (hashed ahead, or computed while sending):
    once a deposit succeeded it holds every file's."""

    folder: Path
    metadata: Mapping[str, Any]
    files: tuple[datafiles.LocalFile, ...]
    md5: dict[str, str]  # file key -> md5, for the files whose md5 is known
    with_files: bool  # False: only the metadata file (no semaphore: never delete data)
    warnings: tuple[Problem, ...] = ()

    def wanted(self) -> dict[str, str | None]:
        return {f.key: self.md5.get(f.key) for f in self.files}

    def file_list(self) -> list[dict[str, Any]]:
        """The files with their md5 (a file whose md5 is not known yet is left out)."""
        return [
            {"name": f.key, "size": f.size, "md5": self.md5[f.key]}
            for f in self.files
            if f.key in self.md5
        ]


class Md5Cache(Protocol):
    """Where md5s of unchanged files are remembered (the journal)."""

    def cached_md5(self, path: str, size: int, mtime_ns: int, ino: int) -> str | None: ...

    def store_md5(self, path: str, size: int, mtime_ns: int, ino: int, md5: str) -> None: ...


def metadata_hash(metadata: Mapping[str, Any]) -> str:
    """A stable digest of the metadata, to tell whether an update is needed.

    ``publication_date`` is left out: the crosswalk sets it to today, and a new day alone
    must not make a new version of a published record.
    """
    relevant = {k: v for k, v in metadata.items() if k != "publication_date"}
    text = json.dumps(relevant, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def relative_key(root: Path, folder: Path) -> str:
    """The journal's name of a dataset: its path relative to the storage root."""
    real_root, real = os.path.realpath(root), os.path.realpath(folder)
    try:
        rel = os.path.relpath(real, real_root)
    except ValueError:
        return real
    return real if rel.startswith("..") else rel


def load_site(config: Config | None) -> maggot.Site:
    """The site's Maggot definition files, or the built-ins (raises SiteError)."""
    m = config.maggot if config else None
    return maggot.load_site(m.conf_dir if m else None, m.cvlist_dir if m else None)


def convert_dataset(
    config: Config | None, site: maggot.Site, folder: Path, *, today: dt.date | None = None
) -> Converted:
    """Read and convert one dataset; DatasetError (unreadable) or NotConvertible."""
    dataset = maggot.read_dataset(
        Path(folder),
        site=site,
        max_size=config.maggot.max_metadata_size if config else 5_000_000,
        semaphore=config.storage.semaphore if config else DEFAULT_SEMAPHORE,
    )
    conversion = crosswalk.convert(
        dataset.record,
        site,
        communities=config.zenodo.communities if config else (),
        today=today or dt.date.today(),
    )
    if conversion.metadata is None:
        raise NotConvertible(dataset.metadata_file, conversion.problems)
    return Converted(dataset, conversion.metadata, conversion.warnings)


def name_problems(config: Config | None, dataset: maggot.Dataset) -> list[Problem]:
    """The declared file names Zenodo cannot take (checked without opening any file)."""
    semaphore = config.storage.semaphore if config else DEFAULT_SEMAPHORE
    problems = []
    for location in datafiles.local_locations(dataset.record):
        why = datafiles.name_problem(location, semaphore)
        if why:
            problems.append(Problem("resources", why, "rename the file, then touch the semaphore"))
    return problems


def choose_token(config: Config, semaphore: Path | None) -> tokens.Token:
    """The dataset's token, or a Failure in plain words (the sysadmin's detail kept apart)."""
    try:
        return tokens.token_for(config, semaphore)
    except tokens.TokenError as exc:
        raise Failure(
            "The site's access to Zenodo is not set up or not working, "
            "so this dataset cannot be sent now.",
            "Contact the site administrator (nothing to change in the dataset); "
            "it will be tried again automatically.",
            retryable=True,
            detail=f"{exc.message} {exc.hint}".strip(),
        ) from None


def hash_file(f: datafiles.LocalFile, cache: Md5Cache | None) -> str:
    """``f``'s md5, read from the cache or from the file (then remembered)."""
    cached = cache.cached_md5(str(f.path), f.size, f.mtime_ns, f.ino) if cache else None
    if cached is None:
        fd = datafiles.open_verified(f)
        try:
            cached = datafiles.md5_fd(fd)
        finally:
            os.close(fd)
        if cache is not None:
            cache.store_md5(str(f.path), f.size, f.mtime_ns, f.ino, cached)
    return cached


def md5s(
    files: Sequence[datafiles.LocalFile], cache: Md5Cache | None, *, read: bool = True
) -> dict[str, str]:
    """Every file's md5, read once per (path, size, mtime, inode) when a cache is given;
    ``read=False``: only the md5s the cache knows (no file is opened)."""
    out: dict[str, str] = {}
    for f in files:
        if read:
            out[f.key] = hash_file(f, cache)
        elif cache is not None and (
            known := cache.cached_md5(str(f.path), f.size, f.mtime_ns, f.ino)
        ):
            out[f.key] = known
    return out


def prepare(
    config: Config,
    site: maggot.Site,
    folder: Path,
    *,
    with_files: bool,
    md5_cache: Md5Cache | None = None,
    today: dt.date | None = None,
    read_ahead: bool = False,
) -> Plan:
    """The plan for ``folder``, or a Failure naming every problem found. No file is read here:
    the plan holds the md5s ``md5_cache`` knows (the deposit hashes what it must, #13);
    ``read_ahead``: every file's md5 now."""
    try:
        converted = convert_dataset(config, site, folder, today=today)
    except DatasetError as exc:
        raise problems_failure("The dataset's metadata cannot be read", exc.problems) from None
    except NotConvertible as exc:
        raise problems_failure("The metadata cannot go to Zenodo", exc.problems) from None
    dataset = converted.dataset
    if dataset.metadata_file.is_symlink():
        raise Failure(
            f"The metadata file {dataset.metadata_file.name} is a symbolic link; refused.",
            "Replace the link by the file itself.",
        )
    z = config.zenodo
    locations = datafiles.local_locations(dataset.record) if with_files else []
    try:
        files = datafiles.resolve(
            folder,
            locations,
            metadata_file=dataset.metadata_file if z.include_metadata_file else None,
            max_files=z.max_files,
            max_file_size=z.max_file_size,
            max_record_size=z.max_record_size,
            semaphore=config.storage.semaphore,
        )
        digests = md5s(files, md5_cache, read=read_ahead)
    except datafiles.DataFilesError as exc:
        text = "\n".join(bounded(exc.problems))
        raise Failure(text, exc.hint, retryable=exc.retryable) from None
    return Plan(folder, converted.metadata, tuple(files), digests, with_files, converted.warnings)
