"""What Dataverse's ``JsonParser`` and field validators do to a dataset version body.

Structural mistakes are a 400 ``Error parsing Json: ...``; unknown ``typeName``s are dropped
silently (at top level and inside compounds); missing required values and malformed e-mails,
URLs and dates are a 403 ``Validation Failed: ...`` with the messages joined by ``, ``.
"""

from __future__ import annotations

import re
from typing import Any

from maggot_zenodo.emulator.dataverse.schema import SiteSchema

_INVALID = " (Invalid value:edu.harvard.iq.dataverse.DatasetField[ id=null ])"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL = re.compile(r"^(https?|ftp)://[^\s]+$")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class BadJson(Exception):
    """A 400 answer."""


class ValidationFailed(Exception):
    """A 403 answer."""


def _cv_ok(spec: dict[str, Any], value: Any) -> bool:
    allowed = spec.get("controlledVocabularyValues") or []
    alternates = spec.get("controlledVocabularyAlternates") or {}
    return value in allowed or any(value in alts for alts in alternates.values())


def _canonical(spec: dict[str, Any], value: str) -> str:
    for main, alts in (spec.get("controlledVocabularyAlternates") or {}).items():
        if value in alts:
            return str(main)
    return value


def _check_shape(name: str, spec: dict[str, Any], item: dict[str, Any]) -> None:
    if bool(item.get("multiple")) != bool(spec.get("multiple")):
        raise BadJson(f"Error parsing Json: incorrect multiple   for field {name}")
    want = spec.get("typeClass")
    if item.get("typeClass") != want:
        if want == "primitive":
            raise BadJson(
                f"Error parsing Json: incorrect  typeClass for field: {name}, should be primitive"
            )
        if want == "compound":
            raise BadJson(
                f"Error parsing Json: incorrect  typeClass for field: {name}, should be compound."
            )
        raise BadJson(
            f"Error parsing Json: incorrect  typeClass for field: {name}, "
            "should be controlledVocabulary"
        )


def _values(item: dict[str, Any], multiple: bool) -> list[Any]:
    value = item.get("value")
    if multiple:
        if not isinstance(value, list):
            raise BadJson(f"Error parsing Json: the value of {item.get('typeName')} must be a list")
        return value
    return [value]


def _parse_compound(
    name: str, spec: dict[str, Any], value: Any, index: dict[str, Any]
) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadJson(f"Error parsing Json: a value of {name} must be an object")
    children = spec.get("childFields") or {}
    kept: dict[str, Any] = {}
    for key, child in value.items():
        if not isinstance(child, dict):
            raise BadJson(f"Error parsing Json: {key} in {name} must be an object")
        cname = str(child.get("typeName", key))
        if cname not in children:
            if cname in index:
                raise BadJson(f"Error parsing Json: field {cname} is not a child of {name}")
            continue  # unknown children vanish
        cspec = children[cname]
        _check_shape(cname, cspec, child)
        if cspec.get("typeClass") == "controlledVocabulary":
            if not _cv_ok(cspec, child.get("value")):
                raise BadJson(
                    "Error parsing Json: Invalid controlled vocabulary in compound field "
                )
            child = {**child, "value": _canonical(cspec, str(child.get("value")))}
        elif not isinstance(child.get("value"), str):
            raise BadJson(f"Error parsing Json: the value of {cname} must be text")
        kept[cname] = child
    return kept


def _parse_field(item: Any, block: dict[str, Any], index: dict[str, Any]) -> dict[str, Any] | None:
    if not isinstance(item, dict) or not isinstance(item.get("typeName"), str):
        raise BadJson("Error parsing Json: a field without typeName")
    name = item["typeName"]
    spec = (block.get("fields") or {}).get(name)
    if spec is None:
        return None  # unknown typeName: dropped silently, as Dataverse does
    _check_shape(name, spec, item)
    values = _values(item, bool(spec.get("multiple")))
    kind = spec.get("typeClass")
    out: list[Any] = []
    for value in values:
        if kind == "compound":
            out.append(_parse_compound(name, spec, value, index))
        elif kind == "controlledVocabulary":
            if not _cv_ok(spec, value):
                raise BadJson(
                    f"Error parsing Json: Value '{value}' does not exist in type '{name}'"
                )
            out.append(_canonical(spec, str(value)))
        elif isinstance(value, str):
            out.append(value)
        else:
            raise BadJson(f"Error parsing Json: the value of {name} must be text")
    return {**item, "value": out if spec.get("multiple") else out[0]}


