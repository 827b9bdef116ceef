"""Read a Maggot dataset: its one ``META_*.json``, parsed and checked against the site's schema.

Reading is where hostile input is met: every way a metadata file can be wrong (missing,
doubled, a symlink, too big, not UTF-8, not JSON, too deep, not Maggot) becomes a
:class:`DatasetError` naming the file and the fix; nothing here raises anything else.
The site's files are read by :mod:`~maggot_zenodo.convert.site` (re-exported here).
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from maggot_zenodo.constants import DEFAULT_SEMAPHORE, METADATA_PREFIX, METADATA_SUFFIX, STATUS_FILE
from maggot_zenodo.convert.problems import DatasetError, Problem
from maggot_zenodo.convert.schema import field_path, kind_of, validate_record
from maggot_zenodo.convert.site import (
    DefRow,
    Site,
    SiteError,
    builtin_definition,
    builtin_schema,
    load_site,
    parse_definition,
)

__all__ = [
    "STATUS_FILE",
    "Dataset",
    "DefRow",
    "Site",
    "SiteError",
    "builtin_definition",
    "builtin_schema",
    "field_path",
    "find_metadata_file",
    "is_url",
    "load_site",
    "local_resources",
    "parse_definition",
    "parse_metadata",
    "read_dataset",
    "read_metadata_bytes",
    "validate_record",
]

MAX_DEPTH = 32
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


@dataclass(frozen=True)
class Dataset:
    """A dataset folder, its one metadata file and the record read from it (a JSON object)."""

    folder: Path
    metadata_file: Path
    record: dict[str, Any]


# ---------------------------------------------------------------- dataset files


def find_metadata_file(folder: Path, *, semaphore: str = DEFAULT_SEMAPHORE) -> Path:
    """The one ``META_*.json`` of a dataset folder (files this tool writes never count)."""
    folder = Path(folder)
    try:
        names = sorted(
            e.name
            for e in os.scandir(folder)
            if e.name.startswith(METADATA_PREFIX)
            and e.name.endswith(METADATA_SUFFIX)
            and e.name not in (semaphore, STATUS_FILE)
            and not e.is_dir(follow_symlinks=False)
        )
    except NotADirectoryError:
        raise DatasetError(
            Problem(str(folder), "is not a folder", "give the dataset's folder")
        ) from None
    except OSError as exc:
        raise DatasetError(
            Problem(
                str(folder),
                f"cannot be listed ({exc.strerror or exc})",
                "check that the folder exists and is readable",
            )
        ) from None
    if not names:
        raise DatasetError(
            Problem(
                str(folder),
                "no Maggot metadata file (META_*.json) here",
                "describe the dataset in Maggot and save it in this folder",
            )
        )
    if len(names) > 1:
        raise DatasetError(
            Problem(
                str(folder),
                "several Maggot metadata files: " + ", ".join(names),
                "keep exactly one META_*.json in a dataset folder",
            )
        )
    return folder / names[0]


def read_dataset(
    folder: Path, *, site: Site, max_size: int = 5_000_000, semaphore: str = DEFAULT_SEMAPHORE
) -> Dataset:
    """Find, read, parse and validate a dataset's Maggot metadata."""
    path = find_metadata_file(folder, semaphore=semaphore)
    record = parse_metadata(read_metadata_bytes(path, max_size), path.name)
    problems = validate_record(record, site.schema or builtin_schema())
    if problems:
        raise DatasetError(problems)
    return Dataset(Path(folder), path, record)


def read_metadata_bytes(path: Path, max_size: int) -> bytes:
    """The file's bytes: refused when a symlink, not a regular file, or larger than max_size."""
    name = path.name
    try:
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode):
            raise DatasetError(
                Problem(
                    name,
                    "is a symbolic link, which is refused for safety",
                    "replace the link by the file itself",
                )
            )
        if not stat.S_ISREG(st.st_mode):
            raise DatasetError(Problem(name, "is not a regular file", "make it a plain file"))
        if st.st_size > max_size:
            raise DatasetError(_too_big(name, st.st_size, max_size))
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(max_size + 1)
    except DatasetError:
        raise
    except OSError as exc:
        raise DatasetError(
            Problem(name, f"cannot be read ({exc.strerror or exc})", "check the file's permissions")
        ) from None
    if len(data) > max_size:
        raise DatasetError(_too_big(name, len(data), max_size))
    return data


def _too_big(name: str, size: int, limit: int) -> Problem:
    return Problem(
        name,
        f"is {size} bytes, more than the {limit}-byte limit for metadata",
        "remove what does not belong in the metadata, or raise maggot.max_metadata_size",
    )


def parse_metadata(data: bytes, name: str = "metadata") -> dict[str, Any]:
    """UTF-8 JSON text (a BOM is fine) → a JSON object, checked for depth and odd Unicode."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DatasetError(
            Problem(name, f"is not UTF-8 text (bad byte at line {line})", "save the file as UTF-8")
        ) from None

    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not allowed in JSON")

    try:
        record = json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as exc:
        raise DatasetError(
            Problem(
                name,
                f"is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
                "correct the JSON syntax there, or save it again from Maggot",
            )
        ) from None
    except ValueError as exc:
        raise DatasetError(
            Problem(name, f"is not valid JSON ({exc})", "save it again from Maggot")
        ) from None
    except RecursionError:
        raise DatasetError(_too_deep(name)) from None
    if not isinstance(record, dict):
        raise DatasetError(
            Problem(
                name,
                f"holds {kind_of(record)}, not a JSON object",
                "a Maggot metadata file is one JSON object {...}",
            )
        )
    _check_content(record, name)
    return record


def _too_deep(name: str) -> Problem:
    return Problem(
        name,
        f"is nested more than {MAX_DEPTH} levels deep",
        "a Maggot record is flat; save it again from Maggot",
    )


def _check_content(record: dict[str, Any], name: str) -> None:
    """Refuse deep nesting and unpaired surrogates (they cannot be written as UTF-8)."""
    stack: list[tuple[Any, int]] = [(record, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise DatasetError(_too_deep(name))
        if isinstance(node, dict):
            for k, v in node.items():
                stack.append((k, depth))
                stack.append((v, depth + 1))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                raise DatasetError(
                    Problem(
                        name,
                        "holds text with invalid Unicode (a lone surrogate escape such as \\ud800)",
                        "retype the odd characters",
                    )
                ) from None


# ---------------------------------------------------------------- resources


def is_url(location: str) -> bool:
    return bool(_URL.match(location.strip()))


def local_resources(record: dict[str, Any]) -> list[str]:
    """Resource locations that are not URLs, as written (files the dataset declares)."""
    out = []
    items = record.get("resources") if isinstance(record, dict) else None
    for item in items if isinstance(items, list) else ():
        loc = item.get("location") if isinstance(item, dict) else None
        if isinstance(loc, str) and loc.strip() and not is_url(loc):
            out.append(loc)
    return out
