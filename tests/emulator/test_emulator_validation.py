"""Metadata validation at create/PUT (structural) and at publish (required fields)."""

from __future__ import annotations

import pytest
from testkit.emulator_http import DEP, Client, valid_metadata

from maggot_zenodo.emulator import validation
from maggot_zenodo.emulator.vocabularies import LANGUAGES, LICENSES


@pytest.fixture
def client(emulator) -> Client:
    return Client(emulator.base_url)


def fields(response) -> set[str]:
    body = response.json()
    assert response.status_code == 400, body
    assert body["status"] == 400 and body["message"] == "A validation error occurred."
    for e in body["errors"]:
        assert isinstance(e["messages"], list) and e["messages"]
    return {e["field"] for e in body["errors"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"license": "cc-by-99"}, "metadata.license"),
        ({"license": 123}, "metadata.license"),
        ({"license": ["cc-by-4.0"]}, "metadata.license"),
        ({"language": "french"}, "metadata.language"),
        ({"language": "zz"}, "metadata.language"),
        ({"dates": [{"type": "Collected", "description": "x"}]}, "metadata.dates.0"),
        (
            {"related_identifiers": [{"identifier": "10.1/x"}]},
            "metadata.related_identifiers.0.relation",
        ),
        (
            {"related_identifiers": [{"relation": "cites", "identifier": ""}]},
            "metadata.related_identifiers.0.identifier",
        ),
        ({"related_identifiers": "10.1/x"}, "metadata.related_identifiers"),
        ({"related_identifiers": ["10.1/x"]}, "metadata.related_identifiers.0"),
        ({"communities": [{"id": "c1"}]}, "communities"),
        ({"communities": ["c1"]}, "communities"),
        ({"communities": {"identifier": "c1"}}, "communities"),
        ({"creators": "Doe, Jane"}, "metadata.creators"),
        ({"publication_date": "02/05/2024"}, "metadata.publication_date"),
    ],
)
def test_structural_errors_at_create_and_put(client, change, field):
    assert field in fields(client.post(DEP, json={"metadata": valid_metadata(**change)}))
    dep = client.create()
    assert field in fields(
        client.put(f"{DEP}/{dep['id']}", json={"metadata": valid_metadata(**change)})
    )
    # the refused PUT changed nothing (a bare create holds only Zenodo's defaults)
    assert client.get(f"{DEP}/{dep['id']}").json()["metadata"] == dep["metadata"]
    assert dep["metadata"].keys() == {
        "prereserve_doi",
        "publication_date",
        "access_right",
        "imprint_publisher",
    }


@pytest.mark.parametrize("change", [{"access_right": "secret"}, {"access_right": "embargoed"}])
def test_unmappable_access_is_refused_without_a_field(client, change):
    """ZENODO-API.md: an access right Zenodo cannot map (or ``embargoed`` without
    ``embargo_date``) is "Unknown access type." with no field."""
    for r in (
        client.post(DEP, json={"metadata": valid_metadata(**change)}),
        client.put(f"{DEP}/{client.create()['id']}", json={"metadata": valid_metadata(**change)}),
    ):
        assert r.status_code == 400
        assert r.json() == {"status": 400, "message": "Unknown access type."}


def test_a_date_without_type_is_a_server_error(client):
    """ZENODO-API.md: a ``dates`` entry without ``type`` makes a server error on Zenodo."""
    r = client.post(DEP, json={"metadata": valid_metadata(dates=[{"start": "2020-01-01"}])})
    assert r.status_code == 500 and r.json()["error_id"]
    assert client.get(DEP).json() == []


def test_invalid_license_message_names_it(client):
    r = client.post(DEP, json={"metadata": {"license": "cc-by-99"}})
    assert r.json()["errors"] == [
        {"field": "metadata.license", "messages": ["Invalid license provided: cc-by-99"]}
    ]


def test_unknown_top_level_key_is_an_error(client):
    r = client.post(DEP, json={"metadata": {}, "state": "done"})
    assert fields(r) == {"state"}


