"""The crosswalk's improvements over Maggot's converter, and a site's own definition files."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest
from testkit.crosswalk_oracle import zenodo_refusals

from maggot_zenodo.convert.crosswalk import Conversion, convert, doi_of, grant_id
from maggot_zenodo.convert.languages import language_code
from maggot_zenodo.convert.licenses import license_id
from maggot_zenodo.convert.maggot import load_site
from maggot_zenodo.convert.people import normalize_orcid, split_name
from maggot_zenodo.convert.zenodo_rules import validate

TODAY = datetime.date(2026, 3, 4)
BUILTIN = load_site(None, None)
BASE = {
    "profile": "p",
    "title": "toy",
    "fulltitle": "  A toy   dataset  ",
    "subject": ["Chemistry"],
    "description": "Numbers.",
    "contacts": ["Jacob Daniel"],
    "authors": ["Jacob Daniel"],
    "kindOfData": ["Dataset"],
    "access_rights": "Public",
    "license": "CC BY 4.0",
}


def run(site=BUILTIN, communities=(), **fields) -> Conversion:
    record = {**BASE, **fields}
    return convert(
        {k: v for k, v in record.items() if v is not None},
        site,
        communities=communities,
        today=TODAY,
    )


def md(**fields) -> dict:
    result = run(**fields)
    assert result.ok, result.problems
    assert zenodo_refusals(result.metadata) == []
    return result.metadata


def cvlist(tmp_path: Path, people: str = "", grants: str = "") -> Path:
    for name, text in (("people", people), ("grant", grants)):
        (tmp_path / "cvlist" / name).mkdir(parents=True, exist_ok=True)
        (tmp_path / "cvlist" / name / f"{name}.txt").write_text(text, encoding="utf-8")
    return tmp_path / "cvlist"


# ------------------------------------------------------------------ people


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("van Delft Pierre", "van Delft, Pierre"),
        ("Da Costa Grégory", "Da Costa, Grégory"),
        ("le Mao Inès", "le Mao, Inès"),
        ("Jacob, Daniel", "Jacob, Daniel"),
        ("  Gibon   Yves ", "Gibon, Yves"),
        ("de la Fontaine Jean Pierre", "de la Fontaine, Jean Pierre"),
        ("Lemaire-Chamley Martine", "Lemaire-Chamley, Martine"),
        # A particle that is the whole family name: the last word stays the given name.
        ("Le Minh", "Le, Minh"),
        ("Do Hoa", "Do, Hoa"),
        ("Ben Ali", "Ben, Ali"),
        ("Di Maria", "Di, Maria"),
        ("Al Hassan", "Al, Hassan"),
        ("Le Mao Inès", "Le Mao, Inès"),
    ],
)
def test_names_get_exactly_one_comma(raw: str, expected: str) -> None:
    assert md(authors=[raw])["creators"] == [{"name": expected}]


def test_a_name_without_given_name_is_an_error() -> None:
    result = run(authors=["Jacob Daniel", "Bordeaux"])
    assert not result.ok
    (p,) = result.errors
    assert p.field == "authors[1]" and "no given name" in p.message and p.hint


def test_split_name_edge_cases() -> None:
    assert split_name("van Delft") == ("van", "Delft")
    assert split_name("van der Berg") == ("van der", "Berg")
    assert split_name("Bordeaux") is None
    assert split_name("  ") is None
    assert split_name("a, b, c") == ("a", "b c")
    assert split_name(",x") is None


def test_people_dictionary_splits_and_adds_affiliation_and_orcid(tmp_path: Path) -> None:
    people = (
        "van der Berg\tAnna Maria\tINRAE\t0000-0002-1825-0097\ta@b.fr\r\n"
        "Éluard\tPaul\tCNRS\t0000-0002-1825-0098\tp@c.fr\r\n"
    )
    site = load_site(None, cvlist(tmp_path, people=people))
    out = md(site=site, authors=["VAN DER BERG anna maria", "Eluard Paul"])
    assert out["creators"] == [
        {
            "name": "van der Berg, Anna Maria",
            "affiliation": "INRAE",
            "orcid": "0000-0002-1825-0097",
        },
        {"name": "Éluard, Paul", "affiliation": "CNRS"},  # bad ORCID checksum: left out
    ]
    warnings = run(site=site, authors=["Eluard Paul"]).warnings
    assert any("ORCID" in w.message for w in warnings)
    assert normalize_orcid("https://orcid.org/0000-0002-1825-0097") == "0000-0002-1825-0097"


def test_contributors_same_person_same_role_once() -> None:
    out = md(
        contacts=["Jacob Daniel", "Jacob, Daniel", "jacob daniel"],
        curators=["Jacob Daniel"],
        collectors=["Moing Annick"],
        members=["Moing Annick"],
    )
    assert out["contributors"] == [
        {"type": "ContactPerson", "name": "Jacob, Daniel"},
        {"type": "DataCollector", "name": "Moing, Annick"},
        {"type": "DataCurator", "name": "Jacob, Daniel"},
        {"type": "ProjectMember", "name": "Moing, Annick"},
    ]


def test_all_contributor_roles() -> None:
    out = md(
        collectors=["A B"], curators=["C D"], members=["E F"], leader=["G H"], wpleader=["I J"]
    )
    assert [c["type"] for c in out["contributors"]] == [
        "ContactPerson", "DataCollector", "DataCurator", "ProjectMember", "ProjectLeader",
        "WorkPackageLeader",
    ]  # fmt: skip


# ------------------------------------------------------------------ licenses


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Etalab V2.0 license", "etalab-2.0"),
        ("etalab-2.0", "etalab-2.0"),
        ("Licence Ouverte 2.0", "etalab-2.0"),
        ("CC BY 4.0", "cc-by-4.0"),
        ("cc-by-4.0", "cc-by-4.0"),
        ("CC-BY-4.0", "cc-by-4.0"),
        ("Creative Commons Attribution 4.0 International", "cc-by-4.0"),
        ("Creative Commons Attribution-ShareAlike 4.0 International", "cc-by-sa-4.0"),
        ("CC BY-NC-ND 4.0", "cc-by-nc-nd-4.0"),
        ("CC0", "cc0-1.0"),
        ("CC0 1.0", "cc0-1.0"),
        ("MIT License", "mit"),
        ("Apache License 2.0", "apache-2.0"),
        ("https://creativecommons.org/licenses/by-sa/4.0/", "cc-by-sa-4.0"),
        ("CC0 1.0 Universal", "cc0-1.0"),
        ("Creative Commons Zero v1.0 Universal", "cc0-1.0"),
        ("GPLv3+", "gpl-3.0-or-later"),
        ("GPLv3", "gpl-3.0-only"),
        ("GPL-3.0+", "gpl-3.0-or-later"),
        ("GPL v2 or later", "gpl-2.0-or-later"),
        ("GNU General Public License v3.0 or later", "gpl-3.0-or-later"),
        ("LGPLv3", "lgpl-3.0-only"),
        ("LGPL-2.1+", "lgpl-2.1-or-later"),
        ("GNU Lesser General Public License v2.1", "lgpl-2.1-only"),
        ("AGPLv3", "agpl-3.0-only"),
    ],
)
def test_licenses_are_normalised(raw: str, expected: str) -> None:
    assert md(license=raw)["license"] == expected


def test_unknown_license_is_an_error_with_a_hint() -> None:
    result = run(license="Do what you want")
    assert not result.ok
    (p,) = result.errors
    assert p.field == "license" and "not a license Zenodo knows" in p.message
    assert "cc-by-4.0" in p.hint


@pytest.mark.parametrize(
    ("raw", "likely"),
    [("CC-BY", "cc-by-4.0"), ("CC BY-SA", "cc-by-sa-4.0"), ("GPL", "gpl-3.0-or-later")],
)
def test_a_license_without_version_is_an_error_naming_the_likely_id(raw: str, likely: str) -> None:
    result = run(license=raw)
    assert not result.ok
    (p,) = result.errors
    assert p.field == "license" and raw in p.message
    assert p.hint == f"write the version, e.g. {likely}"
    assert license_id("Foo")[0] is None


def test_every_license_id_is_one_the_emulated_zenodo_knows() -> None:
    from maggot_zenodo.convert.licenses import ZENODO_LICENSES
    from maggot_zenodo.emulator.vocabularies import LICENSES

    assert ZENODO_LICENSES <= LICENSES


def test_open_dataset_without_license_warns() -> None:
    result = run(license=None)
    assert result.ok and "license" not in result.metadata
    assert [w.field for w in result.warnings] == ["license"]
    assert run(license=None, access_rights="Private").warnings == ()


@pytest.mark.parametrize(
    ("maggot", "zenodo"), [("Public", "open"), ("Private", "closed"), ("Mixte", "restricted")]
)
def test_access_rights(maggot: str, zenodo: str) -> None:
    assert md(access_rights=maggot)["access_right"] == zenodo


# ------------------------------------------------------------------ languages, dates, DOIs


def test_languages_are_checked_against_iso_639() -> None:
    base = md()
    for code in ("eng", "fra", "fr", "fre", "vie", "gsw"):
        assert validate({**base, "language": code}) == [], code
    for code in ("xyz", "qqq", "zzz", "FRA", "french", 3):
        assert [p.field for p in validate({**base, "language": code})] == ["metadata.language"]
    # The emulator, written separately, agrees on the refusals.
    assert zenodo_refusals({**base, "language": "xyz"})
    assert language_code("fr") == language_code("FRE") == "fra"
    assert language_code("Vietnamese") == "vie"
    assert language_code("xyz") is None and language_code("Klingon") is None


def test_first_language_as_iso_639_3() -> None:
    assert md(language=["French"])["language"] == "fra"
    result = run(language=["German", "English"])
    assert result.metadata["language"] == "deu"
    assert [w.field for w in result.warnings] == ["language"]
    assert "language" not in md(language=[])


def test_collection_dates() -> None:
    assert md(datestart="2013-01-01", dateend="2014-12-31")["dates"] == [
        {"type": "Collected", "start": "2013-01-01", "end": "2014-12-31"}
    ]
    assert md(datestart="2013-01-01")["dates"] == [{"type": "Collected", "start": "2013-01-01"}]
    bad = run(datestart="01/02/2013")
    assert [p.field for p in bad.errors] == ["datestart"]
    assert [p.field for p in run(datestart="2014-01-01", dateend="2013-01-01").errors] == [
        "dateend"
    ]


def test_publication_dois() -> None:
    out = md(
        publication_idtype="doi",
        publication_idnumber=" 10.1007/s11306-018-1427-8., hal:03626433 ; doi:10.1/x ",
    )
    assert out["related_identifiers"] == [
        {
            "identifier": "10.1007/s11306-018-1427-8",
            "relation": "isSupplementTo",
            "resource_type": "publication",
            "scheme": "doi",
        },
        # 0.1.0 dropped the HAL id silently; it is the same article in HAL, linked by address
        {
            "identifier": "https://hal.science/hal-03626433",
            "relation": "isSupplementTo",
            "resource_type": "publication",
            "scheme": "url",
        },
    ]
    out = md(publication_idnumber="10.1093/jxb/eraa302, https://doi.org/10.1111/nph.18095")
    assert [r["identifier"] for r in out["related_identifiers"]] == [
        "10.1093/jxb/eraa302",
        "10.1111/nph.18095",
    ]
    assert doi_of("https://dx.doi.org/10.1234/ABC.") == "10.1234/ABC"
    warned = run(publication_idtype="doi", publication_idnumber="in preparation")
    assert [w.field for w in warned.warnings] == ["publication_idnumber"]


def test_resources_become_related_identifiers_once() -> None:
    resources = [
        {"datatype": "JournalArticle", "location": "https://doi.org/10.1105/tpc.114.127761"},
        {"datatype": "Dataset", "location": "http://doi.org/10.1105/TPC.114.127761"},
        {"datatype": "Software", "location": "https://github.com/x/y"},
        {"datatype": "Weird", "location": "https://example.org/z"},
        {"location": "https://example.org/no-type"},
        {"datatype": "Dataset", "location": "data.csv"},
    ]
    out = md(resources=resources, publication_idnumber="10.1105/tpc.114.127761")
    # The article is the publication: it keeps isSupplementTo (0.1.0 kept the hasPart copy);
    # software and works of unknown type are referenced, not parts (0.1.0: hasPart).
    assert out["related_identifiers"] == [
        {
            "relation": "isSupplementTo",
            "resource_type": "publication",
            "identifier": "10.1105/tpc.114.127761",
            "scheme": "doi",
        },
        {
            "relation": "references",
            "resource_type": "software",
            "identifier": "https://github.com/x/y",
            "scheme": "url",
        },
        {
            "relation": "references",
            "resource_type": "other",
            "identifier": "https://example.org/z",
            "scheme": "url",
        },
        {"relation": "references", "identifier": "https://example.org/no-type", "scheme": "url"},
    ]


def test_links_that_cannot_be_linked_are_reported_not_dropped_silently() -> None:
    resources = [
        {"datatype": "Dataset", "location": "ftp://ftp.example.org/pub/data.csv"},
        {"datatype": "Dataset", "location": "s3://bucket/key.csv"},
        {"datatype": "Dataset", "location": "https://"},
        {"datatype": "Text", "location": "https://h.org/getdata/my protocol.pdf"},
        {"datatype": "Dataset", "location": "data.csv"},
    ]
    result = run(resources=resources)
    assert result.ok
    assert result.metadata["related_identifiers"] == [
        {
            "relation": "isDocumentedBy",  # a protocol documents the dataset (0.1.0: hasPart)
            "resource_type": "other",
            "identifier": "https://h.org/getdata/my%20protocol.pdf",
            "scheme": "url",
        }
    ]
    assert [w.field for w in result.warnings] == ["resources[0]", "resources[1]", "resources[2]"]
    assert "ftp://ftp.example.org/pub/data.csv" in result.warnings[0].message
    assert "s3://bucket/key.csv" in result.warnings[1].message
    assert all(w.hint for w in result.warnings)
    assert zenodo_refusals(result.metadata) == []


def test_the_oracle_can_refuse() -> None:
    good = md()
    assert zenodo_refusals(good) == []
    assert zenodo_refusals({**good, "license": "not-a-licence-id"})
    assert zenodo_refusals({**good, "grants": [{"id": "10.13039/501100000780::10"}]})
    assert zenodo_refusals({**good, "creators": []})
    assert zenodo_refusals({**good, "mystery": 1})  # a key Zenodo would drop silently


def test_grants(tmp_path: Path) -> None:
    grants = (
        "MetaboHub\tANR\tANR-11-INBS-0010\thttps://anr.fr\nEOSC\tEuropean Commission\t"
        "101017536\t\nLocal\tRegion\tR-1\t\n"
    )
    site = load_site(None, cvlist(tmp_path, grants=grants))
    result = run(site=site, grantNumbers=["MetaboHub", "eosc", "Local", "Unknown", "MetaboHub"])
    assert result.metadata["grants"] == [
        {"id": "10.13039/501100001665::ANR-11-INBS-0010"},
        {"id": "10.13039/501100000780::101017536"},
    ]
    assert [w.field for w in result.warnings] == ["grantNumbers[2]", "grantNumbers[3]"]
    assert grant_id("ANR-20-CE20-0001") == "10.13039/501100001665::ANR-20-CE20-0001"
    assert grant_id("283595") == "10.13039/501100000780::283595"
    assert grant_id("101017536", "European Commission") == "10.13039/501100000780::101017536"
    assert grant_id("Untwist") is None


@pytest.mark.parametrize(
    ("award", "agency"),
    [
        ("10.5281/zenodo.1", ""),
        ("12345_ERC", ""),
        ("123", ""),
        ("2020 call", ""),
        ("ANR-1-X", ""),
        ("H2020-123", "EU"),
        ("283595", "Region"),
    ],
)
def test_no_award_id_is_made_up(award: str, agency: str) -> None:
    assert grant_id(award, agency) is None


def test_an_award_that_is_not_an_id_is_left_out_with_a_warning(tmp_path: Path) -> None:
    site = load_site(None, cvlist(tmp_path, grants="EOSC\tEU\tH2020-EOSC\t\nX\tANR\t1\t\n"))
    result = run(site=site, grantNumbers=["10.5281/zenodo.1", "12345_ERC", "EOSC", "X"])
    assert result.ok and "grants" not in result.metadata
    fields = [w.field for w in result.warnings]
    assert fields == [f"grantNumbers[{k}]" for k in range(4)]
    assert "not in the site's grant dictionary" in result.warnings[0].message
    assert "H2020-EOSC" in result.warnings[2].message and result.warnings[2].hint


# ------------------------------------------------------------------ text, JSON


def test_strings_trimmed_and_empties_omitted() -> None:
    out = md(
        keywords=["  NMR ", "", "nmr", "Metabolomics"],
        note="   ",
        members=[],
        description="  Line one.\n\tLine two.\x00  ",
    )
    assert out["title"] == "A toy dataset"
    assert out["keywords"] == ["NMR", "Metabolomics"]
    # 0.1.0 sent the plain text, which Zenodo shows as HTML (one line)
    assert out["description"] == "<p>Line one.<br>\nLine two.</p>"
    assert "notes" not in out
    assert all(c["type"] != "ProjectMember" for c in out["contributors"])


def test_json_is_built_as_data() -> None:
    tricky = 'Say "hi", \\ then }{ ]['
    out = md(fulltitle=tricky, description=tricky, keywords=[tricky])
    again = json.loads(json.dumps({"metadata": out}, ensure_ascii=False))["metadata"]
    assert again["title"] == again["keywords"][0] == tricky
    assert again["description"] == f"<p>{tricky}</p>"  # plain text becomes HTML


def test_communities_from_config_are_added() -> None:
    out = md(communities=["inrae", "inrae", " "])
    assert out["communities"] == [{"identifier": "inrae"}]


def test_no_authors_is_an_error() -> None:
    result = run(authors=[])
    assert [(p.field, p.message) for p in result.errors] == [
        ("authors", "at least one author is required")
    ]


def test_short_title_fails_zenodos_rules() -> None:
    result = run(fulltitle="ab")
    assert not result.ok
    assert [p.field for p in result.errors] == ["metadata.title"]


# ------------------------------------------------------------------ a site's own definitions


DEF_HEADER = (
    "Field\tType\tLevel\tArray\tMultiple\tProperty\tValue type\tValue source\tIndex\tPrefix\n"
)


def test_site_definition_file_is_followed(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    rows = [
        "\tupload_type\t0\tFALSE\tFALSE\t\tother\t\t\t",
        "\tcommunities\t0\tFALSE\tFALSE\t\tmy-lab,other-lab\t\t\t",
        "title\ttitle\t0\tFALSE\tFALSE\t\t#VALUE\t\t\tMaggot: ",
        "description\tdescription\t0\tFALSE\tFALSE\t\t#VALUE\t\t\t",
        "authors\tcreators\t0\tTRUE\tTRUE\t\t\t\t\t",
        "authors\tcreators\t1\tFALSE\tFALSE\tname\t#VALUE\t\t\t",
        "contacts\tcontributors\t0\tTRUE\tTRUE\t\t\t\t\t",
        "contacts\tcontributors\t1\tFALSE\tFALSE\ttype\tDataManager\t\t\t",
        "contacts\tcontributors\t1\tFALSE\tFALSE\tname\t#VALUE\t\t\t",
        "subject\tkeywords\t0\tTRUE\tFALSE\t\t#VALUE\t\t\t",
    ]
    (conf / "zenodo.txt").write_text(DEF_HEADER + "\r\n".join(rows) + "\r\n", encoding="utf-8")
    site = load_site(conf, None)
    out = md(site=site, communities=["from-config"])
    assert out == {
        "upload_type": "other",
        "communities": [
            {"identifier": "my-lab"},
            {"identifier": "other-lab"},
            {"identifier": "from-config"},
        ],
        "title": "Maggot: toy",
        "description": "<p>Numbers.</p>",
        "creators": [{"name": "Jacob, Daniel"}],
        "contributors": [{"type": "DataManager", "name": "Jacob, Daniel"}],
        "keywords": ["Chemistry"],
        "publication_date": "2026-03-04",
    }


def test_unknown_zenodo_type_in_a_site_definition_is_caught(tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "zenodo.txt").write_text(
        DEF_HEADER + "\tupload_type\t0\tFALSE\tFALSE\t\tdataset\t\t\t\n"
        "fulltitle\ttitle\t0\tFALSE\tFALSE\t\t#VALUE\t\t\t\n"
        "authors\tcreators\t0\tTRUE\tTRUE\t\t\t\t\t\nauthors\tcreators\t1\tFALSE\tFALSE\tname\t#VALUE\t\t\t\n"
        "contacts\tcontributors\t0\tTRUE\tTRUE\t\t\t\t\t\n"
        "contacts\tcontributors\t1\tFALSE\tFALSE\ttype\tBoss\t\t\t\n"
        "contacts\tcontributors\t1\tFALSE\tFALSE\tname\t#VALUE\t\t\t\n",
        encoding="utf-8",
    )
    result = run(site=load_site(conf, None))
    assert [p.field for p in result.errors] == ["metadata.contributors[0].type"]


def test_topics_without_ontology_become_keywords() -> None:
    out = md(keywords=["NMR"], topics=["Plant biology", "nmr"])
    assert out["keywords"] == ["NMR", "Plant biology"]
    assert "subjects" not in out
