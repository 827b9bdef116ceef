"""Grants: a Maggot grant (a dictionary entry or an award number) → Zenodo's
``<funder DOI>::<award>`` id, for the funders Zenodo's grants can name here (ANR, European
Commission). Pure: nothing is made up, and what cannot be named becomes a warning.
"""

from __future__ import annotations

import re

from maggot_zenodo.convert.problems import Problem, warning
from maggot_zenodo.convert.zenodo_rules import GRANT

FUNDER_DOIS = {"ANR": "10.13039/501100001665", "EU": "10.13039/501100000780"}
EU_NAMES = frozenset(
    {
        "eu",
        "ec",
        "european commission",
        "european union",
        "erc",
        "h2020",
        "horizon 2020",
        "horizon europe",
        "fp7",
    }
)
# ANR ids as the agency writes them (ANR-11-INBS-0012, ANR-20-CE20-0001, ANR-10-LABX-0001-01);
# EU grant agreement numbers (FP7 283595, Horizon Europe 101017536): digits only.
_ANR_AWARD = re.compile(r"^ANR-\d{2}-[A-Z0-9]{2,8}-\d{4}(?:-\d{2})?$")
_EU_AWARD = re.compile(r"^\d{6,9}$")


def grant_id(award: str, agency: str = "") -> str | None:
    """``<funder DOI>::<award>`` for an ANR or European Commission award, else None.

    Maggot takes the leading digits of any award as an EU grant ("12345_ERC" → "12345_");
    here an EU award must be the whole grant agreement number, so nothing is made up.
    """
    award = award.strip()
    if GRANT.match(award):
        return award
    a = agency.casefold()
    if _ANR_AWARD.match(award) and a in ("", "anr"):
        return f"{FUNDER_DOIS['ANR']}::{award}"
    if _EU_AWARD.match(award) and (a == "" or a in EU_NAMES):
        return f"{FUNDER_DOIS['EU']}::{award}"
    return None


def unnamed_grant(
    where: str, item: str, award: str, agency: str, *, has_dictionary: bool, in_dictionary: bool
) -> Problem:
    """The warning for a grant left out, saying why and how to name it."""
    if not has_dictionary:
        return warning(
            where,
            f'"{item}" cannot be looked up: no grant dictionary is configured; left out',
            "set maggot.cvlist_dir to Maggot's cvlist folder",
        )
    if not in_dictionary:
        return warning(
            where,
            f'"{item}" is not in the site\'s grant dictionary; left out',
            "add it to cvlist/grant/grant.txt with its agency and award number",
        )
    if agency.casefold() == "anr" or agency.casefold() in EU_NAMES:
        return warning(
            where,
            f'the award "{award}" of "{item}" is not an {agency} award id Zenodo can name; '
            "left out",
            "write it as ANR-11-INBS-0012 (ANR) or as the grant agreement number "
            "(European Commission) in cvlist/grant/grant.txt",
        )
    return warning(
        where,
        f'the funder of "{item}" ({agency or "no agency"}) is not one Zenodo\'s grants can '
        "name here (ANR, European Commission); left out",
    )
