"""Relations and references: resources and the publication as Zenodo links, and the
description as HTML (#10 §4)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from testkit.crosswalk_oracle import zenodo_refusals

from maggot_zenodo.convert.crosswalk import Conversion, convert
from maggot_zenodo.convert.maggot import load_site, parse_definition
from maggot_zenodo.convert.relations import hal_of
from maggot_zenodo.convert.tidy import as_html, is_html
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
    "license": "cc-by-4.0",
}


def run(site: Any = BUILTIN, **fields: Any) -> Conversion:
    result = convert({**RECORD, **fields}, site, today=TODAY)
    assert result.ok, result.problems
    assert validate(result.metadata) == []
    assert zenodo_refusals(result.metadata) == []
    return result


def links(**fields: Any) -> list[dict[str, str]]:
    md = run(**fields).metadata
    assert md is not None
    return list(md.get("related_identifiers", []))


@pytest.mark.parametrize(
    ("datatype", "relation"),
    [
        ("Dataset", "hasPart"),
        ("Collection", "hasPart"),
        ("Image", "hasPart"),
        ("Report", "isDocumentedBy"),  # protocols, methods
        ("OutputManagementPlan", "isDocumentedBy"),
        ("Text", "isDocumentedBy"),
        ("JournalArticle", "references"),  # not the publication: another work
        ("Preprint", "references"),
        ("ConferencePaper", "references"),
        ("Software", "references"),
        ("InteractiveResource", "references"),
        ("Other", "references"),
    ],
)
def test_the_relation_follows_the_resources_datatype(datatype: str, relation: str) -> None:
    (link,) = links(resources=[{"datatype": datatype, "location": "https://example.org/r"}])
    assert link["relation"] == relation


def test_a_relation_the_site_chose_is_kept() -> None:
    rows = [line.split("\t") for line in DEFINITION.splitlines()]
    site = BUILTIN.__class__(parse_definition(rows, "zenodo.txt"))
    res = [{"datatype": "JournalArticle", "location": "https://example.org/r"}]
    (link,) = links(site=site, resources=res)
    assert link["relation"] == "isDerivedFrom"


# A site's zenodo.txt (cells separated by "|" here) whose resources carry their own relation.
DEFINITION = "\n".join(
    line.replace("|", "\t")
    for line in [
        "|upload_type|0|FALSE|FALSE||dataset|||",
        "fulltitle|title|0|FALSE|FALSE||#VALUE|||",
        "authors|creators|0|TRUE|TRUE|||||",
        "authors|creators|1|FALSE|FALSE|name|#VALUE|||",
        "resources|related_identifiers|0|TRUE|TRUE|||||",
        "resources|related_identifiers|1|FALSE|FALSE|relation|isDerivedFrom|||",
        "resources|related_identifiers|1|FALSE|FALSE|identifier|#VALUE|location||",
    ]
)


def test_the_publication_listed_as_a_resource_stays_is_supplement_to() -> None:
    res = [
        {"datatype": "Dataset", "location": "https://example.org/data"},
        {"datatype": "JournalArticle", "location": "https://doi.org/10.1093/jxb/eraa302"},
    ]
    out = links(resources=res, publication_idtype="doi", publication_idnumber="10.1093/jxb/eraa302")
    assert out == [
        {"identifier": "https://example.org/data", "scheme": "url", "relation": "hasPart"}
        | {"resource_type": "dataset"},
        {
            "identifier": "10.1093/jxb/eraa302",
            "scheme": "doi",
            "relation": "isSupplementTo",
            "resource_type": "publication",
        },
    ]


def test_a_publication_url_without_doi_is_linked() -> None:
    out = links(publication_url=" https://hal.inrae.fr/hal-03728111v1 ")
    assert out == [
        {
            "identifier": "https://hal.inrae.fr/hal-03728111v1",
            "scheme": "url",
            "relation": "isSupplementTo",
            "resource_type": "publication",
        }
    ]
    # With a DOI, the URL is the same article: not linked a second time.
    out = links(publication_idnumber="10.1093/jxb/eraa302", publication_url="https://x.org/a")
    assert [r["identifier"] for r in out] == ["10.1093/jxb/eraa302"]


@pytest.mark.parametrize(
    ("raw", "hal"),
    [
        ("hal:03626433", "hal-03626433"),
        ("hal-03626433", "hal-03626433"),
        ("hal:hal-03626433", "hal-03626433"),
        ("HAL-03626433v2", "hal-03626433v2"),
        ("tel-01234567", "tel-01234567"),
        ("03626433", None),  # eight bare digits could be anything
        ("hal:0362643", None),
        ("hal-03626433x", None),
    ],
)
def test_hal_ids(raw: str, hal: str | None) -> None:
    assert hal_of(raw) == hal


def test_a_hal_id_is_linked_by_its_address() -> None:
    # Zenodo detects the scheme from the identifier and allows no "hal" scheme: the address.
    out = links(publication_idtype="-", publication_idnumber="hal:03626433")
    assert out == [
        {
            "identifier": "https://hal.science/hal-03626433",
            "scheme": "url",
            "relation": "isSupplementTo",
            "resource_type": "publication",
        }
    ]


def test_an_unknown_publication_id_is_a_warning_not_a_silent_drop() -> None:
    result = run(publication_idnumber="10.1093/jxb/eraa302, PMC1234")
    (w,) = result.warnings
    assert w.field == "publication_idnumber" and "PMC1234" in w.message and w.hint


def test_the_citation_becomes_references() -> None:
    cite = "  Roch L. et al. (2020)\n Biomass composition. J. Exp. Bot. 71 (19)  "
    md = run(publication_citation=cite).metadata
    assert md is not None
    assert md["references"] == ["Roch L. et al. (2020) Biomass composition. J. Exp. Bot. 71 (19)"]
    md = run(publication_citation="   ").metadata
    assert md is not None and "references" not in md


def test_rules_accept_what_is_emitted_and_refuse_bad_references() -> None:
    md = run().metadata
    assert md is not None
    for relation in ("isDocumentedBy", "references", "isSupplementTo", "hasPart"):
        link = {"identifier": "https://hal.science/hal-1", "scheme": "url", "relation": relation}
        assert validate({**md, "related_identifiers": [link]}) == []
    (p,) = validate({**md, "references": ["ok", ""]})
    assert p.field == "metadata.references[1]"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("One line.", "<p>One line.</p>"),
        ("pH < 7 & ratio > 2", "<p>pH &lt; 7 &amp; ratio &gt; 2</p>"),
        ("First\nsecond line.", "<p>First<br>\nsecond line.</p>"),
        ("Para one.\n\nPara two.\r\n \r\nPara three.", "<p>Para one.</p><p>Para two.</p>"
         "<p>Para three.</p>"),
        ("Use <sample id> here", "<p>Use &lt;sample id&gt; here</p>"),
    ],
)  # fmt: skip
def test_a_plain_description_becomes_html(raw: str, expected: str) -> None:
    md = run(description=raw).metadata
    assert md is not None
    assert md["description"] == expected


@pytest.mark.parametrize(
    "raw",
    [
        "<p>Already <b>HTML</b>.</p>",
        "Text with a<br>break",
        '<a href="https://example.org">link</a> & more',
        "<P CLASS='x'>upper case</P>",
    ],
)
def test_a_description_in_html_is_left_as_is(raw: str) -> None:
    assert is_html(raw)
    md = run(description=raw).metadata
    assert md is not None and md["description"] == raw
    assert as_html(raw) == raw


def test_a_publication_url_that_cannot_be_linked_is_a_warning() -> None:
    result = run(publication_url="ftp://ftp.example.org/paper.pdf")
    (w,) = result.warnings
    assert w.field == "publication_url" and "ftp://ftp.example.org/paper.pdf" in w.message
    assert "related_identifiers" not in (result.metadata or {})
