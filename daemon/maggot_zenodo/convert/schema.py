"""A Maggot record checked against the site's JSON schema, each failure in a researcher's words."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema

from maggot_zenodo.convert.problems import Problem


def kind_of(value: Any) -> str:
    """How a JSON value is named to a researcher ("a list", "a number", ...)."""
    return {
        list: "a list",
        str: "a string",
        bool: "true/false",
        type(None): "null",
        int: "a number",
        float: "a number",
        dict: "an object",
    }.get(type(value), "a value")


_REQUIRED = {
    "authors": "at least one author is required",
    "contacts": "at least one contact is required",
    "subject": "at least one subject is required",
    "kindOfData": "at least one kind of data is required",
    "title": "a short name is required",
    "fulltitle": "a full title is required",
    "description": "a description is required",
    "profile": "the profile (the URL of Maggot's schema) is required",
}
_PLURAL = {
    "subject": "subjects",
    "kindOfData": "kinds of data",
    "access_rights": "access rights",
    "language": "languages",
    "status": "statuses",
    "dataOrigin": "data origins",
    "publication_idtype": "publication id types",
}
_TYPES = {
    "string": "text",
    "array": "a list",
    "object": "an object",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}


def field_path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def validate_record(record: dict[str, Any], schema: Mapping[str, Any]) -> list[Problem]:
    """Every way ``record`` breaks the Maggot schema, in a researcher's words."""
    cls = jsonschema.validators.validator_for(schema)
    try:
        errors = list(cls(schema).iter_errors(record))
    except Exception as exc:  # a broken site schema ($ref, recursion): report, never crash
        return [
            Problem(
                "",
                f"the record cannot be checked against the schema ({exc})",
                "check the site's maggot-schema.json",
            )
        ]
    problems = []
    seen = set()
    for err in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        p = _explain(err)
        if (p.field, p.message) not in seen:
            seen.add((p.field, p.message))
            problems.append(p)
    return problems


def _explain(err: jsonschema.ValidationError) -> Problem:
    where = field_path(err.absolute_path)
    top = str(err.absolute_path[0]) if err.absolute_path else ""
    kind = err.validator
    if kind == "required":
        missing = err.message.split("'")[1] if "'" in err.message else "?"
        path = f"{where}.{missing}" if where else missing
        msg = _REQUIRED.get(missing, "this field is required")
        return Problem(path, msg, "fill it in Maggot's form")
    if kind == "minItems" and where in _REQUIRED:
        return Problem(where, _REQUIRED[where], "fill it in Maggot's form")
    if kind in ("minLength",) and where in _REQUIRED:
        return Problem(where, _REQUIRED[where], "fill it in Maggot's form")
    if kind == "enum":
        allowed = ", ".join(str(v) for v in _as_list(err.validator_value))
        label = _PLURAL.get(top, top)
        value = err.instance if isinstance(err.instance, str) else json.dumps(err.instance)[:60]
        return Problem(
            where,
            f'"{value}" is not one of Maggot\'s {label}: {allowed}',
            "choose one of those values in Maggot's form",
        )
    if kind == "type":
        names = [_TYPES.get(str(w), str(w)) for w in _as_list(err.validator_value)]
        return Problem(
            where or "(record)",
            f"expected {' or '.join(names)}, found {kind_of(err.instance)}",
            "save the record again from Maggot",
        )
    if kind == "uniqueItems":
        return Problem(where, "lists the same value twice", "remove the repeated value")
    if kind in ("minItems", "minLength"):
        return Problem(where, "must not be empty", "fill it in Maggot's form")
    return Problem(where or "(record)", err.message[:300], "see the site's Maggot schema")


def _as_list(value: object) -> list[object]:
    """A schema keyword's value as a list (``type`` may be one name or several)."""
    return list(value) if isinstance(value, (list, tuple)) else [value]
