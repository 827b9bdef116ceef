"""Maggot's language names → ISO 639-3 codes (the vocabulary Zenodo's ``language`` uses).

ISO 639-3 rather than 639-2/B: Zenodo (InvenioRDM) stores languages as 639-3 ids, so
``fra`` and ``deu`` are taken as they are, where the bibliographic ``fre``/``ger`` are not.
"""

from __future__ import annotations

import unicodedata

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
_ISO1_TO_3 = {
    "cs": "ces", "da": "dan", "nl": "nld", "en": "eng", "fi": "fin", "fr": "fra", "de": "deu",
    "el": "ell", "hu": "hun", "is": "isl", "it": "ita", "lt": "lit", "no": "nor", "ro": "ron",
    "sl": "slv", "es": "spa", "sv": "swe", "pt": "por", "pl": "pol",
}  # fmt: skip
# 639-2/B codes that differ from 639-3, accepted on input and turned into 639-3.
_BIBLIOGRAPHIC = {
    "cze": "ces", "dut": "nld", "fre": "fra", "ger": "deu", "gre": "ell", "ice": "isl",
    "rum": "ron", "slo": "slk", "chi": "zho", "baq": "eus",
}  # fmt: skip
KNOWN_CODES = frozenset(_CODES.values()) | frozenset(_ISO1_TO_3)


def language_code(name: str) -> str | None:
    """The ISO 639-3 code of a Maggot language name (or of a code), None when unknown."""
    key = unicodedata.normalize("NFKD", name.strip())
    key = "".join(c for c in key if not unicodedata.combining(c)).casefold()
    if key in _CODES:
        return _CODES[key]
    if key in _ISO1_TO_3:
        return _ISO1_TO_3[key]
    if key in _BIBLIOGRAPHIC:
        return _BIBLIOGRAPHIC[key]
    if key in _CODES.values():
        return key
    return None
