"""Which of a dataset's communities its published record shows.

At publish Zenodo opens one inclusion request per community and swallows its failures; a
request still waiting for the community's curators does not show in the record's
``metadata.communities``. Comparing what was asked with what the record shows tells the
researcher, per community, whether the record is in it yet (pure: no I/O).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from maggot_zenodo.zenodo.entities import Deposition

INCLUDED = "included"
WAITING = "waiting for the community's curators"


def _slugs(communities: Any) -> list[str]:
    if not isinstance(communities, list):
        return []
    out = [str(c.get("identifier") or "").strip() for c in communities if isinstance(c, dict)]
    return list(dict.fromkeys(s for s in out if s))


def inclusion(metadata: Mapping[str, Any], record: Deposition) -> list[dict[str, str]]:
    """Each community the dataset asked for, ``included`` or waiting for its curators."""
    shown = {s.lower() for s in _slugs(record.metadata.get("communities"))}
    return [
        {"id": slug, "status": INCLUDED if slug.lower() in shown else WAITING}
        for slug in _slugs(metadata.get("communities"))
    ]
