"""A Dataverse site's metadata blocks and licences, as ``/api/metadatablocks/<name>`` and
``/api/licenses`` describe them: the stock ones built in, the site's own read from a cache.

The cache is a folder of the server's answers (``metadatablocks-<name>.json``,
``licenses.json``), written by the deposit after it read them from the server, read by
``check`` without network. The emulator's ``--schema-dir`` takes the same files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class FieldSpec:
    """One field of a block: what Dataverse checks (``multiple``, ``typeClass``, vocabulary)."""

    name: str
    title: str
    type_class: str  # primitive | compound | controlledVocabulary
    multiple: bool
    required: bool = False
    kind: str = "TEXT"  # TEXT, TEXTBOX, DATE, EMAIL, URL, ...
    vocabulary: tuple[str, ...] = ()
    alternates: tuple[tuple[str, tuple[str, ...]], ...] = ()
    children: tuple[FieldSpec, ...] = ()
    block: str = "citation"

    def child(self, name: str) -> FieldSpec | None:
        return next((c for c in self.children if c.name == name), None)

    def canonical(self, value: str) -> str | None:
        """The vocabulary entry ``value`` names (exactly, or as an alternate), or None."""
        if value in self.vocabulary:
            return value
        for main, alts in self.alternates:
            if value in alts:
                return main
        return None


@dataclass(frozen=True)
class Licence:
    name: str
    uri: str
    rights_id: str = ""


@dataclass(frozen=True)
class BlockSet:
    """Every field the site knows, by name, and its active licences."""

    fields: dict[str, FieldSpec]
    licences: tuple[Licence, ...]
    origin: str = "built-in stock citation block"
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def get(self, name: str) -> FieldSpec | None:
        return self.fields.get(name)


def _spec(raw: dict[str, Any], block: str, parent: str = "") -> FieldSpec:
    alternates = raw.get("controlledVocabularyAlternates") or {}
    return FieldSpec(
        name=str(raw["name"]),
        title=str(raw.get("displayName") or raw.get("title") or raw["name"]),
        type_class=str(raw.get("typeClass") or "primitive"),
        multiple=bool(raw.get("multiple")),
        required=bool(raw.get("isRequired")),
        kind=str(raw.get("type") or "TEXT"),
        vocabulary=tuple(str(v) for v in raw.get("controlledVocabularyValues") or ()),
        alternates=tuple((str(k), tuple(map(str, v))) for k, v in alternates.items()),
        children=tuple(
            _spec(c, block, raw["name"]) for c in (raw.get("childFields") or {}).values()
        ),
        block=block,
    )


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and value.get("status") == "OK" and "data" in value:
        return value["data"]
    return value


def block_set(
    blocks: list[dict[str, Any]], licences: list[dict[str, Any]], origin: str
) -> BlockSet:
    """From the server's answers (``data`` parts or whole envelopes)."""
    fields: dict[str, FieldSpec] = {}
    for block in map(_unwrap, blocks):
        for raw in (block.get("fields") or {}).values():
            fields[str(raw["name"])] = _spec(raw, str(block.get("name") or "citation"))
    active = tuple(
        Licence(str(lic["name"]), str(lic.get("uri") or ""), str(lic.get("rightsIdentifier") or ""))
        for lic in _unwrap(licences)
        if lic.get("active", True)
    )
    raw = {"blocks": [_unwrap(b) for b in blocks], "licenses": _unwrap(licences)}
    return BlockSet(fields, active, origin, raw)


def _builtin(name: str) -> Any:
    ref = resources.files("maggot_zenodo").joinpath(f"data/dataverse/{name}")
    return json.loads(ref.read_text("utf-8"))


@cache
def stock() -> BlockSet:
    """The stock citation block (Dataverse 6.4) and the licences CC0 1.0, CC BY 4.0, etalab 2.0."""
    return block_set(
        [_builtin("citation.json")], _builtin("licenses.json"), "built-in stock blocks"
    )


def load_cached(folder: Path | None) -> BlockSet:
    """The blocks a deposit saved in ``folder``; the stock ones when there are none."""
    if folder is None or not (folder / "licenses.json").is_file():
        return stock()
    try:
        blocks = [
            json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("metadatablocks-*.json"))
        ]
        licences = json.loads((folder / "licenses.json").read_text("utf-8"))
        return block_set(blocks or [_builtin("citation.json")], licences, f"cached in {folder}")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return stock()


def save_cache(
    folder: Path, blocks: dict[str, dict[str, Any]], licences: list[dict[str, Any]]
) -> None:
    """Write the server's answers (atomically, file by file) for ``check`` to read later."""
    folder.mkdir(parents=True, exist_ok=True)
    items = [(f"metadatablocks-{n}.json", b) for n, b in blocks.items()]
    for name, value in [*items, ("licenses.json", licences)]:
        tmp = folder / (name + ".tmp")
        tmp.write_text(json.dumps(value, ensure_ascii=False), "utf-8")
        tmp.replace(folder / name)
