"""Maggot values → Dataverse values, field by field (pure; no JSON shape yet).

Each builder returns plain values: a text, or a compound as ``{child typeName: text}``. The
fixes to Maggot's own converter live here: "Last, First" names with bare ORCIDs; producers that
do not inherit the previous one's URLs; grants keeping agency and award; one publication with
its relation; ``dateOfCollection`` from the record's dates; the texts kept whole.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from maggot_zenodo.convert.people import clean_text, match_key, normalize_orcid, split_name
from maggot_zenodo.convert.problems import Problem

Value = str | dict[str, str]
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Person:
    name: str  # "Family, Given"
    affiliation: str = ""
    orcid: str | None = None
    email: str = ""
    known: bool = False


def texts(value: Any) -> list[str]:
    """A Maggot value as a list of non-empty cleaned texts (a text alone becomes one item)."""
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, (str, int, float)) and not isinstance(item, bool):
            text = clean_text(str(item))
            if text:
                out.append(text)
    return out


def _rows(dictionaries: Mapping[str, Sequence[Sequence[str]]], name: str) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for row in dictionaries.get(name, ()):
        cells = [*row, *[""] * 5]
        key = match_key(f"{cells[0]} {cells[1]}") if name == "people" else match_key(cells[0])
        table.setdefault(key, list(cells))
    return table


def person(raw: str, dictionaries: Mapping[str, Sequence[Sequence[str]]]) -> Person:
    """A Maggot name, looked up in the people dictionary ("Last First", accents ignored)."""
    row = _rows(dictionaries, "people").get(match_key(raw))
    if row is not None and row[0].strip() and row[1].strip():
        return Person(
            f"{clean_text(row[0])}, {clean_text(row[1])}",
            clean_text(row[2]),
            normalize_orcid(row[3]) if row[3].strip() else None,
            row[4].strip(),
            True,
        )
    parts = split_name(raw)
    return Person(f"{parts[0]}, {parts[1]}" if parts else clean_text(raw))


def authors(names: list[str], dicts: Mapping[str, Sequence[Sequence[str]]]) -> list[Value]:
    out: list[Value] = []
    for raw in names:
        p = person(raw, dicts)
        value = {"authorName": p.name, "authorAffiliation": p.affiliation}
        if p.orcid:
            value.update(authorIdentifierScheme="ORCID", authorIdentifier=p.orcid)
        out.append({k: v for k, v in value.items() if v})
    return out


def contacts(
    names: list[str], dicts: Mapping[str, Sequence[Sequence[str]]], problems: list[Problem]
) -> list[Value]:
    """Points of contact; one without an e-mail is refused here (Dataverse would say 403)."""
    out: list[Value] = []
    for raw in names:
        p = person(raw, dicts)
        if not p.email:
            where = "is not in the people dictionary" if not p.known else "has no e-mail there"
            problems.append(
                Problem(
                    "contacts",
                    f"the contact “{raw}” {where}: Dataverse requires a contact e-mail",
                    "add the person with an e-mail (5th column) to cvlist/people/people.txt, or "
                    "choose a contact who has one",
                )
            )
            continue
        value = {
            "datasetContactName": p.name,
            "datasetContactAffiliation": p.affiliation,
            "datasetContactEmail": p.email,
        }
        out.append({k: v for k, v in value.items() if v})
    return out


def contributors(
    rows: list[tuple[str, list[str]]], dicts: Mapping[str, Sequence[Sequence[str]]]
) -> list[Value]:
    """(contributor type, names) pairs → one compound per person and role."""
    out: list[Value] = []
    for role, names in rows:
        for raw in names:
            p = person(raw, dicts)
            value = {
                "contributorType": role,
                "contributorName": p.name,
                "contributorAffiliation": p.affiliation,
            }
            if p.orcid:
                value.update(contributorIdentifierScheme="ORCID", contributorIdentifier=p.orcid)
            out.append({k: v for k, v in value.items() if v})
    return out


def producers(names: list[str], dicts: Mapping[str, Sequence[Sequence[str]]]) -> list[Value]:
    table = _rows(dicts, "producer")
    out: list[Value] = []
    for raw in names:
        row = table.get(match_key(raw)) or [raw, "", "", ""]
        value = {
            "producerName": clean_text(row[0]) or raw,
            "producerAffiliation": row[1],
            "producerURL": row[2] if _URL.match(row[2]) else "",
            "producerLogoURL": row[3] if _URL.match(row[3]) else "",
        }
        out.append({k: v.strip() for k, v in value.items() if v.strip()})
    return out


def grants(
    names: list[str], dicts: Mapping[str, Sequence[Sequence[str]]], problems: list[Problem]
) -> list[Value]:
    table = _rows(dicts, "grant")
    out: list[Value] = []
    for raw in names:
        row = table.get(match_key(raw))
        if row is None:
            problems.append(
                Problem(
                    "grantNumbers",
                    f"the grant “{raw}” is not in the grant dictionary: sent as its name alone",
                    "add it to cvlist/grant/grant.txt",
                    "warning",
                )
            )
            out.append({"grantNumberValue": raw})
            continue
        agency, award = row[1].strip(), row[2].strip()
        value = {"grantNumberAgency": agency, "grantNumberValue": award or clean_text(row[0])}
        out.append({k: v for k, v in value.items() if v})
    return out


def terms(names: list[str], child: str) -> list[Value]:
    return [{child: name} for name in names]


def publication(record: Mapping[str, Any], problems: list[Problem]) -> list[Value]:
    """One related publication, marked IsSupplementTo; an unusable id type is left out."""
    citation = texts(record.get("publication_citation"))
    number = texts(record.get("publication_idnumber"))
    url = texts(record.get("publication_url"))
    if not (citation or number or url):
        return []
    value = {
        "publicationRelationType": "IsSupplementTo",
        "publicationCitation": citation[0] if citation else "",
        "publicationIDNumber": number[0] if number else "",
        "publicationURL": url[0] if url and _URL.match(url[0]) else "",
    }
    id_type = texts(record.get("publication_idtype"))
    if id_type and id_type[0] not in ("-", ""):
        value["publicationIDType"] = id_type[0]
    return [{k: v for k, v in value.items() if v}]


def other_references(record: Mapping[str, Any]) -> list[Value]:
    """Resources that are links: "<datatype>: <description>, <url>"."""
    out: list[Value] = []
    for res in record.get("resources") or []:
        if not isinstance(res, dict):
            continue
        location = clean_text(str(res.get("location") or ""))
        if not _URL.match(location):
            continue
        label = ": ".join(
            t
            for t in (
                clean_text(str(res.get("datatype") or "")),
                clean_text(str(res.get("description") or "")),
            )
            if t
        )
        out.append(f"{label}, {location}" if label else location)
    return out


def collection_dates(record: Mapping[str, Any], problems: list[Problem]) -> list[Value]:
    start = texts(record.get("datestart"))
    end = texts(record.get("dateend"))
    value: dict[str, str] = {}
    for key, got in (("dateOfCollectionStart", start), ("dateOfCollectionEnd", end)):
        if got and _DATE.match(got[0]):
            value[key] = got[0]
        elif got:
            problems.append(
                Problem(
                    key.replace("dateOfCollection", "date").lower(),
                    f"“{got[0]}” is not a date (YYYY-MM-DD): left out",
                    "write the date as YYYY-MM-DD",
                    "warning",
                )
            )
    return [value] if value else []


def description(record: Mapping[str, Any]) -> list[Value]:
    """The description with its paragraphs (only surrounding white space is trimmed)."""
    raw = record.get("description")
    text = raw.strip() if isinstance(raw, str) else ""
    text = "".join(c for c in text if c in "\n\t" or ord(c) >= 32)
    return [{"dsDescriptionValue": text}] if text else []
