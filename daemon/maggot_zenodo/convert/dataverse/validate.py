"""Check a version body against the site's blocks and licences, as Dataverse's parser would,
but reporting what it would drop silently. Used on every body before it is sent."""

from __future__ import annotations

from typing import Any

from maggot_zenodo.convert.dataverse.blocks import BlockSet, FieldSpec
from maggot_zenodo.convert.problems import Problem


def _check_item(spec: FieldSpec, item: Any, where: str, out: list[Problem]) -> None:
    if not isinstance(item, dict):
        out.append(Problem(where, "a field must be an object", "a defect of this tool: report it"))
        return
    if item.get("typeClass") != spec.type_class:
        out.append(
            Problem(
                where,
                f"typeClass {item.get('typeClass')!r} where Dataverse expects {spec.type_class!r}",
                "check the site's metadata block",
            )
        )
    if bool(item.get("multiple")) != spec.multiple:
        out.append(
            Problem(
                where,
                f"multiple must be {str(spec.multiple).lower()}",
                "check the site's metadata block",
            )
        )
    values = item.get("value")
    values = values if isinstance(values, list) and spec.multiple else [values]
    for value in values:
        if spec.type_class == "controlledVocabulary" and spec.canonical(str(value)) is None:
            out.append(
                Problem(
                    where,
                    f"“{value}” is not a value of {spec.title}",
                    "use a value of the site's vocabulary",
                )
            )
        if spec.type_class == "compound" and isinstance(value, dict):
            for key, child in value.items():
                cspec = spec.child(key)
                if cspec is None:
                    out.append(
                        Problem(
                            f"{where}.{key}",
                            f"not a part of {spec.title}: Dataverse would drop it silently",
                            "remove it",
                        )
                    )
                else:
                    _check_item(cspec, child, f"{where}.{key}", out)


def validate_version(version: dict[str, Any], blocks: BlockSet) -> list[Problem]:
    """Every unknown field, wrong ``typeClass``/``multiple``, out-of-vocabulary value and
    unknown licence in ``version`` (a ``datasetVersion`` body)."""
    out: list[Problem] = []
    for block_name, block in (version.get("metadataBlocks") or {}).items():
        for item in block.get("fields") or []:
            name = str(item.get("typeName")) if isinstance(item, dict) else "?"
            spec = blocks.get(name)
            if spec is None:
                out.append(
                    Problem(
                        name,
                        f"not a field of this Dataverse ({blocks.origin}): it "
                        "would be dropped silently",
                        "remove it or enable its block",
                    )
                )
            elif spec.block != block_name:
                out.append(
                    Problem(
                        name,
                        f"belongs to block {spec.block}, not {block_name}",
                        "move it to its block",
                    )
                )
            else:
                _check_item(spec, item, name, out)
    lic = version.get("license")
    if isinstance(lic, dict):
        names = {(x.name, x.uri) for x in blocks.licences}
        if (lic.get("name"), lic.get("uri")) not in names:
            out.append(
                Problem(
                    "license",
                    f"“{lic.get('name')}” is not a licence of this Dataverse",
                    "choose one of: " + ", ".join(x.name for x in blocks.licences),
                )
            )
    return out
