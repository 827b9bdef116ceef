"""Zenodo's metadata rules (see ZENODO-API.md), checked locally before any request.

A record that breaks them would be refused at create, PUT or publish; finding it here
gives the researcher one clear list instead of a 400 from the server, and a record that
passes is one Zenodo will take.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from maggot_zenodo.convert.languages import is_language_code
from maggot_zenodo.convert.licenses import ZENODO_LICENSES
from maggot_zenodo.convert.problems import Problem

UPLOAD_TYPES = frozenset(
    [
        "publication",
        "poster",
        "presentation",
        "dataset",
        "image",
        "video",
        "software",
        "lesson",
        "physicalobject",
        "other",
    ]
)
ACCESS_RIGHTS = frozenset({"open", "embargoed", "restricted", "closed"})
CONTRIBUTOR_TYPES = frozenset(
    [
        "ContactPerson",
        "DataCollector",
        "DataCurator",
        "DataManager",
        "Distributor",
        "Editor",
        "HostingInstitution",
        "Producer",
        "ProjectLeader",
        "ProjectManager",
        "ProjectMember",
        "RegistrationAgency",
        "RegistrationAuthority",
        "RelatedPerson",
        "Researcher",
        "ResearchGroup",
        "RightsHolder",
        "Supervisor",
        "Sponsor",
        "WorkPackageLeader",
        "Other",
    ]
)
RELATIONS = frozenset(
    [
        "isCitedBy",
        "cites",
        "isSupplementTo",
        "isSupplementedBy",
        "isContinuedBy",
        "continues",
        "isNewVersionOf",
        "isPreviousVersionOf",
        "isPartOf",
        "hasPart",
        "isReferencedBy",
        "references",
        "isDocumentedBy",
        "documents",
        "isCompiledBy",
        "compiles",
        "isVariantFormOf",
        "isOriginalFormOf",
        "isIdenticalTo",
        "isAlternateIdentifier",
        "isReviewedBy",
        "reviews",
        "isDerivedFrom",
        "isSourceOf",
        "requires",
        "isRequiredBy",
        "isDescribedBy",
        "describes",
        "hasMetadata",
        "isMetadataFor",
        "hasVersion",
        "isVersionOf",
        "isObsoletedBy",
        "obsoletes",
        "isPublishedIn",
        "collects",
        "isCollectedBy",
    ]
)
RESOURCE_TYPES = UPLOAD_TYPES | frozenset(
    [
        "publication-annotationcollection",
        "publication-book",
        "publication-section",
        "publication-conferencepaper",
        "publication-datamanagementplan",
        "publication-article",
        "publication-patent",
        "publication-preprint",
        "publication-deliverable",
        "publication-milestone",
        "publication-proposal",
        "publication-report",
        "publication-softwaredocumentation",
        "publication-taxonomictreatment",
        "publication-technicalnote",
        "publication-thesis",
        "publication-workingpaper",
        "publication-other",
        "image-figure",
        "image-plot",
        "image-drawing",
        "image-diagram",
        "image-photo",
        "image-other",
    ]
)
SCHEMES = frozenset(
    [
        "doi",
        "url",
        "handle",
        "ark",
        "arxiv",
        "isbn",
        "issn",
        "eissn",
        "lissn",
        "istc",
        "lsid",
        "pmid",
        "pmcid",
        "purl",
        "upc",
        "urn",
        "ean13",
        "ads",
        "gnd",
        "orcid",
        "other",
    ]
)
DATE_TYPES = frozenset(
    {
        "Collected",
        "Valid",
        "Withdrawn",
        "Accepted",
        "Available",
        "Copyrighted",
        "Created",
        "Issued",
        "Submitted",
        "Updated",
        "Other",
    }
)
KNOWN_KEYS = frozenset(
    [
        "upload_type",
        "publication_type",
        "image_type",
        "publication_date",
        "title",
        "creators",
        "description",
        "access_right",
        "license",
        "embargo_date",
        "access_conditions",
        "doi",
        "prereserve_doi",
        "keywords",
        "notes",
        "related_identifiers",
        "contributors",
        "references",
        "communities",
        "grants",
        "journal_title",
        "journal_volume",
        "journal_issue",
        "journal_pages",
        "conference_title",
        "conference_acronym",
        "conference_dates",
        "conference_place",
        "conference_url",
        "conference_session",
        "conference_session_part",
        "imprint_publisher",
        "imprint_isbn",
        "imprint_place",
        "partof_title",
        "partof_pages",
        "thesis_supervisors",
        "thesis_university",
        "subjects",
        "version",
        "language",
        "locations",
        "dates",
        "method",
        "custom",
    ]
)
GRANT = re.compile(r"^10\.\d{4,9}/\S+::\S+$")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def is_link(value: str) -> bool:
    """True for an address Zenodo takes as a ``url`` identifier (http or https, no spaces)."""
    return bool(_URL.match(value))


def _iso_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def validate(metadata: Any) -> list[Problem]:
    """Every rule of Zenodo's deposit API that ``metadata`` breaks (empty list: it passes)."""
    if not isinstance(metadata, dict):
        return [Problem("metadata", "must be a JSON object")]
    out: list[Problem] = []

    def bad(field: str, message: str, hint: str = "") -> None:
        out.append(Problem(f"metadata.{field}", message, hint))

    for key in metadata:
        if key not in KNOWN_KEYS:
            bad(key, "is not a Zenodo metadata field", "correct the site's zenodo.txt")
    if metadata.get("upload_type") not in UPLOAD_TYPES:
        bad(
            "upload_type",
            f"must be one of {', '.join(sorted(UPLOAD_TYPES))}",
            "set upload_type in the definition file, e.g. dataset",
        )
    title = metadata.get("title")
    if not isinstance(title, str) or len(title.strip()) < 3:
        bad("title", "must be at least 3 characters long", "give the dataset a full title")
    if not _iso_date(metadata.get("publication_date")):
        bad("publication_date", "must be a date as YYYY-MM-DD")
    if "description" in metadata and not (
        isinstance(metadata["description"], str) and metadata["description"].strip()
    ):
        bad("description", "must be non-empty text")
    _creators(metadata.get("creators"), bad)
    _contributors(metadata.get("contributors"), bad)
    access = metadata.get("access_right", "open")
    if access not in ACCESS_RIGHTS:
        bad("access_right", f"must be one of {', '.join(sorted(ACCESS_RIGHTS))}")
    if access == "embargoed" and not _iso_date(metadata.get("embargo_date")):
        bad("embargo_date", "is required as YYYY-MM-DD when access_right is embargoed")
    lic = metadata.get("license")
    if "license" in metadata and not (isinstance(lic, str) and lic.casefold() in ZENODO_LICENSES):
        bad(
            "license",
            f"{metadata['license']!r} is not a license id Zenodo knows",
            "use an id such as cc-by-4.0, cc0-1.0 or etalab-2.0",
        )
    if "language" in metadata:
        lang = metadata["language"]
        if not is_language_code(lang):
            bad("language", f"{lang!r} is not an ISO 639 language code", "use e.g. eng or fra")
    _strings("keywords", metadata.get("keywords"), bad)
    _strings("references", metadata.get("references"), bad)
    _dates(metadata.get("dates"), bad)
    _related(metadata.get("related_identifiers"), bad)
    _grants(metadata.get("grants"), bad)
    _communities(metadata.get("communities"), bad)
    _subjects(metadata.get("subjects"), bad)
    return out


