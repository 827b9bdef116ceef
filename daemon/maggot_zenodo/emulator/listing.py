"""``GET /api/deposit/depositions``: search, sort and page (pure functions)."""

from __future__ import annotations

import re
from typing import Any

from maggot_zenodo.emulator.store import INVALID, ApiError, doi_of
from maggot_zenodo.emulator.validation import error

MAX_SIZE = 100
DEFAULT_SIZE = 10
_FIELD_QUERY = re.compile(r'\s*(\w+)\s*:\s*"?(.*?)"?\s*')


def matches(q: str | None, dep: dict[str, Any]) -> bool:
    """``title:"..."`` (phrase in the title), ``doi:``, ``conceptrecid:``, ``recid:``/``id:``,
    ``conceptdoi:``; anything else: every word must occur in the title."""
    if not q or not q.strip():
        return True
    title = str(dep["metadata"].get("title", "")).lower()
    m = _FIELD_QUERY.fullmatch(q)
    if m:
        name, value = m.group(1).lower(), m.group(2)
        if name == "title":
            return value.lower() in title
        if name == "doi":
            return value in {dep["doi"], doi_of(dep["id"])}
        if name == "conceptdoi":
            return value == doi_of(dep["conceptrecid"])
        if name == "conceptrecid":
            return value == str(dep["conceptrecid"])
        if name in ("recid", "id"):
            return value == str(dep["id"])
    return all(word in title for word in q.lower().replace('"', " ").split())


_SORTS = {
    "newest": (lambda d: d["id"], True),
    "oldest": (lambda d: d["id"], False),
    "mostrecent": (lambda d: d["modified"], True),
    "-mostrecent": (lambda d: d["modified"], False),
    "bestmatch": (lambda d: d["modified"], True),
}


def _int_param(params: dict[str, list[str]], name: str, default: int) -> int:
    values = params.get(name)
    if not values:
        return default
    try:
        value = int(values[-1])
    except ValueError:
        raise ApiError(400, INVALID, [error(name, "Not a valid integer.")]) from None
    if value < 1:
        raise ApiError(400, INVALID, [error(name, "Must be greater than or equal to 1.")])
    return value


def select(deps: list[dict[str, Any]], params: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Filter, sort and page; ``status`` is accepted and ignored, as on Zenodo."""
    size = _int_param(params, "size", DEFAULT_SIZE)
    if size > MAX_SIZE:
        raise ApiError(400, "Page size cannot be greater than 100.")
    page = _int_param(params, "page", 1)
    q = (params.get("q") or [None])[-1]
    sort = (params.get("sort") or ["mostrecent"])[-1]
    if sort not in _SORTS:
        raise ApiError(400, INVALID, [error("sort", f"Invalid sort option: {sort}")])
    key, reverse = _SORTS[sort]
    found = sorted((d for d in deps if matches(q, d)), key=key, reverse=reverse)
    return found[(page - 1) * size : page * size]
