"""``GET /api/deposit/depositions``: the query string read into a :class:`Query` (pure).

The search itself runs in SQLite (``db.py``), so a listing costs the same at 10 000
depositions as at 100 when it names an id, a DOI or a concept.
"""

from __future__ import annotations

import re
from dataclasses import replace

from maggot_zenodo.emulator.db import SORTS, Query
from maggot_zenodo.emulator.errors import INVALID, ApiError
from maggot_zenodo.emulator.validation import error

MAX_SIZE = 100
DEFAULT_SIZE = 10
_FIELD_QUERY = re.compile(r'\s*(\w+)\s*:\s*"?(.*?)"?\s*')
_ZENODO_DOI = re.compile(r"10\.5281/zenodo\.(\d+)", re.IGNORECASE)


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


def _number(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def _field_query(base: Query, name: str, value: str) -> Query | None:
    """``title:"..."`` (phrase in the title), ``doi:``, ``conceptdoi:``, ``conceptrecid:``
    (the concept, i.e. every version), ``recid:``/``id:``; None for another field."""
    if name == "title":
        return replace(base, phrase=value)
    if name in ("doi", "conceptdoi"):
        m = _ZENODO_DOI.fullmatch(value.strip())
        number = int(m.group(1)) if m else None
    elif name in ("conceptrecid", "recid", "id"):
        number = _number(value)
    else:
        return None
    if number is None:  # a DOI of another registry, or not a number: matches nothing
        return replace(base, nothing=True)
    if name in ("conceptdoi", "conceptrecid"):
        return replace(base, concept=number)
    return replace(base, ids=(number,))


def query(owner: int, params: dict[str, list[str]]) -> Query:
    """Filter, sort and page; ``status`` is accepted and ignored, as on Zenodo."""
    size = _int_param(params, "size", DEFAULT_SIZE)
    if size > MAX_SIZE:
        raise ApiError(400, INVALID, [error("size", f"Must be less than or equal to {MAX_SIZE}.")])
    page = _int_param(params, "page", 1)
    sort = (params.get("sort") or ["mostrecent"])[-1]
    if sort not in SORTS:
        raise ApiError(400, INVALID, [error("sort", f"Invalid sort option: {sort}")])
    base = Query(owner=owner, sort=sort, size=size, page=page)
    q = (params.get("q") or [""])[-1]
    if not q.strip():
        return base
    m = _FIELD_QUERY.fullmatch(q)
    if m:
        found = _field_query(base, m.group(1).lower(), m.group(2))
        if found is not None:
            return found
    return replace(base, words=tuple(q.lower().replace('"', " ").split()))
