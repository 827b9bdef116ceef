"""A Maggot licence → one of the Dataverse site's licences, matched by URI.

Maggot records hold ``etalab-2.0``, ``Etalab V2.0 license`` or SPDX-like ids; Dataverse knows its
licences by name and URI (``etalab 2.0`` / ``https://spdx.org/licenses/etalab-2.0``). The record
is read with the crosswalk's licence reader, then compared with each site licence's URI, SPDX
identifier and name.
"""

from __future__ import annotations

import re
from typing import Any

from maggot_zenodo.convert.dataverse.blocks import BlockSet, Licence
from maggot_zenodo.convert.licenses import license_id
from maggot_zenodo.convert.problems import Problem

_CC = re.compile(r"creativecommons\.org/(licenses|publicdomain)/([a-z-]+)/(\d\.\d)", re.I)


def licence_key(licence: Licence) -> set[str]:
    """The ids a site licence answers to (lower case): from its URI, SPDX id and name."""
    keys = {licence.rights_id.casefold()} if licence.rights_id else set()
    cc = _CC.search(licence.uri)
    if cc:
        kind, code, version = cc.groups()
        keys.add("cc0-1.0" if kind.lower() == "publicdomain" else f"cc-{code.lower()}-{version}")
    spdx = re.search(r"spdx\.org/licenses/([^/\s]+?)(?:\.html)?/?$", licence.uri, re.I)
    if spdx:
        keys.add(spdx.group(1).casefold())
    found, _ = license_id(licence.name)
    if found:
        keys.add(found.casefold())
    return {k for k in keys if k}


def map_licence(
    value: Any, blocks: BlockSet, required: bool
) -> tuple[Licence | None, list[Problem]]:
    names = ", ".join(x.name for x in blocks.licences) or "none"
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        severity = "error" if required else "warning"
        return None, [
            Problem(
                "license",
                "the record has no licence: Dataverse refuses to publish a dataset without one",
                f"choose one of: {names}",
                severity,
            )
        ]
    wanted, _hint = license_id(text)
    candidates = {wanted.casefold()} if wanted else set()
    for licence in blocks.licences:
        if text in (licence.name, licence.uri) or candidates & licence_key(licence):
            return licence, []
    return None, [
        Problem(
            "license", f"“{text}” is not a licence this Dataverse offers", f"choose one of: {names}"
        )
    ]
