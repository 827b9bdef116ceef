"""Read a Maggot dataset (its one ``META_*.json``) and a Maggot site's definition files.

Reading is where hostile input is met: every way a metadata file can be wrong (missing,
doubled, a symlink, too big, not UTF-8, not JSON, too deep, not Maggot) becomes a
:class:`DatasetError` naming the file and the fix; nothing here raises anything else.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from maggot_zenodo.convert.problems import DatasetError, Problem

STATUS_FILE = "META_zenodo.txt"
MAX_DEPTH = 32
_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_FALSE_TRUE = {"TRUE": True, "FALSE": False}


class SiteError(DatasetError):
    """A site definition file or dictionary that cannot be used (a configuration problem)."""


@dataclass(frozen=True)
class DefRow:
    """One line of a Maggot definition file (``zenodo.txt``)."""

    field: str
    type: str
    level: int
    array: bool
    multiple: bool
    prop: str
    value_type: str
    value_source: str
    index: int | None
    prefix: str


@dataclass(frozen=True)
class Site:
    """What a Maggot site defines: the Zenodo mapping, dictionaries and the record schema."""

    definition: tuple[DefRow, ...]
    dictionaries: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    schema: Mapping[str, Any] = field(default_factory=dict)
    ontologies: tuple[tuple[str, ...], ...] = ()
    origin: str = "built-in"


@dataclass(frozen=True)
class Dataset:
    folder: Path
    metadata_file: Path
    record: dict


# ---------------------------------------------------------------- site files


def _read_tsv(path: Path, what: str) -> list[list[str]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SiteError(
            Problem(
                str(path),
                f"the {what} cannot be read ({exc.strerror or exc})",
                "make it readable by the service user",
            )
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # dictionaries edited in a Windows spreadsheet
    rows = []
    for line in text.splitlines():
        if line.strip():
            rows.append(line.split("\t"))
    return rows


def parse_definition(rows: list[list[str]], source: str) -> tuple[DefRow, ...]:
    """Rows of ``zenodo.txt`` (header first) → :class:`DefRow` s; errors name the line."""
    if rows and rows[0] and rows[0][0].strip().casefold() == "field":
        rows = rows[1:]
        first = 2
    else:
        first = 1
    out = []
    for n, cells in enumerate(rows, start=first):
        # Cells are trimmed, except a Prefix, whose trailing space may be meant.
        cells = [c.strip() for c in cells[:9]] + [c.strip("\r\n") for c in cells[9:10]]
        cells = [*cells, *[""] * (10 - len(cells))]
        if not cells[1]:
            continue
        try:
            level = int(cells[2] or 0)
            array = _FALSE_TRUE[cells[3].upper() or "FALSE"]
            multiple = _FALSE_TRUE[cells[4].upper() or "FALSE"]
            index = int(cells[8]) if cells[8] else None
        except (ValueError, KeyError):
            raise SiteError(
                Problem(
                    f"{source}, line {n}",
                    "Level and Index must be numbers, Array and Multiple TRUE or FALSE",
                    "correct that line of the definition file",
                )
            ) from None
        out.append(
            DefRow(
                cells[0],
                cells[1],
                level,
                array,
                multiple,
                cells[5],
                cells[6],
                cells[7],
                index,
                cells[9],
            )
        )
    return tuple(out)


@cache
def builtin_definition() -> tuple[DefRow, ...]:
    text = resources.files("maggot_zenodo").joinpath("data/zenodo-definition.txt").read_text()
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    return parse_definition(rows, "built-in zenodo-definition.txt")


@cache
def builtin_schema() -> dict[str, Any]:
    text = resources.files("maggot_zenodo").joinpath("data/maggot-schema.json").read_text()
    return json.loads(text)


def load_site(conf_dir: Path | None, cvlist_dir: Path | None) -> Site:
    """The site's definition files and dictionaries; built-ins for what is not configured."""
    definition, schema, ontologies, origin = builtin_definition(), builtin_schema(), (), []
    if conf_dir is not None:
        conf_dir = Path(conf_dir)
        if not conf_dir.is_dir():
            raise SiteError(
                Problem(
                    str(conf_dir),
                    "maggot.conf_dir is not a folder",
                    "point maggot.conf_dir at Maggot's web/conf folder",
                )
            )
        zen = conf_dir / "zenodo.txt"
        if zen.is_file():
            definition = parse_definition(_read_tsv(zen, "Zenodo definition file"), str(zen))
            origin.append(str(zen))
        mapping = conf_dir / "mapping.txt"
        if mapping.is_file():
            rows = _read_tsv(mapping, "mapping file")[1:]
            ontologies = tuple(tuple(c.strip() for c in r) for r in rows)
        sch = conf_dir / "maggot-schema.json"
        if sch.is_file():
            schema = _load_schema(sch)
            origin.append(str(sch))
    dictionaries: dict[str, tuple[tuple[str, ...], ...]] = {}
    if cvlist_dir is not None:
        cvlist_dir = Path(cvlist_dir)
        if not cvlist_dir.is_dir():
            raise SiteError(
                Problem(
                    str(cvlist_dir),
                    "maggot.cvlist_dir is not a folder",
                    "point maggot.cvlist_dir at Maggot's web/cvlist folder",
                )
            )
        for sub in sorted(cvlist_dir.iterdir()):
            path = sub / f"{sub.name}.txt"
            if sub.is_dir() and path.is_file():
                rows = _read_tsv(path, f"{sub.name} dictionary")
                dictionaries[sub.name] = tuple(tuple(c.strip() for c in r) for r in rows)
                origin.append(str(path))
    return Site(definition, dictionaries, schema, ontologies, ", ".join(origin) or "built-in")


