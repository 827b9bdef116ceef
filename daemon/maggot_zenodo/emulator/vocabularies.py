"""Controlled vocabularies the emulator checks metadata against (licenses, languages, types).

Zenodo resolves these against its own vocabularies; the emulator ships a useful subset so that
an id Zenodo would reject is rejected here too, without any network access. Licences live in
``licences``.
"""

from __future__ import annotations

from maggot_zenodo.emulator import licences
from maggot_zenodo.emulator._iso639 import ALPHA2_TO_3, ISO_639_1, ISO_639_2_3


def _words(text: str) -> list[str]:
    return text.split()


#: Every licence id Zenodo accepts, in lower case (SPDX ids, its own ids, legacy aliases).
LICENSES: frozenset[str] = (
    licences.SPDX_IDS | licences.ZENODO_IDS | frozenset(licences.LEGACY_ALIASES)
)

LANGUAGES: frozenset[str] = frozenset(_words(ISO_639_1)) | frozenset(_words(ISO_639_2_3))

#: ISO 639-1 → ISO 639-3, as Zenodo stores a two-letter language (``fr`` → ``fra``).
LANGUAGE_3: dict[str, str] = dict(pair.split(":") for pair in ALPHA2_TO_3.split())

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

#: DataCite relation types as Zenodo spells them (matched case-insensitively), by lower case.
RELATION_NAMES: dict[str, str] = {
    r.lower(): r
    for r in _words(
        "isCitedBy cites isSupplementTo isSupplementedBy isContinuedBy continues isDescribedBy "
        "describes hasMetadata isMetadataFor isNewVersionOf isPreviousVersionOf isPartOf hasPart "
        "isReferencedBy references isDocumentedBy documents isCompiledBy compiles isVariantFormOf "
        "isOriginalFormOf isIdenticalTo isAlternateIdentifier isReviewedBy reviews isDerivedFrom "
        "isSourceOf requires isRequiredBy isObsoletedBy obsoletes isPublishedIn isTranslationOf "
        "hasTranslation"
    )
}
RELATIONS = frozenset(RELATION_NAMES)
CONTRIBUTOR_NAMES: dict[str, str] = {t.lower(): t for t in CONTRIBUTOR_TYPES}

DATE_TYPES = frozenset({"Collected", "Valid", "Withdrawn"})

#: Funders whose awards the emulator knows, with the pattern an award id must match.
#: ANR (Agence Nationale de la Recherche): ids such as ``ANR-11-INBS-0012``.
#: European Commission: numeric grant agreement numbers such as ``283595``.
KNOWN_FUNDERS: dict[str, str] = {
    "10.13039/501100001665": r"ANR-\d{2}-[A-Z0-9]{2,8}-\d{4}",
    "10.13039/501100000780": r"\d{4,9}",
}
