"""Maggot record → Zenodo deposit metadata. Pure: no I/O; ``load_site`` did the reading.

The site's definition table (``zenodo.txt``, or the built-in equivalent) drives the
mapping, as in Maggot's converter; on top of it this module fixes what Maggot gets wrong
(names, licenses, languages, dates, publication DOIs, duplicates) and builds the JSON as
data. Every doubt becomes a :class:`Problem` naming the Maggot field.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from maggot_zenodo.convert import zenodo_rules
from maggot_zenodo.convert.languages import language_code
from maggot_zenodo.convert.licenses import license_id, suggest
from maggot_zenodo.convert.maggot import DefRow, Site, is_url, local_resources
from maggot_zenodo.convert.people import (
    clean_text,
    match_key,
    normalize_orcid,
    split_name,
    zenodo_name,
)
from maggot_zenodo.convert.problems import Problem, warning

__all__ = ["Conversion", "convert", "doi_of", "grant_id", "local_resources"]

VALUE, DICO, ONTO = "#VALUE", "#DICO", "#ONTO"
ACCESS_RIGHTS = {"public": "open", "private": "closed", "mixte": "restricted"}
FUNDER_DOIS = {"ANR": "10.13039/501100001665", "EU": "10.13039/501100000780"}
_EU_NAMES = {
    "eu",
    "ec",
    "european commission",
    "european union",
    "erc",
    "h2020",
    "horizon 2020",
    "horizon europe",
    "fp7",
}
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
_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\.\S+)$", re.IGNORECASE)
_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_HTTP = re.compile(r"^https?://", re.IGNORECASE)
# ANR ids as the agency writes them (ANR-11-INBS-0012, ANR-20-CE20-0001, ANR-10-LABX-0001-01);
# EU grant agreement numbers (FP7 283595, Horizon Europe 101017536): digits only.
_ANR_AWARD = re.compile(r"^ANR-\d{2}-[A-Z0-9]{2,8}-\d{4}(?:-\d{2})?$")
_EU_AWARD = re.compile(r"^\d{6,9}$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Conversion:
    """The Zenodo metadata (None when an error stops it) and every problem met."""

    metadata: dict | None
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return self.metadata is not None

    @property
    def errors(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.is_error)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if not p.is_error)


def convert(
    record: dict, site: Site, *, communities: Sequence[str] = (), today: datetime.date
) -> Conversion:
    """Convert one Maggot record; ``today`` becomes the publication date."""
    if not isinstance(record, dict):
        return Conversion(None, (Problem("(record)", "is not a JSON object"),))
    b = _Builder(record, site)
    b.apply_definition()
    b.add_extras(communities, today)
    metadata = _prune(b.md)
    _deduplicate(metadata)
    problems = list(b.problems)
    if not metadata.get("creators") and not any(
        p.field.startswith(b.creators_field) for p in problems
    ):
        problems.append(
            Problem(
                b.creators_field,
                "at least one author is required",
                "add the authors in Maggot's form",
            )
        )
    if not any(p.is_error for p in problems):
        problems += zenodo_rules.validate(metadata)
    if any(p.is_error for p in problems):
        return Conversion(None, tuple(problems))
    return Conversion(metadata, tuple(problems))


def text(value: Any) -> str:
    """One line of text: trimmed, inner white space collapsed, control characters gone."""
    return clean_text(value) if isinstance(value, str) else ""


def long_text(value: Any) -> str:
    """Several lines of text: trimmed, control characters other than newlines and tabs gone."""
    return _CONTROL.sub("", value).strip() if isinstance(value, str) else ""


def doi_of(value: str) -> str | None:
    """The bare DOI in a DOI, ``doi:`` id or doi.org URL, trimmed of stray punctuation."""
    v = value.strip().strip("()[]<>\"'").rstrip(".,;:")
    m = _DOI_URL.match(v)
    if m:
        v = m.group(1)
    elif v.casefold().startswith("doi:"):
        v = v[4:].strip()
    return v if _DOI.match(v) else None


class _Builder:
    def __init__(self, record: dict, site: Site) -> None:
        self.record, self.site = record, site
        self.md: dict[str, Any] = {}
        self.problems: list[Problem] = []
        self.creators_field = "authors"
        self.license_field = "license"
        self.unresolved_topics: list[str] = []
        self._index: dict[str, dict[str, tuple[str, ...]]] = {}

    # ------------------------------------------------------------ definition table

    def apply_definition(self) -> None:
        rows = self.site.definition
        i = 0
        while i < len(rows):
            row = rows[i]
            if row.multiple:
                j = i + 1
                while (
                    j < len(rows)
                    and rows[j].level >= 1
                    and not rows[j].multiple
                    and not rows[j].array
                    and rows[j].type == row.type
                    and rows[j].field in (row.field, "")
                ):
                    j += 1
                self._objects(row, rows[i + 1 : j])
                i = j
                continue
            if row.level == 0:
                if row.array:
                    self._string_list(row)
                elif not row.field:
                    self._constant(row)
                else:
                    self._scalar(row)
            i += 1

    def _list_at(self, key: str) -> list:
        """The list under ``key``, made one if a site's definition put something else there."""
        if not isinstance(self.md.get(key), list):
            self.md[key] = []
        return self.md[key]

    def _constant(self, row: DefRow) -> None:
        value = row.value_type
        if row.type == "communities":
            slugs = [s.strip() for s in value.split(",") if s.strip()]
            self._list_at("communities").extend({"identifier": s} for s in slugs)
        elif value in ("true", "false"):
            self.md[row.type] = value == "true"
        elif value:
            self.md[row.type] = row.prefix + value

    def _string_list(self, row: DefRow) -> None:
        values = self.record.get(row.field)
        if values is None:
            return
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list):
            self.problems.append(
                Problem(row.field, "expected a list of text", "save the record again from Maggot")
            )
            return
        out = self._list_at(row.type)
        for v in values:
            if isinstance(v, str) and text(v):
                out.append(row.prefix + text(v))

    def _scalar(self, row: DefRow) -> None:
        if row.field not in self.record:
            return
        raw = self.record[row.field]
        if row.value_type != VALUE:
            if row.value_type and row.value_type not in (DICO, ONTO):
                self.md[row.type] = row.prefix + row.value_type
            return
        if isinstance(raw, list) and all(isinstance(v, str) for v in raw):
            raw = ", ".join(v for v in raw if v.strip())
        if not isinstance(raw, str):
            self.problems.append(Problem(row.field, "expected text", "save it again from Maggot"))
            return
        value = long_text(raw) if row.type in ("description", "notes", "method") else text(raw)
        if not value:
            return
        if row.type == "access_right":
            self._access_right(row.field, value)
        elif row.type == "license":
            self._license(row.field, value)
        else:
            self.md[row.type] = row.prefix + value

    def _access_right(self, field: str, value: str) -> None:
        key = value.casefold()
        mapped = ACCESS_RIGHTS.get(key) or (key if key in zenodo_rules.ACCESS_RIGHTS else None)
        if mapped is None:
            self.problems.append(
                Problem(
                    field,
                    f'"{value}" is not an access right Maggot knows',
                    "choose Public, Mixte or Private",
                )
            )
        else:
            self.md["access_right"] = mapped

    def _license(self, field: str, value: str) -> None:
        self.license_field = field
        lid, hint = license_id(value)
        if lid is None:
            self.problems.append(
                Problem(field, f'"{value}" is not a license Zenodo knows', hint or suggest(value))
            )
            return
        self.md["license"] = lid

    # ------------------------------------------------------------ objects

    def _objects(self, opener: DefRow, props: Sequence[DefRow]) -> None:
        if opener.type == "creators" and opener.field:
            self.creators_field = opener.field
        if opener.field not in self.record:
            return
        value = self.record[opener.field]
        items = value if opener.array else [value]
        if isinstance(items, str):
            items = [items]
        if not isinstance(items, list):
            self.problems.append(
                Problem(opener.field, "expected a list", "save the record again from Maggot")
            )
            return
        out = []
        for k, item in enumerate(items):
            where = f"{opener.field}[{k}]" if opener.array else opener.field
            obj = self._object(opener, props, item, where)
            if obj:
                out.append(obj)
        if opener.array:
            self._list_at(opener.type).extend(out)
        elif out:
            self.md[opener.type] = out[0]

    def _object(
        self, opener: DefRow, props: Sequence[DefRow], item: Any, where: str
    ) -> dict | None:
        kind = opener.type
        if kind in ("creators", "contributors", "grants", "subjects") and not isinstance(item, str):
            self.problems.append(Problem(where, "expected text", "save it again from Maggot"))
            return None
        if kind == "related_identifiers" and not isinstance(item, dict):
            self.problems.append(
                Problem(where, "expected a resource object", "save it again from Maggot")
            )
            return None
        obj: dict[str, Any] = {}
        unresolved = False
        entry: tuple[str, ...] | None = None
        for p in props:
            if not p.prop:
                continue
            if p.value_type == VALUE:
                v = item.get(p.value_source) if isinstance(item, dict) else item
                v = text(v) if isinstance(v, str) else ""
            elif p.value_type == DICO:
                name = p.value_source.removeprefix("cvlist:")
                entry = self._lookup(name, item) if isinstance(item, str) else None
                v = entry[p.index] if entry and p.index is not None and p.index < len(entry) else ""
                unresolved = unresolved or not v
            elif p.value_type == ONTO:
                v = ""  # ontology look-ups need the network; see the topics handling below
                unresolved = True
            else:
                v = p.value_type
            if v:
                obj[p.prop] = p.prefix + v
        if kind in ("creators", "contributors"):
            return self._person(obj, item, where)
        if kind == "grants":
            return self._grant(obj, item, where)
        if kind == "related_identifiers":
            return self._related(obj, where)
        if kind == "subjects" and unresolved:
            self.unresolved_topics.append(obj.get("term") or text(item))
            return None
        return obj

    def _lookup(self, dictionary: str, item: str) -> tuple[str, ...] | None:
        if dictionary not in self._index:
            index: dict[str, tuple[str, ...]] = {}
            for row in self.site.dictionaries.get(dictionary, ()):
                if dictionary == "people" and len(row) >= 2:
                    index.setdefault(match_key(f"{row[0]} {row[1]}"), row)
                    index.setdefault(match_key(f"{row[1]} {row[0]}"), row)
                elif row:
                    index.setdefault(match_key(row[0]), row)
            self._index[dictionary] = index
        return self._index[dictionary].get(match_key(item))

    def _person(self, obj: dict, item: str, where: str) -> dict | None:
        raw = obj.get("name") or text(item)
        entry = self._lookup("people", item)
        if entry and len(entry) >= 2 and text(entry[0]) and text(entry[1]):
            obj["name"] = zenodo_name(entry[0], entry[1])
        else:
            parts = split_name(raw)
            if parts is None:
                self.problems.append(
                    Problem(
                        where,
                        f'"{raw}" has no given name; Zenodo needs "Family, Given"',
                        'write the person as "Last First" (e.g. "Jacob Daniel") or add them to '
                        "the people dictionary",
                    )
                )
                return None
            obj["name"] = zenodo_name(*parts)
        if "orcid" in obj:
            orcid = normalize_orcid(obj["orcid"])
            if orcid is None:
                self.problems.append(
                    warning(
                        where,
                        f'ORCID "{obj["orcid"]}" is not valid; left out',
                        "correct it in the people dictionary",
                    )
                )
                del obj["orcid"]
            else:
                obj["orcid"] = orcid
        return obj

    def _grant(self, obj: dict, item: str, where: str) -> dict | None:
        entry = self._lookup("grant", item)
        award = obj.get("id", "")
        agency = text(entry[1]) if entry and len(entry) > 1 else ""
        if not award:
            award = text(item)  # not in the dictionary: maybe the award number itself
        gid = grant_id(award, agency)
        if gid is None:
            if "grant" not in self.site.dictionaries:
                self.problems.append(
                    warning(
                        where,
                        f'"{text(item)}" cannot be looked up: no grant dictionary is '
                        "configured; left out",
                        "set maggot.cvlist_dir to Maggot's cvlist folder",
                    )
                )
            elif entry is None:
                self.problems.append(
                    warning(
                        where,
                        f'"{text(item)}" is not in the site\'s grant dictionary; left out',
                        "add it to cvlist/grant/grant.txt with its agency and award number",
                    )
                )
            elif agency.casefold() == "anr" or agency.casefold() in _EU_NAMES:
                self.problems.append(
                    warning(
                        where,
                        f'the award "{award}" of "{text(item)}" is not an {agency} award id '
                        "Zenodo can name; left out",
                        "write it as ANR-11-INBS-0012 (ANR) or as the grant agreement number "
                        "(European Commission) in cvlist/grant/grant.txt",
                    )
                )
            else:
                self.problems.append(
                    warning(
                        where,
                        f'the funder of "{text(item)}" ({agency or "no agency"}) is not one '
                        "Zenodo's grants can name here (ANR, European Commission); left out",
                    )
                )
            return None
        return {**obj, "id": gid}

    def _related(self, obj: dict, where: str) -> dict | None:
        ident = obj.get("identifier", "")
        if not is_url(ident):
            return None  # a local file: uploaded, not linked (as Maggot does)
        if _HTTP.match(ident):
            ident = obj["identifier"] = ident.replace(" ", "%20")  # as a browser sends it
        if not zenodo_rules.is_link(ident):
            # Maggot drops it silently: neither a link Zenodo takes nor a file to upload.
            scheme = ident.split(":", 1)[0]
            self.problems.append(
                warning(
                    where,
                    f'"{ident}" is a {scheme} address Zenodo cannot link, and not a file in the '
                    "dataset folder; left out",
                    "give an https:// address, or put the file in the dataset folder and "
                    "write its name",
                )
            )
            return None
        doi = _DOI_URL.match(ident)
        if doi and _DOI.match(doi.group(1)):
            obj["identifier"], obj["scheme"] = doi.group(1), "doi"
        else:
            obj["scheme"] = "url"
        rtype = obj.get("resource_type")
        if rtype is not None and rtype not in zenodo_rules.RESOURCE_TYPES:
            obj["resource_type"] = DATATYPE_TO_ZENODO.get(rtype, "other")
        return obj

    # ------------------------------------------------------------ beyond the table

    def add_extras(self, communities: Sequence[str], today: datetime.date) -> None:
        if self.unresolved_topics:
            # Maggot drops a topic whose ontology term it cannot resolve; keep it as a keyword.
            self._list_at("keywords").extend(self.unresolved_topics)
        if "language" not in self.md:
            self._language()
        if "dates" not in self.md:
            self._dates()
        self._publication()
        extra = [{"identifier": c.strip()} for c in communities if c and c.strip()]
        if extra:
            self._list_at("communities").extend(extra)
        self.md["publication_date"] = today.isoformat()
        refused = any(p.field == self.license_field for p in self.problems)
        if self.md.get("access_right") == "open" and not self.md.get("license") and not refused:
            self.problems.append(
                warning(
                    "license",
                    "an open dataset has no license, so reusers "
                    "cannot know what they may do with it",
                    "choose one in Maggot, e.g. etalab-2.0 or cc-by-4.0",
                )
            )

    def _language(self) -> None:
        langs = self.record.get("language")
        if isinstance(langs, str):
            langs = [langs]
        if not isinstance(langs, list):
            return
        codes = []
        for k, name in enumerate(langs):
            code = language_code(name) if isinstance(name, str) else None
            if code is None:
                self.problems.append(
                    warning(
                        f"language[{k}]",
                        f'"{name}" is not a language this tool can name in ISO 639; left out',
                    )
                )
            elif code not in codes:
                codes.append(code)
        if codes:
            self.md["language"] = codes[0]
        if len(codes) > 1:
            self.problems.append(
                warning(
                    "language",
                    f"Zenodo takes one language; {codes[0]} "
                    f"is sent, {', '.join(codes[1:])} left out",
                    "put the main language first",
                )
            )

    def _dates(self) -> None:
        entry = {"type": "Collected"}
        for key, field in (("start", "datestart"), ("end", "dateend")):
            raw = self.record.get(field)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            value = raw.strip()[:10] if isinstance(raw, str) else ""
            try:
                entry[key] = datetime.date.fromisoformat(value).isoformat()
            except ValueError:
                self.problems.append(
                    Problem(
                        field, f"{raw!r} is not a date as YYYY-MM-DD", "correct it in Maggot's form"
                    )
                )
        if "start" in entry and "end" in entry and entry["start"] > entry["end"]:
            self.problems.append(
                Problem(
                    "dateend",
                    "the collection ends before it starts",
                    "correct datestart or dateend",
                )
            )
        elif len(entry) > 1:
            self.md["dates"] = [entry]

    def _publication(self) -> None:
        idtype = self.record.get("publication_idtype")
        number = self.record.get("publication_idnumber")
        dois: list[str] = []
        if isinstance(number, str) and number.strip():
            dois = [d for d in map(doi_of, re.split(r"[,;\s]+", number)) if d]
            if not dois and isinstance(idtype, str) and idtype.casefold() == "doi":
                self.problems.append(
                    warning(
                        "publication_idnumber",
                        f'"{number.strip()}" holds no DOI; the publication is not linked',
                        "write the DOI, e.g. 10.1093/jxb/eraa302",
                    )
                )
        url = self.record.get("publication_url")
        if not dois and isinstance(url, str):
            d = doi_of(url)
            dois = [d] if d else []
        for d in dois:
            self._list_at("related_identifiers").append(
                {
                    "identifier": d,
                    "relation": PUBLICATION_RELATION,
                    "resource_type": "publication",
                    "scheme": "doi",
                }
            )


