"""The dataverse: configuration section and validate --online's checks."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from testkit.dataverse import client

from maggot_zenodo.config import ConfigError, parse_config
from maggot_zenodo.dataverse.checks import check_online

ROOT = {"storage": {"root": "/srv/data"}}
DV = {"url": "https://demo.recherche.data.gouv.fr", "token": {"env": "DV"}, "collection": "inrae"}


def test_a_site_may_have_dataverse_only_or_both():
    only = parse_config({**ROOT, "dataverse": DV}, base_dir=Path("/"))
    assert only.dataverse is not None and only.dataverse.collection == "inrae"
    assert (only.dataverse.publish, only.dataverse.release) == (False, "major")
    both = parse_config(
        {**ROOT, "zenodo": {"token": {"env": "Z"}}, "dataverse": DV}, base_dir=Path("/")
    )
    assert both.dataverse is not None and both.zenodo.token is not None
    zenodo_only = parse_config({**ROOT, "zenodo": {"token": {"env": "Z"}}}, base_dir=Path("/"))
    assert zenodo_only.dataverse is None


@pytest.mark.parametrize(("section", "key", "words"), [
    ({}, "zenodo", "missing required key"),
    ({"dataverse": {k: v for k, v in DV.items() if k != "token"}}, "dataverse.token",
     "no Dataverse token"),
    ({"dataverse": {**DV, "token": "secret-in-file"}}, "dataverse.token", "must not be written"),
    ({"dataverse": {**DV, "token": {"file": 3}}}, "dataverse.token", "exactly one of"),
    ({"dataverse": {**DV, "url": "https://x.org/?key=abc"}}, "dataverse.url", "query string"),
    ({"dataverse": {**DV, "colection": "x"}}, "dataverse.colection", "did you mean 'collection'"),
    ({"dataverse": {k: v for k, v in DV.items() if k != "collection"}}, "dataverse.collection",
     "missing required key"),
    ({"dataverse": {**DV, "release": "patch"}}, "dataverse.release", "not allowed"),
])  # fmt: skip
def test_bad_sections_name_the_key_and_never_echo_a_token(section, key, words):
    with pytest.raises(ConfigError) as info:
        parse_config({**ROOT, **section}, base_dir=Path("/"))
    assert info.value.key == key and words in str(info.value)
    assert "secret-in-file" not in str(info.value)


def test_online_checks_token_collection_and_permission(dv):
    good = check_online(client(dv), "maggot")
    assert good.ok and good.version == "6.4" and good.account.startswith("@user")
    bad_token = check_online(client(dv, token="wrong-token-123"), "maggot")
    assert not bad_token.ok and "token" in bad_token.problems[0]
    assert "wrong-token-123" not in bad_token.problems[0]
    missing = check_online(client(dv), "nope")
    assert "no collection 'nope'" in missing.problems[0]
    not_allowed = check_online(client(dv), "root")
    assert "may not add datasets to 'root'" in not_allowed.problems[0]


def test_dataverse_defaults_equal_the_schema_and_the_example():
    import dataclasses
    import re

    from maggot_zenodo.config import DataverseConfig, config_schema

    props = config_schema()["properties"]["dataverse"]["properties"]
    example = (Path(__file__).parents[2] / "etc" / "config.example.yaml").read_text()
    for f in dataclasses.fields(DataverseConfig):
        if f.name in ("url", "token", "collection"):
            assert "default" not in props[f.name]
            continue
        assert props[f.name]["default"] == f.default, f.name
        shown = re.search(rf"^#\s+{f.name}: (\S+)", example, re.M)
        assert shown is not None, f.name
        assert yaml.safe_load(shown.group(1)) == f.default, f.name
