"""Maggot record → Zenodo deposit metadata. Pure: no I/O; ``load_site`` did the reading.

The site's definition table (``zenodo.txt``, or the built-in equivalent) drives the
mapping, as in Maggot's converter; on top of it this module fixes what Maggot gets wrong
(names, licenses, languages, dates, publication DOIs, duplicates) and builds the JSON as
data. Every doubt becomes a :class:`Problem` naming the Maggot field.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from maggot_zenodo.convert import extras, relations, zenodo_rules
from maggot_zenodo.convert.funding import grant_id, unnamed_grant
from maggot_zenodo.convert.licenses import license_id, suggest
from maggot_zenodo.convert.maggot import DefRow, Site, local_resources
from maggot_zenodo.convert.people import match_key, normalize_orcid, split_name, zenodo_name
from maggot_zenodo.convert.problems import Problem, warning
from maggot_zenodo.convert.relations import doi_of
from maggot_zenodo.convert.tidy import as_html, deduplicate, long_text, prune, text

__all__ = ["Conversion", "convert", "doi_of", "grant_id", "local_resources"]

VALUE, DICO, ONTO = "#VALUE", "#DICO", "#ONTO"
ACCESS_RIGHTS = {"public": "open", "private": "closed", "mixte": "restricted"}


@dataclass(frozen=True)
class Conversion:
    """The Zenodo metadata (None when an error stops it) and every problem met."""

    metadata: dict[str, Any] | None
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
    record: object, site: Site, *, communities: Sequence[str] = (), today: datetime.date
) -> Conversion:
    """Convert one Maggot record (any JSON value is met); ``today`` is the publication date."""
    if not isinstance(record, dict):
        return Conversion(None, (Problem("(record)", "is not a JSON object"),))
    b = _Builder(record, site)
    b.apply_definition()
    b.add_extras(communities, today)
    metadata = prune(b.md)
    deduplicate(metadata)
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


class _Builder:
    def __init__(self, record: dict[str, Any], site: Site) -> None:
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

    def _list_at(self, key: str) -> list[Any]:
        """The list under ``key``, made one if a site's definition put something else there."""
        value = self.md.get(key)
        if not isinstance(value, list):
            value = self.md[key] = []
        return value

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
        if row.type == "description":
            value = as_html(value)
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
    ) -> dict[str, str] | None:
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
            return self._related(obj, item, where)
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

    def _person(self, obj: dict[str, str], item: str, where: str) -> dict[str, str] | None:
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

    def _grant(self, obj: dict[str, str], item: str, where: str) -> dict[str, str] | None:
        entry = self._lookup("grant", item)
        award = obj.get("id", "")
        agency = text(entry[1]) if entry and len(entry) > 1 else ""
        if not award:
            award = text(item)  # not in the dictionary: maybe the award number itself
        gid = grant_id(award, agency)
        if gid is None:
            self.problems.append(
                unnamed_grant(
                    where,
                    text(item),
                    award,
                    agency,
                    has_dictionary="grant" in self.site.dictionaries,
                    in_dictionary=entry is not None,
                )
            )
            return None
        return {**obj, "id": gid}

    def _related(
        self, obj: dict[str, str], item: dict[str, Any], where: str
    ) -> dict[str, str] | None:
        link, problem = relations.resource_link(obj, text(item.get("datatype")), where)
        if problem is not None:
            self.problems.append(problem)
        return link

    # ------------------------------------------------------------ beyond the table

    def add_extras(self, communities: Sequence[str], today: datetime.date) -> None:
        if self.unresolved_topics:
            # Maggot drops a topic whose ontology term it cannot resolve; keep it as a keyword.
            self._list_at("keywords").extend(self.unresolved_topics)
        if "language" not in self.md:
            language, problems = extras.language(self.record)
            self.md["language"], self.problems = language, self.problems + problems
        if "dates" not in self.md:
            dates, problems = extras.collection_dates(self.record)
            self.md["dates"], self.problems = dates, self.problems + problems
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

    def _publication(self) -> None:
        links, problems = relations.publication_links(self.record)
        self.problems += problems
        self._list_at("related_identifiers").extend(link.as_json() for link in links)
        self._list_at("references").extend(relations.references(self.record))
