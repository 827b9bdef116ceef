"""People's names: Maggot stores "Last First"; Zenodo wants "Family, Given".

Maggot's converter turns every space into ", " ("van Delft Pierre" → "van, Delft, Pierre"),
which Zenodo reads as a family name "van" and a given name "Delft, Pierre". Here a name
is split once: the site's people dictionary decides when it knows the person; otherwise
the family name is the first word plus the particles in front of it, always leaving at least
one word as the given name.
"""

from __future__ import annotations

import re
import unicodedata

PARTICLES = frozenset(
    [
        "van",
        "von",
        "vom",
        "der",
        "den",
        "ter",
        "ten",
        "de",
        "da",
        "das",
        "do",
        "dos",
        "du",
        "des",
        "del",
        "della",
        "delle",
        "dello",
        "degli",
        "di",
        "le",
        "la",
        "les",
        "lo",
        "y",
        "al",
        "el",
        "bin",
        "ben",
        "ibn",
        "mac",
        "st",
        "saint",
        "sainte",
    ]
)
_SPACES = re.compile(r"\s+")
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$", re.IGNORECASE)


def clean_text(value: str) -> str:
    """Collapse runs of white space and drop control characters; trim both ends."""
    value = "".join(c for c in value if c in "\t\n" or unicodedata.category(c) != "Cc")
    return _SPACES.sub(" ", value).strip()


def match_key(value: str) -> str:
    """A key that ignores case, accents and spacing, to match names against a dictionary."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(c for c in text if not unicodedata.combining(c))
    return _SPACES.sub(" ", text.replace(",", " ")).strip().casefold()


def split_name(raw: str) -> tuple[str, str] | None:
    """(family, given) of a Maggot name, or None when it is a single word (or an empty side).

    "Jacob, Daniel" keeps its comma; "Da Costa Grégory" → ("Da Costa", "Grégory");
    "Le Minh" → ("Le", "Minh").
    """
    name = clean_text(raw)
    if "," in name:
        family, given = name.split(",", 1)
        family, given = family.strip(), clean_text(given.replace(",", " "))
        return (family, given) if family and given else None
    words = name.split(" ")
    # The last word always stays a given name: "Le Minh", "Do Hoa" and "Ben Ali" are
    # family + given, not a family name made of a particle and a word.
    i = 0
    while i < len(words) - 2 and words[i].casefold().rstrip(".") in PARTICLES:
        i += 1
    family_words, given_words = words[: i + 1], words[i + 1 :]
    if not given_words:
        return None
    return " ".join(family_words), " ".join(given_words)


def zenodo_name(family: str, given: str) -> str:
    return f"{clean_text(family)}, {clean_text(given)}"


def normalize_orcid(value: str) -> str | None:
    """The bare ORCID iD (``0000-0002-1825-0097``) when well formed with a valid checksum."""
    m = _ORCID.match(value.strip())
    if not m:
        return None
    orcid = m.group(1).upper()
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    expected = "X" if check == 10 else str(check)
    return orcid if digits[-1] == expected else None
