"""``GET /api/search``: what an asynchronously updated Solr index would answer.

Matching is loose on purpose (tokenised, case-folded, like ``text_en``): a client must confirm a
hit by reading the dataset.
"""

from __future__ import annotations

import re
import time
from typing import Any

from maggot_zenodo.emulator.dataverse.messages import Request, Response, ok
from maggot_zenodo.emulator.dataverse.store import DvError, Store

_TERM = re.compile(r'(\w+):"([^"]*)"|(\w+):(\S+)|"([^"]*)"|(\S+)')


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower()))


def _card_text(card: dict[str, Any], key: str | None) -> str:
    ids = card.get("_otherIds", [])
    if key == "otherIdValue":
        return " ".join(v for _, v in ids)
    if key == "otherIdAgency":
        return " ".join(a for a, _ in ids)
    if key == "publicationStatus":
        return " ".join(card.get("publicationStatuses", []))
    if key in ("title", "name"):
        return str(card.get("name", ""))
    return " ".join([str(card.get("name", ""))] + [f"{a} {v}" for a, v in ids])


def _matches(card: dict[str, Any], expr: str) -> bool:
    if expr.strip() in ("*", "*:*"):
        return True
    for m in _TERM.finditer(expr):
        key = m.group(1) or m.group(3)
        value = m.group(2) or m.group(4) or m.group(5) or m.group(6) or ""
        wanted = _tokens(value)
        if wanted and not wanted <= _tokens(_card_text(card, key)):
            return False
    return True


def _visible_cards(store: Store, user: int | None) -> list[dict[str, Any]]:
    now = time.monotonic()
    cards: list[dict[str, Any]] = []
    for ds in store.all():
        seen = [c for t, c in ds.index if t <= now]
        if not seen:
            continue
        for card in seen[-1]:
            if card["versionState"] == "RELEASED" or user == ds.owner:
                cards.append(card)
    return cards


def search(store: Store, req: Request) -> Response:
    q = req.param("q")
    if not q:
        raise DvError(400, "Please provide a search term (q)")
    kinds = req.params.get("type") or ["dataset"]
    subtree = req.param("subtree")
    cards = [c for c in _visible_cards(store, req.user) if "dataset" in kinds]
    cards = [c for c in cards if _matches(c, q)]
    for fq in req.params.get("fq", []):
        cards = [c for c in cards if _matches(c, fq)]
    if subtree:
        cards = [c for c in cards if c["identifier_of_dataverse"] == subtree]
    if req.param("sort") in ("date", "dateSort"):
        newest_first = (req.param("order") or "desc") == "desc"
        cards.sort(key=lambda c: (c["createdAt"], c["entity_id"]), reverse=newest_first)
    try:
        start = int(req.param("start") or 0)
        per_page = min(1000, int(req.param("per_page") or 10))
    except ValueError:
        raise DvError(400, "start and per_page must be numbers") from None
    show_ids = req.param("show_entity_ids") == "true"
    items = [
        {k: v for k, v in c.items() if not k.startswith("_") and (show_ids or k != "entity_id")}
        for c in cards[start : start + per_page]
    ]
    return ok(
        {
            "q": q,
            "total_count": len(cards),
            "start": start,
            "spelling_alternatives": {},
            "items": items,
            "count_in_response": len(items),
        }
    )
