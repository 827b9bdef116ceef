"""An independent judge of what the crosswalk produces: the Zenodo emulator's own checks.

``convert`` already runs ``zenodo_rules.validate``, so asking that again proves nothing.
The emulator was written separately from ZENODO-API.md; a record must pass its create/PUT
check and its publish check (with the one file every deposit carries), and none of its keys
may be among those Zenodo drops silently.
"""

from __future__ import annotations

from typing import Any

from maggot_zenodo.emulator.validation import check_body, check_publish


def zenodo_refusals(metadata: dict[str, Any]) -> list[dict[str, Any]]:
    """Every error the emulated Zenodo gives for ``metadata`` at create/PUT and at publish."""
    kept, errors = check_body({"metadata": metadata})
    for key in sorted(set(metadata) - set(kept)):
        errors.append({"field": f"metadata.{key}", "messages": ["dropped silently by Zenodo"]})
    return errors + check_publish(kept, file_count=1)
