"""Maggot's language names → ISO 639-3 codes (the vocabulary Zenodo's ``language`` uses).

ISO 639-3 rather than 639-2/B: Zenodo (InvenioRDM) stores languages as 639-3 ids, so
``fra`` and ``deu`` are taken as they are, and the bibliographic ``fre``/``ger`` (or the
two-letter ``fr``/``de``) are turned into them. The code list is the real one (``data/iso639.txt``,
generated from Debian's iso-codes tables), so a made-up ``xyz`` is refused here, as Zenodo
refuses it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from importlib import resources

_CODES = {
    "czech": "ces",
    "danish": "dan",
    "dutch": "nld",
    "english": "eng",
    "finnish": "fin",
    "french": "fra",
    "german": "deu",
    "greek": "ell",
    "hungarian": "hun",
    "icelandic": "isl",
    "italian": "ita",
    "lithuanian": "lit",
    "norwegian": "nor",
    "romanian": "ron",
    "slovenian": "slv",
    "spanish": "spa",
    "swedish": "swe",
    "portuguese": "por",
    "polish": "pol",
    "catalan": "cat",
    "basque": "eus",
    "breton": "bre",
    "occitan": "oci",
    "latin": "lat",
    "russian": "rus",
    "chinese": "zho",
    "japanese": "jpn",
    "arabic": "ara",
    "estonian": "est",
    "latvian": "lav",
    "slovak": "slk",
    "croatian": "hrv",
    "bulgarian": "bul",
    "irish": "gle",
    "maltese": "mlt",
    "ukrainian": "ukr",
    "turkish": "tur",
    "francais": "fra",
    "anglais": "eng",
}


@dataclass(frozen=True)
class _Table:
    """ISO 639 as shipped in ``data/iso639.txt`` (generated from Debian's iso-codes)."""

    codes: frozenset[str]  # every ISO 639-1, 639-2 (T and B) and 639-3 code
    to_639_3: dict[str, str]  # 639-1 and 639-2/B codes → 639-3
    names: dict[str, str]  # folded English names of the major languages → 639-3


def _fold(text: str) -> str:
    key = unicodedata.normalize("NFKD", text.strip())
    return "".join(c for c in key if not unicodedata.combining(c)).casefold()


def _load() -> _Table:
    text = resources.files("maggot_zenodo").joinpath("data/iso639.txt").read_text("utf-8")
    codes: set[str] = set()
    to3: dict[str, str] = {}
    names: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        code, two, bib, name = [*line.split("\t"), "", "", ""][:4]
        codes.add(code)
        for other in (two, bib):
            if other:
                codes.add(other)
                to3[other] = code
        if name:
            names.setdefault(_fold(name), code)
    return _Table(frozenset(codes), to3, names)


_TABLE = _load()
#: Every code Zenodo's ``language`` takes (ISO 639-1, 639-2/T, 639-2/B and 639-3).
KNOWN_CODES: frozenset[str] = _TABLE.codes


def is_language_code(code: object) -> bool:
    """True when ``code`` is an ISO 639 code, written in lower case as Zenodo stores it."""
    return isinstance(code, str) and code in KNOWN_CODES


def language_code(name: str) -> str | None:
    """The ISO 639-3 code of a Maggot language name (or of any ISO 639 code), None if unknown."""
    key = _fold(name)
    if key in _CODES:
        return _CODES[key]
    if key in _TABLE.to_639_3:
        return _TABLE.to_639_3[key]
    if key in KNOWN_CODES:
        return key
    return _TABLE.names.get(key)