def _list(name: str, value: Any, bad: Any) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        bad(name, "must be a list")
        return []
    return value


def _strings(name: str, value: Any, bad: Any) -> None:
    for i, v in enumerate(_list(name, value, bad)):
        if not isinstance(v, str) or not v.strip():
            bad(f"{name}[{i}]", "must be non-empty text")


def _person(name: str, p: Any, bad: Any) -> None:
    if not isinstance(p, dict):
        bad(name, "must be an object with a name")
        return
    n = p.get("name")
    if not isinstance(n, str) or n.count(",") != 1 or not all(s.strip() for s in n.split(",")):
        bad(
            f"{name}.name",
            f'{n!r} is not "Family, Given" with exactly one comma',
            'write the person as "Last First" or "Last, First"',
        )
    for key in ("affiliation", "orcid", "gnd"):
        if key in p and not (isinstance(p[key], str) and p[key].strip()):
            bad(f"{name}.{key}", "must be non-empty text")
    orcid = p.get("orcid")
    if isinstance(orcid, str) and not re.fullmatch(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]", orcid):
        bad(f"{name}.orcid", f"{p['orcid']!r} is not an ORCID iD")


def _creators(value: Any, bad: Any) -> None:
    items = _list("creators", value, bad)
    if not items:
        bad("creators", "at least one creator is required", "list the dataset's authors")
    for i, p in enumerate(items):
        _person(f"creators[{i}]", p, bad)