def grant_id(award: str, agency: str = "") -> str | None:
    """``<funder DOI>::<award>`` for an ANR or European Commission award, else None.

    Maggot takes the leading digits of any award as an EU grant ("12345_ERC" → "12345_");
    here an EU award must be the whole grant agreement number, so nothing is made up.
    """
    award = award.strip()
    if zenodo_rules._GRANT.match(award):
        return award
    a = agency.casefold()
    if _ANR_AWARD.match(award) and a in ("", "anr"):
        return f"{FUNDER_DOIS['ANR']}::{award}"
    if _EU_AWARD.match(award) and (a == "" or a in _EU_NAMES):
        return f"{FUNDER_DOIS['EU']}::{award}"
    return None


def _prune(value: Any) -> Any:
    """Drop empty strings, lists and objects, at every depth."""
    if isinstance(value, dict):
        out = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in ("", [], {}, None)}
    if isinstance(value, list):
        out = [_prune(v) for v in value]
        return [v for v in out if v not in ("", [], {}, None)]
    return value


def _unique(items: list, key: Any) -> list:
    seen, out = set(), []
    for item in items:
        k = key(item)
        if k not in seen:
            seen.add(k)
            out.append(item)
    return out


def _fold(v: Any) -> str:
    return v.casefold() if isinstance(v, str) else repr(v)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else obj


_DEDUP_KEYS: dict[str, Any] = {
    "keywords": _fold,
    "creators": lambda p: _fold(_get(p, "name")),
    "contributors": lambda p: (_fold(_get(p, "name")), _fold(_get(p, "type"))),
    "related_identifiers": lambda r: _fold(_get(r, "identifier")),
    "grants": lambda g: _fold(_get(g, "id")),
    "communities": lambda c: _fold(_get(c, "identifier")),
    "subjects": lambda s: (_fold(_get(s, "identifier")), _fold(_get(s, "term"))),
}


def _deduplicate(md: dict) -> None:
    """Each keyword, person-in-a-role, link, grant and community once; the first one wins."""
    for key, rule in _DEDUP_KEYS.items():
        if isinstance(md.get(key), list):
            md[key] = _unique(md[key], rule)