def test_accepted_values(client):
    ok = valid_metadata(
        license="etalab-2.0",
        language="fre",
        access_right="embargoed",
        embargo_date="2030-01-01",
        dates=[
            {"start": "2020-01-01", "type": "Collected"},
            {"end": "2021-01-01", "type": "Valid"},
        ],
        related_identifiers=[
            {"identifier": "10.1234/x", "relation": "isSupplementTo", "scheme": "doi"}
        ],
        communities=[{"identifier": "no-such-community"}],
    )
    r = client.post(DEP, json={"metadata": ok})
    assert r.status_code == 201, r.text
    for lang in ("en", "eng", "fra", "oci"):
        assert client.post(DEP, json={"metadata": {"language": lang}}).status_code == 201


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"upload_type": None}, "metadata.upload_type"),
        ({"upload_type": "spreadsheet"}, "metadata.upload_type"),
        ({"creators": []}, "metadata.creators"),
        ({"creators": [{"affiliation": "INRAE"}]}, "metadata.creators.0.name"),
        ({"title": "ab"}, "metadata.title"),
        ({"contributors": [{"name": "Doe, J", "type": "Boss"}]}, "metadata.contributors.0.type"),
        ({"grants": [{"id": "10.13039/501100001665::NOT-AN-AWARD"}]}, "metadata.grants.0.id"),
        ({"grants": [{"id": "10.13039/999999999999::123456"}]}, "metadata.grants.0.id"),
    ],
)
def test_publish_checks_required_fields(client, change, field):
    md = {k: v for k, v in valid_metadata(**change).items() if v is not None}
    dep = client.create(md)
    client.upload(dep, "data.csv", b"1")
    r = client.post(f"{DEP}/{dep['id']}/actions/publish")
    assert field in fields(r)
    assert client.get(f"{DEP}/{dep['id']}").json()["state"] == "unsubmitted"


def test_publish_takes_any_creator_name_and_defaults_the_date(client):
    """ZENODO-API.md: a name without exactly one comma becomes the family name, without an
    error; ``publication_date`` is defaulted to today."""
    import datetime

    md = valid_metadata(creators=[{"name": "Doe, Jane, Jr"}, {"name": "Plato"}])
    del md["publication_date"]
    dep = client.create(md)
    client.upload(dep, "data.csv", b"1")
    r = client.post(f"{DEP}/{dep['id']}/actions/publish")
    assert r.status_code == 202, r.text
    got = r.json()["metadata"]
    assert [c["name"] for c in got["creators"]] == ["Doe, Jane, Jr", "Plato"]
    assert got["publication_date"] == datetime.date.today().isoformat()


def test_publish_without_files(client):
    dep = client.create(valid_metadata())
    r = client.post(f"{DEP}/{dep['id']}/actions/publish")
    assert r.json()["errors"] == [
        {"field": "files.enabled", "messages": ["Missing uploaded files."]}
    ]


def test_publish_accepts_known_grants(client):
    grants = [
        {"id": "10.13039/501100001665::ANR-11-INBS-0012"},
        {"id": "10.13039/501100000780::283595"},
    ]
    dep = client.create(valid_metadata(grants=grants, creators=[{"name": "Plato"}]))
    client.upload(dep, "data.csv", b"1")
    assert client.post(f"{DEP}/{dep['id']}/actions/publish").status_code == 202


def test_vocabularies_are_big_enough():
    assert {"cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "etalab-2.0", "mit", "apache-2.0"} <= LICENSES
    assert {"gpl-3.0-only", "other-open"} <= LICENSES
    assert len(LANGUAGES) > 7000
    assert {"fr", "fre", "fra", "en", "eng", "de", "ger", "deu"} <= LANGUAGES


def test_split_name_on_one_comma():
    assert validation.split_name("van Delft, Pierre") == ("van Delft", "Pierre")
    assert validation.split_name("Plato") == ("Plato", "")
    assert validation.split_name("Doe, Jane, Jr") == ("Doe, Jane, Jr", "")