def _load_schema(path: Path) -> dict[str, Any]:
    try:
        schema = json.loads(path.read_text("utf-8-sig"))
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except (OSError, ValueError, jsonschema.SchemaError) as exc:
        raise SiteError(
            Problem(
                str(path),
                f"the site's Maggot schema is unusable ({exc})",
                "fix it or remove it to use the built-in schema",
            )
        ) from None
    if not isinstance(schema, dict):
        raise SiteError(
            Problem(
                str(path),
                "the site's Maggot schema is not a JSON object",
                "fix it or remove it to use the built-in schema",
            )
        )
    return schema


# ---------------------------------------------------------------- dataset files


def find_metadata_file(folder: Path, *, semaphore: str = "META_datafile_ok.txt") -> Path:
    """The one ``META_*.json`` of a dataset folder (files this tool writes never count)."""
    folder = Path(folder)
    try:
        names = sorted(
            e.name
            for e in os.scandir(folder)
            if e.name.startswith("META_")
            and e.name.endswith(".json")
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
    folder: Path, *, site: Site, max_size: int = 5_000_000, semaphore: str = "META_datafile_ok.txt"
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


def parse_metadata(data: bytes, name: str = "metadata") -> dict:
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
                f"holds {_kind(record)}, not a JSON object",
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


def _check_content(record: dict, name: str) -> None:
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


def _kind(value: Any) -> str:
    return {
        list: "a list",
        str: "a string",
        bool: "true/false",
        type(None): "null",
        int: "a number",
        float: "a number",
        dict: "an object",
    }.get(type(value), "a value")


# ---------------------------------------------------------------- schema


_REQUIRED = {
    "authors": "at least one author is required",
    "contacts": "at least one contact is required",
    "subject": "at least one subject is required",
    "kindOfData": "at least one kind of data is required",
    "title": "a short name is required",
    "fulltitle": "a full title is required",
    "description": "a description is required",
    "profile": "the profile (the URL of Maggot's schema) is required",
}
_PLURAL = {
    "subject": "subjects",
    "kindOfData": "kinds of data",
    "access_rights": "access rights",
    "language": "languages",
    "status": "statuses",
    "dataOrigin": "data origins",
    "publication_idtype": "publication id types",
}
_TYPES = {
    "string": "text",
    "array": "a list",
    "object": "an object",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def field_path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def validate_record(record: dict, schema: Mapping[str, Any]) -> list[Problem]:
    """Every way ``record`` breaks the Maggot schema, in a researcher's words."""
    cls = jsonschema.validators.validator_for(schema)
    try:
        errors = list(cls(schema).iter_errors(record))
    except Exception as exc:  # a broken site schema ($ref, recursion): report, never crash
        return [
            Problem(
                "",
                f"the record cannot be checked against the schema ({exc})",
                "check the site's maggot-schema.json",
            )
        ]
    problems = []
    seen = set()
    for err in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        p = _explain(err)
        if (p.field, p.message) not in seen:
            seen.add((p.field, p.message))
            problems.append(p)
    return problems


def _explain(err: jsonschema.ValidationError) -> Problem:
    where = field_path(err.absolute_path)
    top = str(err.absolute_path[0]) if err.absolute_path else ""
    kind = err.validator
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else "?"
        path = f"{where}.{missing}" if where else missing
        msg = _REQUIRED.get(missing, "this field is required")
        return Problem(path, msg, "fill it in Maggot's form")
    if kind == "minItems" and where in _REQUIRED:
        return Problem(where, _REQUIRED[where], "fill it in Maggot's form")
    if kind in ("minLength",) and where in _REQUIRED:
        return Problem(where, _REQUIRED[where], "fill it in Maggot's form")
    if kind == "enum":
        allowed = ", ".join(str(v) for v in err.validator_value)
        label = _PLURAL.get(top, top)
        value = err.instance if isinstance(err.instance, str) else json.dumps(err.instance)[:60]
        return Problem(
            where,
            f'"{value}" is not one of Maggot\'s {label}: {allowed}',
            "choose one of those values in Maggot's form",
        )
    if kind == "type":
        wanted = err.validator_value
        names = [_TYPES.get(w, w) for w in (wanted if isinstance(wanted, list) else [wanted])]
        return Problem(
            where or "(record)",
            f"expected {' or '.join(names)}, found {_kind(err.instance)}",
            "save the record again from Maggot",
        )
    if kind == "uniqueItems":
        return Problem(where, "lists the same value twice", "remove the repeated value")
    if kind in ("minItems", "minLength"):
        return Problem(where, "must not be empty", "fill it in Maggot's form")
    return Problem(where or "(record)", err.message[:300], "see the site's Maggot schema")


# ---------------------------------------------------------------- resources


def is_url(location: str) -> bool:
    return bool(_URL.match(location.strip()))


def local_resources(record: dict) -> list[str]:
    """Resource locations that are not URLs, as written (files the dataset declares)."""
    out = []
    items = record.get("resources") if isinstance(record, dict) else None
    for item in items if isinstance(items, list) else ():
        loc = item.get("location") if isinstance(item, dict) else None
        if isinstance(loc, str) and loc.strip() and not is_url(loc):
            out.append(loc)
    return out