def parse_blocks(version: dict[str, Any], schema: SiteSchema) -> dict[str, Any]:
    """The metadata blocks as Dataverse keeps them, or BadJson."""
    blocks = version.get("metadataBlocks")
    if not isinstance(blocks, dict) or not blocks:
        raise BadJson("Invalid JSON object: metadata blocks not found.")
    index = schema.field_index()
    kept: dict[str, Any] = {}
    for block_name, body in blocks.items():
        block = schema.blocks.get(block_name)
        if block is None or not isinstance(body, dict):
            continue
        fields = body.get("fields")
        if not isinstance(fields, list):
            raise BadJson(f"Error parsing Json: fields of block {block_name} must be a list")
        parsed = [f for f in (_parse_field(i, block, index) for i in fields) if f is not None]
        kept[block_name] = {"displayName": block.get("displayName", block_name), "fields": parsed}
    return kept


def _format_problem(spec: dict[str, Any], value: str) -> str | None:
    kind, label = spec.get("type"), spec.get("displayName", spec.get("name"))
    if kind == "EMAIL" and not _EMAIL.match(value):
        return f"{label} {value} is not a valid email address."
    if kind == "URL" and not _URL.match(value):
        return f"{label} {value} is not a valid URL."
    if kind == "DATE" and not _DATE.match(value):
        return f'{label} is not a valid date. "yyyy" is a supported format.'
    return None


def _field_problems(spec: dict[str, Any], item: dict[str, Any] | None) -> list[str]:
    label = spec.get("displayName", spec.get("name"))
    values = [] if item is None else (item["value"] if spec.get("multiple") else [item["value"]])
    values = [v for v in values if v not in ("", None, {})]
    problems: list[str] = []
    if spec.get("isRequired") and not values:
        problems.append(f"{label} is required.{_INVALID}")
    for value in values:
        if isinstance(value, str):
            problem = _format_problem(spec, value)
            problems += [problem + _INVALID] if problem else []
            continue
        for cname, cspec in (spec.get("childFields") or {}).items():
            child = value.get(cname)
            text = str(child.get("value", "")) if child else ""
            if cspec.get("isRequired") and not text.strip():
                problems.append(f"{cspec.get('displayName', cname)} is required.{_INVALID}")
            elif text:
                problem = _format_problem(cspec, text)
                problems += [problem + _INVALID] if problem else []
    return problems


def validate_blocks(blocks: dict[str, Any], schema: SiteSchema) -> None:
    """Required values and value formats: ValidationFailed (403) with every message."""
    problems: list[str] = []
    for block_name, block in schema.blocks.items():
        given = {f["typeName"]: f for f in (blocks.get(block_name) or {}).get("fields", [])}
        for name, spec in (block.get("fields") or {}).items():
            problems += _field_problems(spec, given.get(name))
    if problems:
        raise ValidationFailed("Validation Failed: " + ", ".join(problems) + ".")


def title_of(blocks: dict[str, Any]) -> str:
    for item in (blocks.get("citation") or {}).get("fields", []):
        if item.get("typeName") == "title":
            return str(item.get("value", ""))
    return ""


def other_ids(blocks: dict[str, Any]) -> list[tuple[str, str]]:
    """(agency, value) of every otherId: what the search index holds."""
    out: list[tuple[str, str]] = []
    for item in (blocks.get("citation") or {}).get("fields", []):
        if item.get("typeName") == "otherId":
            for comp in item.get("value") or []:
                agency = (comp.get("otherIdAgency") or {}).get("value", "")
                value = (comp.get("otherIdValue") or {}).get("value", "")
                out.append((str(agency), str(value)))
    return out
