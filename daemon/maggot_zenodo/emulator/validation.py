"""Zenodo's metadata rules as the emulator enforces them: pure functions, no I/O.

Create and PUT only reject structural problems (:func:`check_body`); required fields are
checked at publish (:func:`check_publish`). Errors use Zenodo's shape:
``{"field": "metadata.x", "messages": [...]}``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from maggot_zenodo.emulator import licences
from maggot_zenodo.emulator import vocabularies as vocab
from maggot_zenodo.emulator.errors import ApiError

Error = dict[str, Any]


def _words(text: str) -> list[str]:
    return text.split()


#: Metadata keys of the legacy deposit API; any other key is dropped silently.
KNOWN_KEYS = frozenset(
    _words(
        """upload_type publication_type image_type publication_date title creators description
    access_right license embargo_date access_conditions doi prereserve_doi keywords notes
    related_identifiers contributors references communities grants journal_title journal_volume
    journal_issue journal_pages conference_title conference_acronym conference_dates
    conference_place conference_url conference_session conference_session_part imprint_publisher
    imprint_isbn imprint_place partof_title partof_pages thesis_supervisors thesis_university
    subjects version language locations dates method"""
    )
)
_LISTS = frozenset(
    _words(
        """creators contributors keywords related_identifiers references communities grants
    thesis_supervisors subjects locations dates"""
    )
)
_STRINGS = frozenset(
    _words(
        """upload_type publication_type image_type title description access_right embargo_date
    access_conditions notes version language method publication_date"""
    )
)
_DATE_FIELDS = ("publication_date", "embargo_date")
_OWN_MESSAGES = frozenset({"related_identifiers", "communities"})  # checked with Zenodo's texts


def error(field: str, *messages: str) -> Error:
    return {"field": field, "messages": list(messages)}


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _license_error(value: Any) -> Error | None:
    field = "metadata.license"
    if isinstance(value, dict):
        if "id" not in value:
            return error(field, f"Invalid license object provided (missing 'id' key): {value}")
        value = value["id"]
    if not isinstance(value, str):
        return error(
            field,
            f"Invalid license value provided (expected string, or object with 'id' key): {value}",
        )
    if licences.resolve(value) is None:
        return error(field, f"Invalid license provided: {value}")
    return None


def check_access(md: dict[str, Any]) -> None:
    """Zenodo's access rule, checked once the fields are sound: an access right it cannot map
    (an unknown value, or ``embargoed`` without ``embargo_date``) is refused without a field."""
    access = md.get("access_right")
    known = access in (None, "open", "restricted", "closed")
    if not known and not (access == "embargoed" and md.get("embargo_date")):
        raise ApiError(400, "Unknown access type.")
    for entry in md.get("dates") or []:
        if isinstance(entry, dict) and "type" not in entry:
            # Zenodo reads the type without a default: the request ends in a server error.
            raise ApiError(500, "Internal server error.")


def check_body(body: Any) -> tuple[dict[str, Any], list[Error]]:
    """Validate a create/PUT body; return the metadata kept and the field errors found (the
    access rule raises :class:`ApiError` itself, as Zenodo refuses it without a field)."""
    if not isinstance(body, dict):
        return {}, [error("", "Invalid input type.")]
    errors = [error(key, "Unknown field.") for key in body if key != "metadata"]
    metadata = body.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        return {}, [*errors, error("metadata", "Invalid input type.")]
    dropped = ("prereserve_doi", "doi")  # the DOI is Zenodo's to give
    kept = {k: v for k, v in metadata.items() if k in KNOWN_KEYS and k not in dropped}
    errors += check_metadata(kept)
    if not errors:
        check_access(kept)
    return kept, errors


def check_metadata(md: dict[str, Any]) -> list[Error]:
    """Structural checks Zenodo makes at create and PUT."""
    errors: list[Error] = []
    for key, value in md.items():
        if key in _LISTS and key not in _OWN_MESSAGES and not isinstance(value, list):
            errors.append(error(f"metadata.{key}", "Not a valid list."))
        elif key in _STRINGS and not isinstance(value, str):
            errors.append(error(f"metadata.{key}", "Not a valid string."))
    bad = {e["field"].removeprefix("metadata.") for e in errors}
    for key in _DATE_FIELDS:
        if key in md and key not in bad and not _is_date(md[key]):
            errors.append(error(f"metadata.{key}", "Not a valid date."))
    license_error = _license_error(md["license"]) if "license" in md else None
    if license_error:
        errors.append(license_error)
    if "language" in md and "language" not in bad and md["language"] not in vocab.LANGUAGES:
        errors.append(error("metadata.language", f"Invalid language: {md['language']}"))
    errors += _check_related(md.get("related_identifiers"))
    if "dates" not in bad:
        for i, entry in enumerate(md.get("dates") or []):
            if not isinstance(entry, dict) or not (entry.get("start") or entry.get("end")):
                errors.append(error(f"metadata.dates.{i}", "There must be at least one date set."))
    communities = md.get("communities")
    if communities and not (
        isinstance(communities, list)
        and all(isinstance(c, dict) and isinstance(c.get("identifier"), str) for c in communities)
    ):
        message = "Communities must be an array of objects with an 'identifier' key."
        errors.append(error("communities", message))
    return errors


def _check_related(items: Any) -> list[Error]:
    if items is None:
        return []
    if not isinstance(items, list):
        return [error("metadata.related_identifiers", "related_identifiers must be a list")]
    errors = []
    for i, item in enumerate(items):
        field = f"metadata.related_identifiers.{i}"
        if not isinstance(item, dict):
            errors.append(error(field, "Each related identifier must be an object"))
            continue
        ident, relation = item.get("identifier"), item.get("relation")
        if not isinstance(ident, str) or not ident.strip():
            errors.append(error(f"{field}.identifier", "Missing data for required field."))
        if relation is not None and not isinstance(relation, str):
            errors.append(error(f"{field}.relation", "relation must be a string"))
        elif not isinstance(relation, str) or relation.lower() not in vocab.RELATIONS:
            errors.append(error(f"{field}.relation", f"Invalid relation type: {relation}"))
        for opt in ("resource_type", "scheme"):
            if opt in item and not isinstance(item[opt], str):
                errors.append(error(f"{field}.{opt}", "Not a valid string."))
    return errors


def check_publish(md: dict[str, Any], file_count: int) -> list[Error]:
    """Required fields and resolvable references, checked only when publishing."""
    errors: list[Error] = []
    if md.get("upload_type") not in vocab.UPLOAD_TYPES:
        errors.append(error("metadata.upload_type", "Missing data for required field."))
    errors += _check_creators(md.get("creators"))
    title = md.get("title")
    if not isinstance(title, str) or len(title.strip()) < 3:
        errors.append(error("metadata.title", "Shorter than minimum length 3."))
    if not _is_date(md.get("publication_date")):
        errors.append(error("metadata.publication_date", "Missing data for required field."))
    for i, person in enumerate(md.get("contributors") or []):
        kind = person.get("type") if isinstance(person, dict) else None
        if kind not in vocab.CONTRIBUTOR_TYPES:
            errors.append(error(f"metadata.contributors.{i}.type", f"Invalid value: {kind}"))
    for i, grant in enumerate(md.get("grants") or []):
        gid = grant.get("id") if isinstance(grant, dict) else None
        if not known_award(gid):
            errors.append(error(f"metadata.grants.{i}.id", f"Unknown award: {gid}"))
    if file_count == 0:
        errors.append(error("files.enabled", "Missing uploaded files."))
    return errors


def _check_creators(creators: Any) -> list[Error]:
    if not isinstance(creators, list) or not creators:
        return [error("metadata.creators", "Missing data for required field.")]
    errors = []
    for i, person in enumerate(creators):
        name = person.get("name") if isinstance(person, dict) else None
        if not isinstance(name, str) or not name.strip():
            errors.append(error(f"metadata.creators.{i}.name", "Missing data for required field."))
    return errors


def split_name(name: str) -> tuple[str, str]:
    """Zenodo's split of a creator name: family and given names around exactly one comma;
    any other name is all family name (no error)."""
    if name.count(",") != 1:
        return name.strip(), ""
    family, _, given = name.partition(",")
    return family.strip(), given.strip()


def known_award(grant_id: Any) -> bool:
    """True for awards the emulator treats as known (see vocabularies.KNOWN_FUNDERS).

    ``<funder DOI>::<award>`` for a known funder, or a bare number (Zenodo's historical default
    funder, the European Commission).
    """
    if not isinstance(grant_id, str):
        return False
    funder, sep, award = grant_id.partition("::")
    if not sep:
        funder, award = "10.13039/501100000780", grant_id
    pattern = vocab.KNOWN_FUNDERS.get(funder)
    return pattern is not None and re.fullmatch(pattern, award) is not None
