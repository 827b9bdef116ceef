"""Maggot → Dataverse conversion: pure functions, checked against the stock citation block."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from maggot_zenodo.convert.dataverse import load_definition, stock, to_dataverse
from maggot_zenodo.convert.dataverse.blocks import block_set, load_cached, save_cache
from maggot_zenodo.convert.dataverse.definition import parse_definition
from maggot_zenodo.convert.dataverse.validate import validate_version
from maggot_zenodo.convert.maggot import load_site
from maggot_zenodo.convert.problems import DatasetError

TODAY = dt.date(2026, 12, 3)
PEOPLE = [
    ("Gibon", "Yves", "INRAE", "0000-0002-1825-0097", "yves.gibon@example.org"),
    ("van Delft", "Pierre", "CNRS", "", "pierre@example.org"),
]


@pytest.fixture
def site(tmp_path: Path):
    people = tmp_path / "cvlist" / "people"
    people.mkdir(parents=True)
    (people / "people.txt").write_text("\n".join("\t".join(p) for p in PEOPLE) + "\n")
    grant = tmp_path / "cvlist" / "grant"
    grant.mkdir()
    (grant / "grant.txt").write_text("MetaboHub\tANR\tANR-11-INBS-0010\thttps://anr.fr/x\n")
    producer = tmp_path / "cvlist" / "producer"
    producer.mkdir()
    (producer / "producer.txt").write_text("PMB\tINRAE\thttps://pmb.example.org\t\n")
    return load_site(None, tmp_path / "cvlist")


def record(**extra):
    base = {
        "title": "frim1",
        "fulltitle": 'A "quoted" title \\ with a backslash',
        "description": "First paragraph.\n\nSecond paragraph.",
        "subject": ["Medicine Health and Life Sciences"],
        "contacts": ["Gibon Yves"],
        "authors": ["Gibon Yves", "van Delft Pierre", "Da Costa Grégory"],
        "license": "Etalab V2.0 license",
    }
    base.update(extra)
    return base


def fields(conv):
    return {f["typeName"]: f for f in conv.version["metadataBlocks"]["citation"]["fields"]}


def test_people_licence_subject_and_marker(site):
    conv = to_dataverse(record(), site, marker="site:frim1", today=TODAY)
    assert conv.ok, conv.problems
    f = fields(conv)
    authors = [a["authorName"]["value"] for a in f["author"]["value"]]
    assert authors == ["Gibon, Yves", "van Delft, Pierre", "Da Costa, Grégory"]
    first = f["author"]["value"][0]
    assert first["authorIdentifierScheme"]["value"] == "ORCID"
    assert first["authorIdentifier"]["value"] == "0000-0002-1825-0097"
    contact = f["datasetContact"]["value"][0]
    assert contact["datasetContactEmail"]["value"] == "yves.gibon@example.org"
    assert f["subject"]["value"] == ["Medicine, Health and Life Sciences"]
    assert conv.version["license"] == {
        "name": "etalab 2.0",
        "uri": "https://spdx.org/licenses/etalab-2.0",
    }
    other = f["otherId"]["value"][0]
    assert (other["otherIdAgency"]["value"], other["otherIdValue"]["value"]) == (
        "maggot-zenodo",
        "site:frim1",
    )
    assert f["title"]["value"] == 'A "quoted" title \\ with a backslash'
    text = f["dsDescription"]["value"][0]["dsDescriptionValue"]["value"]
    assert text == "First paragraph.\n\nSecond paragraph."
    assert json.loads(json.dumps(conv.create_body())) == conv.create_body()
    assert "metadataLanguage" not in conv.create_body()


@pytest.mark.parametrize(("given", "name"), [
    ("etalab-2.0", "etalab 2.0"), ("Etalab V2.0 license", "etalab 2.0"),
    ("CC-BY-4.0", "CC BY 4.0"), ("cc0", "CC0 1.0"),
    ("https://creativecommons.org/licenses/by/4.0/", "CC BY 4.0"),
])  # fmt: skip
def test_licences_map_to_the_site_list(site, given, name):
    conv = to_dataverse(record(license=given), site, marker="m", today=TODAY)
    assert conv.ok and conv.licence is not None and conv.licence.name == name


def test_unknown_licence_and_missing_one(site):
    conv = to_dataverse(record(license="All rights reserved"), site, marker="m", today=TODAY)
    assert not conv.ok
    problem = next(p for p in conv.problems if p.field == "license")
    assert "All rights reserved" in problem.message and "etalab 2.0" in problem.hint
    draft = to_dataverse(record(license=None), site, marker="m", today=TODAY)
    assert draft.ok and "license" not in draft.version
    assert any(p.field == "license" and not p.is_error for p in draft.problems)
    strict = to_dataverse(record(license=None), site, marker="m", today=TODAY, require_licence=True)
    assert not strict.ok


def test_contact_without_email_is_refused_locally(site):
    conv = to_dataverse(record(contacts=["Unknown Person"]), site, marker="m", today=TODAY)
    assert not conv.ok
    [problem] = [p for p in conv.problems if p.is_error]
    assert "Unknown Person" in problem.message and "e-mail" in problem.message
    assert "people.txt" in problem.hint


def test_vocabularies_and_fields_the_site_lacks_are_reported(site):
    conv = to_dataverse(
        record(subject=["Alchemy"], kindOfData=["Dataset"], dataOrigin=["experimental data"]),
        site,
        marker="m",
        today=TODAY,
    )
    assert not conv.ok
    messages = [str(p) for p in conv.problems]
    assert any("“Alchemy” is not a value of Subject" in m for m in messages)
    assert any(m.startswith("warning: dataOrigin") for m in messages)  # not silently dropped
    ok = to_dataverse(record(kindOfData=["Dataset"]), site, marker="m", today=TODAY)
    assert fields(ok)["kindOfData"]["typeClass"] == "primitive"  # stock: free text


def test_kind_of_data_follows_the_site_block(site):
    citation = json.loads(json.dumps(stock().raw["blocks"][0]))
    citation["fields"]["kindOfData"].update(
        typeClass="controlledVocabulary",
        isControlledVocabulary=True,
        controlledVocabularyValues=["Dataset", "Image", "Other"],
    )
    blocks = block_set([citation], stock().raw["licenses"], "custom")
    conv = to_dataverse(
        record(kindOfData=["Dataset"]), site, marker="m", today=TODAY, blocks=blocks
    )
    assert fields(conv)["kindOfData"]["typeClass"] == "controlledVocabulary"
    bad = to_dataverse(
        record(kindOfData=["Spreadsheet"]), site, marker="m", today=TODAY, blocks=blocks
    )
    assert not bad.ok


def test_grants_producers_publication_and_dates(site):
    conv = to_dataverse(
        record(
            grantNumbers=["MetaboHub", "Unknown grant"],
            producer=["PMB", "Nobody"],
            publication_citation="A paper",
            publication_idtype="-",
            publication_idnumber="10.1/x",
            publication_url="https://doi.org/10.1/x",
            datestart="2013-01-01",
            dateend="2014-12-31",
            resources=[
                {
                    "datatype": "Collection",
                    "description": 'say "hi"',
                    "location": "https://example.org/a",
                },
                {"location": "local.txt"},
            ],
            keywords=['back\\slash "quote"'],
        ),
        site,
        marker="m",
        today=TODAY,
    )
    assert conv.ok, conv.problems
    f = fields(conv)
    grants = [{k: v["value"] for k, v in g.items()} for g in f["grantNumber"]["value"]]
    assert grants == [
        {"grantNumberAgency": "ANR", "grantNumberValue": "ANR-11-INBS-0010"},
        {"grantNumberValue": "Unknown grant"},
    ]
    producers = [{k: v["value"] for k, v in p.items()} for p in f["producer"]["value"]]
    assert producers[1] == {"producerName": "Nobody"}  # no URL inherited from PMB
    pub = {k: v["value"] for k, v in f["publication"]["value"][0].items()}
    assert pub["publicationRelationType"] == "IsSupplementTo" and "publicationIDType" not in pub
    period = f["dateOfCollection"]["value"][0]
    assert (period["dateOfCollectionStart"]["value"], period["dateOfCollectionEnd"]["value"]) == (
        "2013-01-01",
        "2014-12-31",
    )
    assert f["otherReferences"]["value"] == ['Collection: say "hi", https://example.org/a']
    assert f["keyword"]["value"][0]["keywordValue"]["value"] == 'back\\slash "quote"'


def test_site_definition_file(tmp_path, site):
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "dataverse.txt").write_text(
        "Field\tTypename\tType\tTerminology\n"
        "fulltitle\ttitle\t\t\nsubject\tsubject\t\t\ndescription\tdsDescription\t\t\n"
        "contacts\tdatasetContact\t\tcvlist:people\nauthors\tauthor\t\tcvlist:people\n"
        "comment\tnotesText\t\t\n"
    )
    rows, origin = load_definition(conf)
    assert origin.endswith("dataverse.txt") and rows[-1].field == "comment"
    conv = to_dataverse(record(comment="a note"), site, marker="m", today=TODAY, definition=rows)
    assert fields(conv)["notesText"]["value"] == "a note"
    with pytest.raises(DatasetError) as info:
        parse_definition("fulltitle\n", "x/dataverse.txt")
    assert "line 1" in str(info.value)


def test_validation_reports_what_dataverse_would_drop_or_refuse(site):
    conv = to_dataverse(record(), site, marker="m", today=TODAY)
    version = json.loads(json.dumps(conv.version))
    cit = version["metadataBlocks"]["citation"]["fields"]
    cit.append(
        {"typeName": "keywordTermURL", "multiple": False, "typeClass": "primitive", "value": "x"}
    )
    cit[0]["typeClass"] = "controlledVocabulary"
    version["license"] = {"name": "etalab 2.0", "uri": "https://spdx.org/licenses/etalab-2.0.html"}
    problems = [str(p) for p in validate_version(version, stock())]
    assert any("keywordTermURL" in p and "dropped silently" in p for p in problems)
    assert any("typeClass 'controlledVocabulary'" in p for p in problems)
    assert any(p.startswith("license") for p in problems)


def test_block_cache_round_trip(tmp_path):
    raw = stock().raw
    save_cache(tmp_path / "c", {"citation": raw["blocks"][0]}, raw["licenses"][:1])
    cached = load_cached(tmp_path / "c")
    assert [x.name for x in cached.licences] == ["CC0 1.0"] and "cached" in cached.origin
    assert load_cached(tmp_path / "nothing") is stock()
