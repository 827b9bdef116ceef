"""Config defaults live in three places (the schema, the dataclasses, the example file); this
holds them equal, key by key, so that none can drift."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from maggot_zenodo.config import (
    Config,
    MaggotConfig,
    StorageConfig,
    TokensConfig,
    ZenodoConfig,
    config_schema,
)
from maggot_zenodo.metrics_config import MetricsConfig

PROJECT = Path(__file__).resolve().parents[2]
EXAMPLE = PROJECT / "etc" / "config.example.yaml"
SECTIONS = {"storage": StorageConfig, "zenodo": ZenodoConfig, "tokens": TokensConfig,
            "maggot": MaggotConfig, "metrics": MetricsConfig}  # fmt: skip
# Keys without a default (required, or a secret source the example must show).
NO_DEFAULT = {"storage.root", "zenodo.token"}
# Keys of the example that are deliberately not the default, with the reason.
EXAMPLE_DIFFERS: dict[str, str] = {}


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def _properties(node: dict[str, Any]) -> dict[str, Any]:
    schema = config_schema()
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node.get("properties", {})


def _schema_defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, node in _properties(config_schema()).items():
        if key in SECTIONS:
            for sub, subnode in _properties(node).items():
                out[f"{key}.{sub}"] = subnode.get("default", "<none>")
        else:
            out[key] = node.get("default", "<none>")
    return out


def _dataclass_defaults() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(Config):
        if f.name in SECTIONS:
            for sub in dataclasses.fields(SECTIONS[f.name]):
                default = sub.default if sub.default is not dataclasses.MISSING else "<none>"
                out[f"{f.name}.{sub.name}"] = _plain(default)
        elif f.name != "source":
            out[f.name] = _plain(f.default)
    return out


def test_every_schema_key_has_a_dataclass_field_and_the_same_default() -> None:
    schema, classes = _schema_defaults(), _dataclass_defaults()
    sections_only = {k for k in schema if k not in classes and k.split(".")[0] not in SECTIONS}
    # top-level sections other than the four (e.g. a second repository) are built elsewhere
    schema = {k: v for k, v in schema.items() if k not in sections_only}
    assert set(schema) == set(classes), set(schema) ^ set(classes)
    for key in sorted(set(schema) - NO_DEFAULT):
        assert schema[key] == classes[key], f"{key}: schema {schema[key]!r}, class {classes[key]!r}"


def test_the_example_shows_every_key_with_its_default() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    flat: dict[str, Any] = {}
    for key, value in example.items():
        if key in SECTIONS:
            flat.update({f"{key}.{sub}": v for sub, v in value.items()})
        else:
            flat[key] = value
    classes = _dataclass_defaults()
    missing = set(classes) - set(flat)
    assert not missing, f"keys not shown in {EXAMPLE.name}: {sorted(missing)}"
    for key in sorted(set(classes) - NO_DEFAULT - set(EXAMPLE_DIFFERS)):
        assert flat[key] == classes[key], f"{key}: example {flat[key]!r}, default {classes[key]!r}"


def test_an_empty_section_gives_the_dataclass_defaults() -> None:
    from maggot_zenodo.config import parse_config

    config = parse_config(
        {"storage": {"root": "/srv/x"}, "zenodo": {"token": {"env": "T"}}}, base_dir=Path("/")
    )
    assert config.storage == StorageConfig(root=Path("/srv/x"))
    assert dataclasses.replace(config.zenodo, token=None) == ZenodoConfig()
    assert config.maggot == MaggotConfig() and config.tokens == TokensConfig()
    assert (config.workers, config.shutdown_timeout, config.log_level) == (2, 30.0, "info")
