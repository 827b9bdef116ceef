"""Maggot's ``dataverse.txt``: which Maggot field feeds which Dataverse field.

TSV columns ``Field``, ``Typename``, ``Type`` (``contributor`` / ``publication`` groups),
``Terminology`` (``cvlist:<dictionary>`` or ``cv:<ontology>``) and an optional ``Block``. The
built-in table is the one Maggot ships; the site's file replaces it when ``maggot.conf_dir``
holds one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from maggot_zenodo.convert.problems import DatasetError, Problem


@dataclass(frozen=True)
class DvRow:
    field: str
    typename: str
    group: str = ""
    terminology: str = ""
    block: str = "citation"


_PEOPLE = "cvlist:people"
BUILTIN: tuple[DvRow, ...] = (
    DvRow("fulltitle", "title"),
    DvRow("subject", "subject"),
    DvRow("description", "dsDescription"),
    DvRow("note", "notesText"),
    DvRow("language", "language"),
    DvRow("license", "license"),
    DvRow("contacts", "datasetContact", "", _PEOPLE),
    DvRow("authors", "author", "", _PEOPLE),
    DvRow("collectors", "Data Collector", "contributor", _PEOPLE),
    DvRow("curators", "Data Curator", "contributor", _PEOPLE),
    DvRow("members", "Project Member", "contributor", _PEOPLE),
    DvRow("leader", "Project Leader", "contributor", _PEOPLE),
    DvRow("wpleader", "Work Package Leader", "contributor", _PEOPLE),
    DvRow("depositor", "depositor"),
    DvRow("producer", "producer", "", "cvlist:producer"),
    DvRow("grantNumbers", "grantNumber", "", "cvlist:grant"),
    DvRow("keywords", "keyword", "", "cv:bponto"),
    DvRow("topics", "topicClassification", "", "cv:bponto"),
    DvRow("kindOfData", "kindOfData"),
    DvRow("dataOrigin", "dataOrigin"),
    DvRow("lifeCycleStep", "lifeCycleStep"),
    DvRow("publication_citation", "publicationCitation", "publication"),
    DvRow("publication_idtype", "publicationIDType", "publication"),
    DvRow("publication_idnumber", "publicationIDNumber", "publication"),
    DvRow("publication_url", "publicationURL", "publication"),
    DvRow("resources", "otherReferences"),
)


def parse_definition(text: str, source: str) -> tuple[DvRow, ...]:
    """Rows of a ``dataverse.txt`` (header line optional); errors name the line."""
    rows: list[DvRow] = []
    for n, line in enumerate(text.splitlines(), start=1):
        cells = [c.strip() for c in line.split("\t")]
        if not any(cells) or (n == 1 and cells[0].casefold() == "field"):
            continue
        if len(cells) < 2 or not cells[0] or not cells[1]:
            raise DatasetError(
                Problem(
                    f"{source}, line {n}",
                    "a row needs at least a Field and a Typename",
                    "correct that line of dataverse.txt (columns separated by tabs)",
                )
            )
        cells += [""] * (5 - len(cells))
        rows.append(DvRow(cells[0], cells[1], cells[2], cells[3], cells[4] or "citation"))
    return tuple(rows)


def load_definition(conf_dir: Path | None) -> tuple[tuple[DvRow, ...], str]:
    """(rows, origin): the site's ``dataverse.txt`` when ``conf_dir`` holds one, else built in."""
    path = Path(conf_dir) / "dataverse.txt" if conf_dir is not None else None
    if path is None or not path.is_file():
        return BUILTIN, "built-in dataverse.txt"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(
            Problem(
                str(path),
                f"cannot be read ({exc.strerror or exc})",
                "make it readable by the service user",
            )
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return parse_definition(text, str(path)), str(path)
