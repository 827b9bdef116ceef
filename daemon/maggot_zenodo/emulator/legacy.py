"""Metadata as Zenodo stores it and reads it back in legacy form (pure functions).

Zenodo converts legacy metadata into its own model on the way in and back on the way out, so
what a client reads is not what it sent: defaults appear (``access_right``, ``publication_date``,
``imprint_publisher``, a licence), licences come back under their legacy ids, two-letter
languages as three-letter codes, thesis supervisors as contributors of type ``Supervisor``,
relation and contributor types in their canonical spelling, a creator name with one comma as
``Family, Given``. The emulator stores the read-back form, computed once per create or PUT.
"""

from __future__ import annotations

import copy
import datetime
from typing import Any

from maggot_zenodo.emulator import licences
from maggot_zenodo.emulator import vocabularies as vocab
from maggot_zenodo.emulator.validation import split_name


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def doi_of(recid: int) -> str:
    """The DOI Zenodo gives (and prereserves for) a record id."""
    return f"10.5281/zenodo.{recid}"


def today() -> str:
    return datetime.date.today().isoformat()


def with_defaults(md: dict[str, Any]) -> dict[str, Any]:
    """Zenodo's defaults: today's date, Zenodo as publisher, open access; a licence when the
    metadata is not empty and access is open or embargoed (CC0 for a dataset, else CC BY 4.0):
    a bare create or ``{"metadata": {}}`` gets no licence."""
    out = dict(md)
    out.setdefault("publication_date", today())
    out.setdefault("imprint_publisher", "Zenodo")
    access = out.setdefault("access_right", "open")
    if md and "license" not in md and access in ("open", "embargoed"):
        out["license"] = "cc0-1.0" if md.get("upload_type") == "dataset" else "cc-by-4.0"
    return out


def _person(person: Any) -> Any:
    if not isinstance(person, dict) or not isinstance(person.get("name"), str):
        return person
    family, given = split_name(person["name"])
    return {**person, "name": f"{family}, {given}" if given else family}


def _contributor(person: Any) -> Any:
    person = _person(person)
    if isinstance(person, dict) and isinstance(person.get("type"), str):
        kind = vocab.CONTRIBUTOR_NAMES.get(person["type"].lower())
        person = {**person, "type": kind} if kind else person
    return person


def _related(item: Any) -> Any:
    if isinstance(item, dict) and isinstance(item.get("relation"), str):
        name = vocab.RELATION_NAMES.get(item["relation"].lower())
        return {**item, "relation": name} if name else item
    return item


def read_back(md: dict[str, Any]) -> dict[str, Any]:
    """The stored (legacy read-back) form of validated metadata."""
    out = copy.deepcopy(md)
    lic = out.get("license")
    if isinstance(lic, dict):
        lic = lic.get("id")
    if isinstance(lic, str):
        stored = licences.resolve(lic)
        out["license"] = licences.read_back(stored) if stored else lic
    if out.get("access_right") == "closed":
        out["access_right"] = "restricted"
    lang = out.get("language")
    if isinstance(lang, str) and len(lang) == 2:
        out["language"] = vocab.LANGUAGE_3.get(lang.lower(), lang)
    if isinstance(out.get("creators"), list):
        out["creators"] = [_person(p) for p in out["creators"]]
    supervisors = out.pop("thesis_supervisors", None)
    people = [
        {**p, "type": "Supervisor"} if isinstance(p, dict) else p
        for p in (supervisors if isinstance(supervisors, list) else [])
    ]
    if isinstance(out.get("contributors"), list):
        people += out["contributors"]
    if people:
        out["contributors"] = [_contributor(p) for p in people]
    if isinstance(out.get("related_identifiers"), list):
        out["related_identifiers"] = [_related(r) for r in out["related_identifiers"]]
    return out


def stored(md: dict[str, Any]) -> dict[str, Any]:
    """What Zenodo keeps for a create or PUT body's metadata."""
    return read_back(with_defaults(md))


def for_new_version(md: dict[str, Any]) -> dict[str, Any]:
    """A new version's metadata: the latest version's, without DOI, version "" and dated
    today."""
    out = copy.deepcopy(md)
    out.pop("doi", None)
    out["version"] = ""
    out["publication_date"] = today()
    return out