def _contributors(value: Any, bad: Any) -> None:
    for i, p in enumerate(_list("contributors", value, bad)):
        _person(f"contributors[{i}]", p, bad)
        if isinstance(p, dict) and p.get("type") not in CONTRIBUTOR_TYPES:
            bad(f"contributors[{i}].type", f"{p.get('type')!r} is not a Zenodo contributor type")


def _dates(value: Any, bad: Any) -> None:
    for i, d in enumerate(_list("dates", value, bad)):
        if not isinstance(d, dict) or not (d.get("start") or d.get("end")):
            bad(f"dates[{i}]", "needs a start or an end")
            continue
        for key in ("start", "end"):
            if key in d and not _iso_date(d[key]):
                bad(f"dates[{i}].{key}", "must be a date as YYYY-MM-DD")
        if d.get("type") not in DATE_TYPES:
            bad(f"dates[{i}].type", f"{d.get('type')!r} is not a Zenodo date type")
        if _iso_date(d.get("start")) and _iso_date(d.get("end")) and d["start"] > d["end"]:
            bad(f"dates[{i}]", "starts after it ends")


def _related(value: Any, bad: Any) -> None:
    for i, r in enumerate(_list("related_identifiers", value, bad)):
        name = f"related_identifiers[{i}]"
        if not isinstance(r, dict):
            bad(name, "must be an object")
            continue
        ident, scheme = r.get("identifier"), r.get("scheme")
        if not isinstance(ident, str) or not ident.strip():
            bad(f"{name}.identifier", "is required")
        elif scheme == "doi" and not DOI.match(ident):
            bad(f"{name}.identifier", f"{ident!r} is not a DOI")
        elif scheme == "url" and not _URL.match(ident):
            bad(f"{name}.identifier", f"{ident!r} is not a URL")
        if r.get("relation") not in RELATIONS:
            bad(f"{name}.relation", f"{r.get('relation')!r} is not a Zenodo relation")
        if "resource_type" in r and r["resource_type"] not in RESOURCE_TYPES:
            bad(f"{name}.resource_type", f"{r['resource_type']!r} is not a Zenodo resource type")
        if scheme is not None and scheme not in SCHEMES:
            bad(f"{name}.scheme", f"{scheme!r} is not an identifier scheme Zenodo knows")


def _grants(value: Any, bad: Any) -> None:
    for i, g in enumerate(_list("grants", value, bad)):
        gid = g.get("id") if isinstance(g, dict) else None
        if not isinstance(gid, str) or not GRANT.match(gid):
            bad(
                f"grants[{i}].id",
                f'{gid!r} is not "<funder DOI>::<award number>"',
                "e.g. 10.13039/501100001665::ANR-11-INBS-0012",
            )


def _communities(value: Any, bad: Any) -> None:
    for i, c in enumerate(_list("communities", value, bad)):
        ident = c.get("identifier") if isinstance(c, dict) else None
        if not isinstance(ident, str) or not re.fullmatch(r"[a-z0-9_-]+", ident):
            bad(f"communities[{i}].identifier", f"{ident!r} is not a community slug")


def _subjects(value: Any, bad: Any) -> None:
    for i, s in enumerate(_list("subjects", value, bad)):
        if not isinstance(s, dict) or not all(
            isinstance(s.get(k), str) and s[k].strip() for k in ("term", "identifier")
        ):
            bad(f"subjects[{i}]", "needs a term and an identifier")
