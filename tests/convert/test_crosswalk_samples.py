"""The crosswalk on real Maggot records (../shared/samples): exact output, field by field."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from testkit.crosswalk_oracle import zenodo_refusals

from maggot_zenodo.convert.crosswalk import convert
from maggot_zenodo.convert.maggot import load_site, read_dataset

TODAY = datetime.date(2026, 1, 2)


@pytest.fixture
def site(samples_dir: Path):
    return load_site(samples_dir / "maggot-site/conf", samples_dir / "maggot-site/cvlist")


def people(kind: str | None, *names: str) -> list[dict]:
    return [{"name": n, **({"type": kind} if kind else {})} for n in names]


def related(*items: tuple[str, str, str, str]) -> list[dict]:
    keys = ("identifier", "scheme", "relation", "resource_type")
    return [dict(zip(keys, item, strict=True)) for item in items]


def convert_sample(samples_dir: Path, name: str, site) -> tuple[dict, list]:
    ds = read_dataset(samples_dir / "storage" / name, site=site)
    result = convert(ds.record, site, today=TODAY)
    assert result.ok, result.problems
    return result.metadata, list(result.problems)


def test_frim1_exact(samples_dir: Path, site) -> None:
    md, problems = convert_sample(samples_dir, "frim1", site)
    assert problems == []
    assert md["upload_type"] == "dataset"
    assert md["communities"] == [{"identifier": "zenodo"}, {"identifier": "inra"}]
    assert md["title"] == "FRIM - Fruit Integrative Modelling"
    # Plain text becomes HTML (0.1.0 sent it as is)
    assert md["description"].startswith("<p>The project aimed to build a virtual tomato fruit")
    assert md["description"].endswith("and biotechnology.</p>")
    assert md["access_right"] == "open"
    assert md["license"] == "etalab-2.0"  # written "Etalab V2.0 license"
    assert md["creators"] == people(
        None, "Bénard, Camille", "Biais, Benoit", "Beauvoit, Bertrand", "Colombié, Sophie"
    )
    assert md["contributors"] == (
        people("ContactPerson", "Gibon, Yves")
        + people(
            "DataCollector",
            "Bénard, Camille",
            "Biais, Benoit",
            "Ballias, Patricia",
            "Maucourt, Mickaël",
        )
        + people("DataCurator", "Moing, Annick", "Jacob, Daniel")
        + people("ProjectLeader", "Gibon, Yves")
        + people("WorkPackageLeader", "Vercambre, Gilles")
    )
    assert md["grants"] == [
        {"id": "10.13039/501100001665::ANR-11-INBS-0010"},
        {"id": "10.13039/501100001665::ANR-11-INBS-0012"},
    ]
    assert md["keywords"] == [
        "tomato", "fruit growth", "experimental measurement", "plant trait",
        "growth condition", "Plant biology", "Chemometrics",
    ]  # fmt: skip
    # Relations from the resources' data types (0.1.0: hasPart for all): the collections are
    # parts, the other articles and the "Other" resource are referenced.
    assert md["related_identifiers"] == related(
        ("https://pmb-bordeaux.fr/dataexplorer/?ds=frim1", "url", "hasPart", "dataset"),
        ("https://identifiers.org/odam:frim1", "url", "references", "other"),
        ("10.1105/tpc.114.127761", "doi", "references", "publication"),
        ("10.1093/jxb/erv151", "doi", "references", "publication"),
        ("10.1104/pp.19.00086", "doi", "references", "publication"),
        ("https://pmb-bordeaux.fr/fb/share/SPyaNWJR", "url", "hasPart", "dataset"),
        ("10.1104/pp.113.231241", "doi", "isSupplementTo", "publication"),
    )
    # publication_citation → references (0.1.0 left it out)
    assert md["references"] == [
        "Biais B, Bénard C, Beauvoit B, Colombié S, Prodhomme D, Ménard G, Bernillon S, Gehl B, "
        "Gautier H, Ballias P, Mazat J-P, Sweetlove L, Génard M, Gibon Y. 2014. Remarkable "
        "reproducibility of enzyme activity profiles in tomato fruits grown under contrasting "
        "environments provides a roadmap for studies of fruit metabolism. Plant Physiology 164, "
        "1204-1221"
    ]
    assert md["language"] == "eng"
    assert md["publication_date"] == "2026-01-02"
    assert set(md) == {
        "upload_type", "communities", "title", "description", "access_right", "license",
        "creators", "contributors", "grants", "keywords", "related_identifiers", "language",
        "publication_date", "references",
    }  # fmt: skip


def test_frimouss_exact(samples_dir: Path, site) -> None:
    md, problems = convert_sample(samples_dir, "Frimouss", site)
    assert [(p.field, p.severity) for p in problems] == [("grantNumbers[0]", "warning")]
    assert "not in the site's grant dictionary" in problems[0].message
    assert md["title"] == "FRuit Integrative MOdelling for a Unified Selection System"
    assert md["description"].startswith("<p>Fruit production is affected by environmental hazards")
    assert md["access_right"] == "open"
    assert md["license"] == "etalab-2.0"
    assert md["creators"] == people(None, "Roch, Léa")
    assert md["contributors"] == (
        people("ContactPerson", "Gibon, Yves")
        + people("DataCollector", "Roch, Léa", "Cakpo, Coffi-Belmys")
        + people("DataCurator", "Roch, Léa", "Jacob, Daniel", "Moing, Annick")
        + people(
            "ProjectMember",
            "Bernillon, Stéphane",
            "Dai, Zhanwu",
            "Deborde, Catherine",
            "Beauvoit, Bertrand",
            "Fouillen, Laetitia",
            "Génard, Michel",
            "Colombié, Sophie",
            "Vercambre, Gilles",
            "van Delft, Pierre",
        )
        + people("ProjectLeader", "Gibon, Yves")
        + people("WorkPackageLeader", "Moing, Annick")
    )
    assert "grants" not in md  # "Frimouss" is not in the grant dictionary
    assert md["keywords"] == [
        "Cellulose", "fruit quality trait", "Metabolism", "Fatty Acid Metabolism",
        "fruit development stage", "Agricultural science", "fruit growth and development trait",
    ]  # fmt: skip
    # The publication's DOI is also a resource: it is listed once, as the article the dataset
    # supplements (0.1.0 kept the hasPart copy). The report documents the dataset, the
    # software is referenced (0.1.0: both hasPart).
    assert md["related_identifiers"] == related(
        ("10.1093/jxb/eraa302", "doi", "isSupplementTo", "publication"),
        ("https://pmb-bordeaux.fr/dataexplorer/?dc=Frimouss", "url", "hasPart", "dataset"),
        (
            "https://pmb-bordeaux.fr/getdata/pdf/Frimouss/FruitGrowthModelling.pdf",
            "url",
            "isDocumentedBy",
            "publication",
        ),
        ("https://github.com/djacob65/growthmodel", "url", "references", "software"),
    )
    assert len(md["references"]) == 1
    assert md["references"][0].startswith("Léa Roch, Sylvain Prigent, Holger Klose")
    assert md["language"] == "eng"
    assert md["communities"] == [{"identifier": "zenodo"}, {"identifier": "inra"}]
    assert md["publication_date"] == "2026-01-02"


def test_all_samples_with_and_without_the_site(samples_dir: Path, site) -> None:
    builtin = load_site(None, None)
    folders = sorted(p.parent for p in (samples_dir / "storage").rglob("META_*.json"))
    assert len(folders) == 10
    for folder in folders:
        for s in (site, builtin):
            ds = read_dataset(folder, site=s)
            result = convert(ds.record, s, today=TODAY)
            assert result.ok, (folder.name, result.problems)
            assert zenodo_refusals(result.metadata) == [], folder.name
            assert all(p.severity == "warning" for p in result.problems)
            names = [c["name"] for c in result.metadata["creators"]]
            assert all(n.count(",") == 1 for n in names)
        # Without the site's files: no communities, and grants cannot be looked up.
        assert "communities" not in convert(ds.record, builtin, today=TODAY).metadata


def test_messy_samples(samples_dir: Path, site) -> None:
    md, _ = convert_sample(samples_dir, "Amaizing/AmaizingNMR", site)
    assert md["dates"] == [{"type": "Collected", "start": "2013-01-01", "end": "2014-12-31"}]
    assert md["access_right"] == "closed"
    assert {
        "identifier": "10.1007/s11306-018-1427-8",
        "scheme": "doi",
        "relation": "isSupplementTo",
        "resource_type": "publication",
    } in md["related_identifiers"]  # the stray final "." is gone
    md, _ = convert_sample(samples_dir, "Atacama", site)
    # "10.1111/nph.18095, hal:03626433": the DOI is also a resource and stays the article the
    # dataset supplements, once; the HAL id is linked too (0.1.0: hasPart, HAL id dropped).
    assert md["related_identifiers"] == related(
        ("http://pmb-bordeaux.fr/dataexplorer/?ds=Atacama", "url", "hasPart", "dataset"),
        (
            "https://pmb-bordeaux.fr/getdata/pdf/Atacama/Protocoles.pdf",
            "url",
            "isDocumentedBy",
            "publication",
        ),
        ("10.1111/nph.18095", "doi", "isSupplementTo", "publication"),
        ("https://hal.science/hal-03626433", "url", "isSupplementTo", "publication"),
    )
    assert "license" not in md
    md, _ = convert_sample(samples_dir, "NMRmetaboRing", site)
    members = [c["name"] for c in md["contributors"] if c["type"] == "ProjectMember"]
    assert members == ["Cahoreau, Edern", "Da Costa, Grégory", "le Mao, Inès"]
    md, _ = convert_sample(samples_dir, "Amaizing/AmaizingEnzymes", site)
    # Only local files (uploaded, not linked), and a publication with a URL but no DOI: the
    # URL is linked (0.1.0 dropped it silently).
    assert md["related_identifiers"] == related(
        (
            "https://assets.researchsquare.com/files/rs-2591494/v1/"
            "cc5a4a41-aad9-4be1-83e3-61475c084cb9.pdf?c=1676582619",
            "url",
            "isSupplementTo",
            "publication",
        ),
    )
    assert md["license"] == "etalab-2.0"
