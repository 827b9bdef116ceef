"""The site description the emulator serves: version, metadata blocks, licences, collection.

Built in: the stock citation block and three licences (``data/dataverse/*.json``, read as data,
not imported). ``--schema-dir DIR`` replaces any of them by files a sysadmin saved from a real
installation: ``version.json``, ``metadatablocks-citation.json`` (or any
``metadatablocks-<name>.json``), ``licenses.json``, ``datasetSchema.json``; each either the whole
answer (``{"status": "OK", "data": ...}``) or its ``data`` part.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

STOCK_VERSION: dict[str, Any] = {"version": "6.4", "build": "emulator"}


def _builtin(name: str) -> Any:
    ref = resources.files("maggot_zenodo").joinpath(f"data/dataverse/{name}")
    return json.loads(ref.read_text("utf-8"))


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and value.get("status") == "OK" and "data" in value:
        return value["data"]
    return value


@dataclass(frozen=True)
class SiteSchema:
    """What ``/api/info/version``, ``/api/metadatablocks`` and ``/api/licenses`` answer."""

    version: dict[str, Any]
    blocks: dict[str, dict[str, Any]]
    licenses: list[dict[str, Any]]
    dataset_schema: dict[str, Any] | None = None
    metadata_languages: tuple[str, ...] = ()
    sources: dict[str, str] = field(default_factory=dict)

    def field_index(self) -> dict[str, tuple[str, dict[str, Any], str | None]]:
        """Every field name → (block, definition, parent name or None)."""
        index: dict[str, tuple[str, dict[str, Any], str | None]] = {}
        for block_name, block in self.blocks.items():
            for name, spec in (block.get("fields") or {}).items():
                index[name] = (block_name, spec, None)
                for child, cspec in (spec.get("childFields") or {}).items():
                    index[child] = (block_name, cspec, name)
        return index


def load_schema(schema_dir: Path | None) -> SiteSchema:
    """The built-in description, with whatever ``schema_dir`` holds in place of its parts."""
    version: dict[str, Any] = dict(STOCK_VERSION)
    blocks = {"citation": _builtin("citation.json")}
    licenses: list[dict[str, Any]] = _builtin("licenses.json")
    dataset_schema = None
    sources: dict[str, str] = {}
    if schema_dir is not None:
        if not schema_dir.is_dir():
            raise ValueError(f"--schema-dir {schema_dir}: not a folder")
        for path in sorted(schema_dir.glob("*.json")):
            try:
                data = _unwrap(json.loads(path.read_text("utf-8")))
            except (OSError, ValueError) as exc:
                raise ValueError(f"{path}: not readable JSON ({exc})") from None
            stem = path.stem
            if stem == "version":
                version = data
            elif stem == "licenses":
                licenses = list(data)
            elif stem == "datasetSchema":
                dataset_schema = data
            elif stem.startswith("metadatablocks-"):
                blocks[stem.removeprefix("metadatablocks-")] = data
            else:
                continue
            sources[stem] = str(path)
    return SiteSchema(version, blocks, licenses, dataset_schema, sources=sources)


def find_license(schema: SiteSchema, value: Any) -> tuple[dict[str, Any] | None, str]:
    """The active licence a ``license`` value names (URI first, then name), or the 400 text."""
    name: Any
    uri: Any
    if isinstance(value, str):
        name, uri = value, None
        refusal = f"Invalid or unsupported license: {value}"
    elif isinstance(value, dict):
        name, uri = value.get("name"), value.get("uri")
        refusal = f"Invalid license: {uri or name}"
    else:
        return None, "Error parsing Json: Invalid license"
    active = [lic for lic in schema.licenses if lic.get("active", True)]
    for lic in active:
        if uri and str(lic.get("uri", "")).rstrip("/") == str(uri).rstrip("/"):
            return lic, ""
    for lic in active:
        if name and lic.get("name") == name:
            return lic, ""
    return None, refusal


def license_view(lic: dict[str, Any] | None) -> dict[str, Any] | None:
    if lic is None:
        return None
    return {"name": lic["name"], "uri": lic.get("uri"), "iconUri": lic.get("iconUrl")}
