"""Text and structure clean-up of the Zenodo metadata being built: pure functions.

Trimmed text, the description as HTML, empty values pruned, and each list entry once.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from maggot_zenodo.convert.people import clean_text

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n\s*")
# A description is taken as HTML when it holds a tag of the HTML Zenodo keeps in descriptions;
# a lone "<" ("pH < 7", "<0.05") or an unknown word in brackets ("<sample id>") is text.
_HTML_TAG = re.compile(
    r"</?(?:p|br|div|span|a|b|i|u|em|strong|sub|sup|ul|ol|li|h[1-6]|pre|code|blockquote|"
    r"table|thead|tbody|tr|td|th|hr|img)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def text(value: Any) -> str:
    """One line of text: trimmed, inner white space collapsed, control characters gone."""
    return clean_text(value) if isinstance(value, str) else ""


def long_text(value: Any) -> str:
    """Several lines of text: trimmed, control characters other than newlines and tabs gone."""
    if not isinstance(value, str):
        return ""
    return _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


def is_html(value: str) -> bool:
    """True when ``value`` already holds HTML markup (see ``_HTML_TAG``): it is sent as is."""
    return bool(_HTML_TAG.search(value))


def as_html(value: str) -> str:
    """Plain text as the HTML Zenodo shows: escaped, blank lines → paragraphs, line breaks kept.

    Zenodo renders a description as HTML, so plain text would lose its paragraphs and any
    "<" or "&" in it would be taken as markup. Text that is already HTML is left as it is.
    """
    if is_html(value):
        return value
    paragraphs = [p.strip() for p in _PARAGRAPHS.split(value) if p.strip()]
    return "".join(
        "<p>"
        + "<br>\n".join(html.escape(line.strip(), quote=False) for line in p.split("\n"))
        + "</p>"
        for p in paragraphs
    )


def prune(value: Any) -> Any:
    """Drop empty strings, lists and objects, at every depth."""
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ("", [], {}, None)}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in ("", [], {}, None)]
    return value


def _fold(v: Any) -> str:
    return v.casefold() if isinstance(v, str) else repr(v)


def _get(obj: Any, key: str) -> Any:
    return obj.get(key) if isinstance(obj, dict) else obj


_DEDUP_KEYS: dict[str, Callable[[Any], Any]] = {
    "keywords": _fold,
    "creators": lambda p: _fold(_get(p, "name")),
    "contributors": lambda p: (_fold(_get(p, "name")), _fold(_get(p, "type"))),
    "related_identifiers": lambda r: _fold(_get(r, "identifier")),
    "grants": lambda g: _fold(_get(g, "id")),
    "communities": lambda c: _fold(_get(c, "identifier")),
    "subjects": lambda s: (_fold(_get(s, "identifier")), _fold(_get(s, "term"))),
    "references": _fold,
}
# When a link is listed twice (a resource that is also the publication), the entry whose
# relation ranks first here wins, at the place of the first one.
_RELATION_RANK = {"isSupplementTo": 0}


def deduplicate(md: dict[str, Any]) -> None:
    """Each keyword, person-in-a-role, link, grant, community and reference once.

    The first one wins, except for a link also given as the publication the dataset
    supplements: that relation is what is true of it, so it is kept.
    """
    for key, rule in _DEDUP_KEYS.items():
        items = md.get(key)
        if not isinstance(items, list):
            continue
        kept: dict[Any, int] = {}
        out: list[Any] = []
        for item in items:
            k = rule(item)
            if k not in kept:
                kept[k] = len(out)
                out.append(item)
            elif key == "related_identifiers" and _rank(item) < _rank(out[kept[k]]):
                out[kept[k]] = item
        md[key] = out


def _rank(link: Any) -> int:
    relation = link.get("relation") if isinstance(link, dict) else None
    return _RELATION_RANK.get(relation, 99) if isinstance(relation, str) else 99
