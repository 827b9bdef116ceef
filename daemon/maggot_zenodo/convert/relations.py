"""Related identifiers and references: a dataset's resources and its publication → Zenodo links.

Maggot's definition file gives every resource the relation ``hasPart``, so an article, a poster
and a protocol all become parts of the dataset. Here the relation follows the resource's data
type (DataCite resourceTypeGeneral, as Maggot's resource picker offers it): data is a part,
documentation documents the dataset, other works are referenced, and the publication the
dataset underlies is supplemented. Pure functions; every doubt becomes a :class:`Problem`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from maggot_zenodo.convert import zenodo_rules
from maggot_zenodo.convert.maggot import is_url
from maggot_zenodo.convert.problems import Problem, warning
from maggot_zenodo.convert.tidy import text

# Maggot's mapping of resource data types (DataCite resourceTypeGeneral) to Zenodo types.
DATATYPE_TO_ZENODO = {
    "Audiovisual": "video", "Book": "publication", "BookChapter": "publication",
    "Collection": "dataset", "ComputationalNotebook": "other",
    "ConferencePaper": "presentation", "ConferenceProceeding": "presentation",
    "DataPaper": "publication", "Dataset": "dataset", "Dissertation": "publication",
    "Event": "other", "Image": "image", "InteractiveResource": "other",
    "Journal": "publication", "JournalArticle": "publication", "Model": "other",
    "Other": "other", "OutputManagementPlan": "other", "PeerReview": "publication",
    "PhysicalObject": "physicalobject", "Preprint": "publication", "Report": "publication",
    "Service": "other", "Software": "software", "Sound": "other", "Standard": "other",
    "Text": "other", "Workflow": "other",
}  # fmt: skip
PUBLICATION_RELATION = "isSupplementTo"
#: The relation Maggot's definition file gives every resource; it is replaced by the one the
#: resource's data type implies. A site that writes another relation keeps its own.
MAGGOT_DEFAULT_RELATION = "hasPart"
# Data: parts of the dataset. Protocols, methods, reports, plans: what documents it.
_DATA = frozenset(
    {"Dataset", "Collection", "Image", "Audiovisual", "Sound", "Model", "PhysicalObject"}
)
_DOCUMENTATION = frozenset({"Report", "OutputManagementPlan", "DataPaper", "Standard", "Text"})
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\.\S+)$", re.IGNORECASE)
_HTTP = re.compile(r"^https?://", re.IGNORECASE)
# HAL ids as idutils (Zenodo's identifier library) knows them: "hal-03626433", "tel-01234567v2",
# old "sic_00001234"; "hal:" in front is the CURIE form, and "hal:03626433" (as researchers
# write it in Maggot) names the "hal-" document with that number.
# Zenodo's legacy API ignores the scheme sent and detects it from the identifier, among the
# schemes InvenioRDM allows (RDM_RECORDS_IDENTIFIERS_SCHEMES: doi, url, handle, arxiv, ...),
# which do not include "hal": a HAL document is linked by its address, which HAL keeps.
HAL_URL = "https://hal.science/"
_HAL = re.compile(r"^(?:hal:\s*)?((?:[a-z]{3,}-|(?:sic|mem|ijn)_)?\d{8}(?:v\d+)?)$", re.I)


@dataclass(frozen=True)
class Link:
    """One Zenodo related identifier."""

    identifier: str
    scheme: str
    relation: str
    resource_type: str = ""

    def as_json(self) -> dict[str, str]:
        out = {"identifier": self.identifier, "relation": self.relation, "scheme": self.scheme}
        return {**out, "resource_type": self.resource_type} if self.resource_type else out


def doi_of(value: str) -> str | None:
    """The bare DOI in a DOI, ``doi:`` id or doi.org URL, trimmed of stray punctuation."""
    v = value.strip().strip("()[]<>\"'").rstrip(".,;:")
    m = _DOI_URL.match(v)
    if m:
        v = m.group(1)
    elif v.casefold().startswith("doi:"):
        v = v[4:].strip()
    return v if zenodo_rules.DOI.match(v) else None


def hal_of(value: str) -> str | None:
    """The HAL id in ``hal:03626433``, ``hal-03626433`` or ``hal:hal-03626433``, else None."""
    v = value.strip().strip("()[]<>\"'").rstrip(".,;:")
    m = _HAL.match(v)
    if not m or (not v.casefold().startswith("hal:") and m.group(1)[:1].isdigit()):
        return None  # eight bare digits could be anything
    ident = m.group(1).lower()
    return ident if not ident[:1].isdigit() else f"hal-{ident}"


def relation_for(datatype: str) -> str:
    """The relation of a resource to the dataset, from its DataCite data type."""
    if datatype in _DATA:
        return "hasPart"
    if datatype in _DOCUMENTATION:
        return "isDocumentedBy"
    return "references"  # publications, software, services, other works


def resource_link(
    obj: dict[str, str], datatype: str, where: str
) -> tuple[dict[str, str] | None, Problem | None]:
    """A resource's link as the definition table built it, with scheme and relation fixed.

    None for a local file (uploaded, not linked, as Maggot does), and None with a warning for
    an address Zenodo cannot link (Maggot drops it silently).
    """
    ident = obj.get("identifier", "")
    if not is_url(ident):
        return None, None
    if _HTTP.match(ident):
        ident = obj["identifier"] = ident.replace(" ", "%20")  # as a browser sends it
    if not zenodo_rules.is_link(ident):
        scheme = ident.split(":", 1)[0]
        return None, warning(
            where,
            f'"{ident}" is a {scheme} address Zenodo cannot link, and not a file in the '
            "dataset folder; left out",
            "give an https:// address, or put the file in the dataset folder and write its name",
        )
    doi = doi_of(ident) if _DOI_URL.match(ident) else None
    obj["identifier"], obj["scheme"] = (doi, "doi") if doi else (ident, "url")
    if obj.get("relation", MAGGOT_DEFAULT_RELATION) == MAGGOT_DEFAULT_RELATION:
        obj["relation"] = relation_for(datatype)
    rtype = obj.get("resource_type")
    if rtype is not None and rtype not in zenodo_rules.RESOURCE_TYPES:
        obj["resource_type"] = DATATYPE_TO_ZENODO.get(rtype, "other")
    return obj, None


def publication_links(record: Mapping[str, Any]) -> tuple[list[Link], list[Problem]]:
    """The publication the dataset underlies (its DOIs, HAL ids or URL) → ``isSupplementTo``."""
    idtype, number = record.get("publication_idtype"), record.get("publication_idnumber")
    links: list[Link] = []
    problems: list[Problem] = []
    if isinstance(number, str) and number.strip():
        unknown = []
        for token in (t for t in re.split(r"[,;\s]+", number.strip()) if t):
            link = _publication_link(token)
            if link is None:
                unknown.append(token)
            else:
                links.append(link)
        if not links and isinstance(idtype, str) and idtype.casefold() == "doi":
            problems.append(
                warning(
                    "publication_idnumber",
                    f'"{number.strip()}" holds no DOI; the publication is not linked',
                    "write the DOI, e.g. 10.1093/jxb/eraa302",
                )
            )
        elif links and unknown:
            problems.append(
                warning(
                    "publication_idnumber",
                    f"{', '.join(unknown)}: neither a DOI, a HAL id nor a web address; left out",
                    "write DOIs (10.1093/jxb/eraa302) or HAL ids (hal-03626433)",
                )
            )
    url = record.get("publication_url")
    if not links and isinstance(url, str) and url.strip():
        link = _publication_link(url.strip().replace(" ", "%20"))
        if link is None:
            problems.append(
                warning(
                    "publication_url",
                    f'"{url.strip()}" is not an address Zenodo can link; the publication is '
                    "not linked",
                    "give its DOI in publication_idnumber, or an https:// address",
                )
            )
        links += [link] if link else []
    return links, problems


def references(record: Mapping[str, Any]) -> list[str]:
    """The publication's citation, as Zenodo's ``references`` (a list of citation strings)."""
    citation = text(record.get("publication_citation"))
    return [citation] if citation else []


def _publication_link(token: str) -> Link | None:
    doi = doi_of(token)
    if doi:
        return Link(doi, "doi", PUBLICATION_RELATION, "publication")
    hal = hal_of(token)
    if hal:
        return Link(HAL_URL + hal, "url", PUBLICATION_RELATION, "publication")
    if zenodo_rules.is_link(token):
        return Link(token, "url", PUBLICATION_RELATION, "publication")
    return None
