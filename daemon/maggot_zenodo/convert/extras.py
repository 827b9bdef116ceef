"""Zenodo fields Maggot's definition table does not fill: the language and the collection dates.

Pure functions of the record; each returns the value ("" or [] when there is none, pruned
later) and the problems met.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from maggot_zenodo.convert.languages import language_code
from maggot_zenodo.convert.problems import Problem, warning


def language(record: Mapping[str, Any]) -> tuple[str, list[Problem]]:
    """The first of the record's languages as an ISO 639 code (Zenodo takes one)."""
    langs = record.get("language")
    if isinstance(langs, str):
        langs = [langs]
    if not isinstance(langs, list):
        return "", []
    codes: list[str] = []
    problems: list[Problem] = []
    for k, name in enumerate(langs):
        code = language_code(name) if isinstance(name, str) else None
        if code is None:
            problems.append(
                warning(
                    f"language[{k}]",
                    f'"{name}" is not a language this tool can name in ISO 639; left out',
                )
            )
        elif code not in codes:
            codes.append(code)
    if len(codes) > 1:
        problems.append(
            warning(
                "language",
                f"Zenodo takes one language; {codes[0]} is sent, {', '.join(codes[1:])} left out",
                "put the main language first",
            )
        )
    return (codes[0] if codes else ""), problems


def collection_dates(record: Mapping[str, Any]) -> tuple[list[dict[str, str]], list[Problem]]:
    """``datestart``/``dateend`` as Zenodo's one "Collected" date range."""
    entry = {"type": "Collected"}
    problems: list[Problem] = []
    for key, field in (("start", "datestart"), ("end", "dateend")):
        raw = record.get(field)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            continue
        value = raw.strip()[:10] if isinstance(raw, str) else ""
        try:
            entry[key] = datetime.date.fromisoformat(value).isoformat()
        except ValueError:
            problems.append(
                Problem(
                    field, f"{raw!r} is not a date as YYYY-MM-DD", "correct it in Maggot's form"
                )
            )
    if "start" in entry and "end" in entry and entry["start"] > entry["end"]:
        problems.append(
            Problem(
                "dateend", "the collection ends before it starts", "correct datestart or dateend"
            )
        )
        return [], problems
    return ([entry] if len(entry) > 1 else []), problems
