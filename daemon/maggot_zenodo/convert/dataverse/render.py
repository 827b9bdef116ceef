"""Plain values → Dataverse's field JSON, shaped by the site's blocks; and the check of any
version body against those blocks, before any request.

Shaping takes ``multiple`` and ``typeClass`` from the site's own block (``kindOfData`` is free
text on a stock Dataverse, a vocabulary on a customised one). A field or child the site does not
know is left out *with a warning*: Dataverse itself would drop it without a word. A value
outside a vocabulary, a missing required value or a malformed e-mail, URL or date is an error.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from maggot_zenodo.convert.dataverse.blocks import BlockSet, FieldSpec
from maggot_zenodo.convert.dataverse.values import Value
from maggot_zenodo.convert.problems import Problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^(https?|ftp)://\S+$", re.IGNORECASE)
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(re.findall(r"[a-z0-9]+", text.casefold()))


def vocabulary_value(spec: FieldSpec, value: str) -> str | None:
    """The entry ``value`` means: exact, an alternate, or equal once case and punctuation are
    ignored ("Medicine Health and Life Sciences" → "Medicine, Health and Life Sciences")."""
    exact = spec.canonical(value)
    if exact is not None:
        return exact
    folded = _fold(value)
    hits = {v for v in spec.vocabulary if _fold(v) == folded}
    hits |= {main for main, alts in spec.alternates if any(_fold(a) == folded for a in alts)}
    return hits.pop() if len(hits) == 1 else None


def _allowed(spec: FieldSpec) -> str:
    shown = ", ".join(spec.vocabulary[:15])
    return shown + (", …" if len(spec.vocabulary) > 15 else "")


def _primitive(spec: FieldSpec, value: str, where: str, problems: list[Problem]) -> str | None:
    if spec.type_class == "controlledVocabulary":
        entry = vocabulary_value(spec, value)
        if entry is None:
            problems.append(
                Problem(
                    where,
                    f"“{value}” is not a value of {spec.title}",
                    f"use one of: {_allowed(spec)}",
                )
            )
        return entry
    checks = {
        "EMAIL": (_EMAIL, "an e-mail address"),
        "URL": (_URL, "a URL (https://…)"),
        "DATE": (_DATE, "a date (YYYY, YYYY-MM or YYYY-MM-DD)"),
    }
    if spec.kind in checks and not checks[spec.kind][0].match(value):
        pattern_hint = checks[spec.kind][1]
        problems.append(
            Problem(
                where, f"“{value}” is not {pattern_hint}", f"write {spec.title} as {pattern_hint}"
            )
        )
        return None
    return value


def _leaf(spec: FieldSpec, value: Any) -> dict[str, Any]:
    return {
        "typeName": spec.name,
        "multiple": spec.multiple,
        "typeClass": spec.type_class,
        "value": value,
    }


def _compound(
    spec: FieldSpec, value: Mapping[str, str], where: str, problems: list[Problem]
) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for key, text in value.items():
        child = spec.child(key)
        if child is None:
            problems.append(
                Problem(
                    where,
                    f"{key} is not a part of {spec.title} on this Dataverse: left out",
                    "",
                    "warning",
                )
            )
            continue
        kept = _primitive(child, text, f"{where}.{key}", problems)
        if kept is not None:
            out[key] = _leaf(child, kept)
    missing = [c.title for c in spec.children if c.required and c.name not in out]
    if missing:
        problems.append(
            Problem(
                where,
                f"{', '.join(missing)} is required by Dataverse",
                "complete the Maggot record",
            )
        )
        return None
    return out or None


def shape(
    name: str, values: list[Value], blocks: BlockSet, source: str, problems: list[Problem]
) -> dict[str, Any] | None:
    """One field's JSON, or None (with the reason in ``problems``)."""
    spec = blocks.get(name)
    if spec is None:
        problems.append(
            Problem(
                source,
                f"{name} is not a field of this Dataverse's metadata blocks: left out",
                f"check the site's dataverse.txt row for "
                f"{source}, or enable the block that defines {name}",
                "warning",
            )
        )
        return None
    kept: list[Any] = []
    for n, value in enumerate(values):
        where = f"{source}[{n}]" if len(values) > 1 else source
        item: dict[str, Any] | str | None
        if isinstance(value, dict) and spec.type_class == "compound":
            item = _compound(spec, value, where, problems)
        elif isinstance(value, str) and spec.type_class != "compound":
            item = _primitive(spec, value, where, problems)
        else:
            problems.append(
                Problem(
                    where,
                    f"{name} cannot hold this kind of value on this Dataverse: left out",
                    "",
                    "warning",
                )
            )
            item = None
        if item is not None and item not in kept:
            kept.append(item)
    if not kept:
        return None
    if not spec.multiple and len(kept) > 1:
        problems.append(
            Problem(
                source,
                f"{spec.title} holds one value on Dataverse: only the first is sent",
                "",
                "warning",
            )
        )
    return _leaf(spec, kept if spec.multiple else kept[0])


def required_problems(fields: list[dict[str, Any]], blocks: BlockSet) -> list[Problem]:
    present = {f["typeName"] for f in fields}
    return [
        Problem(
            spec.name,
            f"Dataverse requires {spec.title}, and the record gives none",
            "complete the Maggot record",
        )
        for spec in blocks.fields.values()
        if spec.required and spec.name not in present
    ]
