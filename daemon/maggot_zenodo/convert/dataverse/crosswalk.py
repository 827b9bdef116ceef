"""Maggot record → Dataverse ``datasetVersion``: pure, through the site's ``dataverse.txt``.

``to_dataverse`` never sends anything: it returns the body to send, or every problem found.
JSON is built as data (never spliced as text); the licence is mapped to the site's licence list
by URI and is part of every body (a PUT without it would remove it).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from maggot_zenodo.convert.dataverse import values as v
from maggot_zenodo.convert.dataverse.blocks import BlockSet, Licence, stock
from maggot_zenodo.convert.dataverse.definition import BUILTIN, DvRow
from maggot_zenodo.convert.dataverse.licence import map_licence
from maggot_zenodo.convert.dataverse.render import required_problems, shape
from maggot_zenodo.convert.dataverse.validate import validate_version
from maggot_zenodo.convert.maggot import Site
from maggot_zenodo.convert.problems import Problem

MARKER_AGENCY = "maggot-zenodo"


@dataclass(frozen=True)
class DataverseConversion:
    """The body for ``POST .../datasets`` (``{"datasetVersion": ...}``) or the problems.

    ``version`` is what a ``PUT .../versions/:draft`` takes; ``problems`` holds warnings even
    when the conversion succeeded. ``licence`` is the site licence chosen (None: none).
    """

    version: dict[str, Any] | None
    problems: tuple[Problem, ...]
    licence: Licence | None = None
    metadata_language: str | None = None
    blocks_origin: str = ""
    definition_origin: str = ""
    marker: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def ok(self) -> bool:
        return self.version is not None

    def create_body(self) -> dict[str, Any]:
        assert self.version is not None
        body: dict[str, Any] = {"datasetVersion": self.version}
        if self.metadata_language:
            body["metadataLanguage"] = self.metadata_language
        return body


def _build(
    typename: str, record: Mapping[str, Any], value: Any, dicts: Any, problems: list[Problem]
) -> list[v.Value]:
    """The values of one Dataverse field, built the way that field needs."""
    names = v.texts(value)
    builders: dict[str, Callable[[], list[v.Value]]] = {
        "dsDescription": lambda: v.description(record),
        "datasetContact": lambda: v.contacts(names, dicts, problems),
        "author": lambda: v.authors(names, dicts),
        "producer": lambda: v.producers(names, dicts),
        "grantNumber": lambda: v.grants(names, dicts, problems),
        "keyword": lambda: v.terms(names, "keywordValue"),
        "topicClassification": lambda: v.terms(names, "topicClassValue"),
        "otherReferences": lambda: v.other_references(record),
    }
    builder = builders.get(typename)
    return builder() if builder is not None else list(names)


def _fields(
    record: Mapping[str, Any],
    rows: tuple[DvRow, ...],
    site: Site,
    blocks: BlockSet,
    problems: list[Problem],
) -> list[dict[str, Any]]:
    dicts = site.dictionaries
    out: list[dict[str, Any]] = []
    roles: list[tuple[str, list[str]]] = []
    publication_done = False

    def add(name: str, vals: list[v.Value], source: str) -> None:
        if vals:
            shaped = shape(name, vals, blocks, source, problems)
            if shaped is not None:
                out.append(shaped)

    for row in rows:
        value = record.get(row.field)
        if row.typename == "license" or value in (None, "", []):
            continue
        if row.group == "contributor":
            roles.append((row.typename, v.texts(value)))
        elif row.group == "publication":
            if not publication_done:
                publication_done = True
                add("publication", v.publication(record, problems), "publication")
        else:
            add(row.typename, _build(row.typename, record, value, dicts, problems), row.field)
    add("contributor", v.contributors(roles, dicts), "contributors")
    add("dateOfCollection", v.collection_dates(record, problems), "datestart/dateend")
    return out


def _add_marker(
    fields: list[dict[str, Any]], marker: str, blocks: BlockSet, problems: list[Problem]
) -> None:
    """The stable ``otherId`` that names this dataset (agency ``maggot-zenodo``)."""
    value = [{"otherIdAgency": MARKER_AGENCY, "otherIdValue": marker}]
    item = shape("otherId", list(value), blocks, "otherId", problems)
    if item is None:
        problems.append(
            Problem(
                "otherId",
                "this Dataverse has no otherId field: the dataset could not be found again",
                "enable the citation block",
            )
        )
    else:
        fields.append(item)


def _by_block(fields: list[dict[str, Any]], blocks: BlockSet) -> dict[str, dict[str, Any]]:
    grouped: dict[str, dict[str, Any]] = {}
    for item in fields:
        spec = blocks.get(item["typeName"])
        grouped.setdefault(spec.block if spec else "citation", {"fields": []})["fields"].append(
            item
        )
    return grouped


def to_dataverse(
    record: Mapping[str, Any],
    site: Site,
    *,
    marker: str,
    today: datetime.date,
    blocks: BlockSet | None = None,
    definition: tuple[DvRow, ...] | None = None,
    metadata_language: str | None = None,
    require_licence: bool = False,
) -> DataverseConversion:
    """Convert one record; ``marker`` goes in ``otherId`` (agency ``maggot-zenodo``).

    The dates Maggot adds (``dateOfDeposit``, ``dsDescriptionDate`` = today) are left out: a
    body that changes every day would make a new version of a published dataset every day.
    ``today`` is kept for rules that need the date of the conversion.
    """
    del today
    blocks = blocks or stock()
    problems: list[Problem] = []
    fields = _fields(record, definition or BUILTIN, site, blocks, problems)
    _add_marker(fields, marker, blocks, problems)
    sources = {row.typename: row.field for row in definition or BUILTIN}
    reported = {p.field for p in problems if p.is_error}
    problems += [
        p for p in required_problems(fields, blocks) if sources.get(p.field) not in reported
    ]
    licence, licence_problems = map_licence(record.get("license"), blocks, require_licence)
    problems += licence_problems
    version: dict[str, Any] = {"metadataBlocks": _by_block(fields, blocks)}
    if licence is not None:
        version["license"] = {"name": licence.name, "uri": licence.uri}
    problems += validate_version(version, blocks)
    ok = not any(p.is_error for p in problems)
    return DataverseConversion(
        version if ok else None,
        tuple(problems),
        licence,
        metadata_language or None,
        blocks.origin,
        "site dataverse.txt" if definition else "built-in dataverse.txt",
        marker,
    )
