"""Maggot → Dataverse citation metadata (pure): definition file, blocks, values, checks."""

from maggot_zenodo.convert.dataverse.blocks import BlockSet, load_cached, stock
from maggot_zenodo.convert.dataverse.crosswalk import DataverseConversion, to_dataverse
from maggot_zenodo.convert.dataverse.definition import load_definition

__all__ = [
    "BlockSet",
    "DataverseConversion",
    "load_cached",
    "load_definition",
    "stock",
    "to_dataverse",
]
