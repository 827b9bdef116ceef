"""A Maggot site's definition files: the Zenodo mapping (``zenodo.txt``), the dictionaries of
``cvlist/`` and the record schema; built-in equivalents for what a site does not configure.

Read once at start (a configuration problem is a :class:`SiteError`, which names the file).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema

from maggot_zenodo.convert.problems import DatasetError, Problem

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
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_site(conf_dir: Path | None, cvlist_dir: Path | None) -> Site:
    """The site's definition files and dictionaries; built-ins for what is not configured."""
    definition, schema = builtin_definition(), builtin_schema()
    ontologies: tuple[tuple[str, ...], ...] = ()
    origin: list[str] = []
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
