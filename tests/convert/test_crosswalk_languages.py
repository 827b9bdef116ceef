"""The shipped ISO 639 table (data/iso639.txt) against its sources and against the emulator.

Run as a script to regenerate the table from Debian's iso-codes:
``python tests/test_crosswalk_languages.py > daemon/maggot_zenodo/data/iso639.txt``.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import pytest

from maggot_zenodo.convert.languages import KNOWN_CODES, is_language_code, language_code
from maggot_zenodo.emulator.vocabularies import LANGUAGES

ISO_CODES = Path("/usr/share/iso-codes/json")
HEADER = (
    "# ISO 639 language codes: one row per ISO 639-3 (or 639-2 collective) code;\n"
    "# then, when there is one, its ISO 639-1 code, its ISO 639-2/B code, its English name.\n"
    "# Generated from Debian iso-codes {version} (iso_639-3.json, iso_639-2.json) by\n"
    "# tests/test_crosswalk_languages.py.\n"
)


def table_rows(src: Path) -> list[str]:
    """The table's rows, rebuilt from iso-codes: code, 639-1, 639-2/B, name (major languages)."""
    d3 = json.loads((src / "iso_639-3.json").read_text(encoding="utf-8"))["639-3"]
    d2 = json.loads((src / "iso_639-2.json").read_text(encoding="utf-8"))["639-2"]
    by2 = {e["alpha_3"]: e for e in d2 if len(e["alpha_3"]) == 3}  # not "qaa-qtz"
    out = {}
    for e in d3:
        code = e["alpha_3"]
        two = e.get("alpha_2") or by2.get(code, {}).get("alpha_2", "")
        bib = e.get("bibliographic") or by2.get(code, {}).get("bibliographic", "")
        out[code] = [code, two, bib, e["name"] if two else ""]
    for code, e in by2.items():  # collective 639-2 codes that 639-3 lacks
        out.setdefault(code, [code, e.get("alpha_2", ""), e.get("bibliographic", ""), ""])
    return ["\t".join(v).rstrip("\t") for _, v in sorted(out.items())]


def shipped_rows() -> list[str]:
    text = resources.files("maggot_zenodo").joinpath("data/iso639.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


@pytest.mark.skipif(not ISO_CODES.is_dir(), reason="Debian's iso-codes is not installed")
def test_table_is_what_iso_codes_gives() -> None:
    assert shipped_rows() == table_rows(ISO_CODES)


def test_same_codes_as_the_emulator() -> None:
    # The emulator's list was generated separately; it also lists the range "qaa-qtz".
    assert LANGUAGES - {"qaa-qtz"} == KNOWN_CODES
    assert len(KNOWN_CODES) > 8000


def test_codes_and_names() -> None:
    assert all(is_language_code(c) for c in ("en", "eng", "fre", "fra", "gsw", "afa"))
    assert not any(is_language_code(c) for c in ("xyz", "EN", "qaa-qtz", "", None))
    assert language_code("Modern Greek (1453-)") == language_code("gre") == "ell"
    assert language_code("German") == language_code("de") == language_code("ger") == "deu"


if __name__ == "__main__":
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else ISO_CODES
    version = sys.argv[2] if len(sys.argv) > 2 else "4.15.0"
    sys.stdout.write(HEADER.format(version=version) + "\n".join(table_rows(src)) + "\n")
