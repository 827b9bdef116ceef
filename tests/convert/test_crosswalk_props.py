"""Property tests: any Maggot-like record gives Zenodo-valid metadata or clear errors."""

from __future__ import annotations

import datetime
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testkit import samples
from testkit.crosswalk_oracle import zenodo_refusals

from maggot_zenodo.convert.crosswalk import convert
from maggot_zenodo.convert.maggot import load_site, parse_metadata, validate_record
from maggot_zenodo.convert.problems import DatasetError

SITE = samples.SAMPLES / "maggot-site"
SITES = [load_site(None, None)]
if SITE.is_dir():
    SITES.append(load_site(SITE / "conf", SITE / "cvlist"))
elif samples.in_ci():  # the properties must also hold with the real site's vocabularies
    raise RuntimeError(f"{SITE} is missing in CI: the sample tests must run there")

words = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)


def mostly(good: st.SearchStrategy, odd: st.SearchStrategy) -> st.SearchStrategy:
    """Usually a plausible value, sometimes an odd one."""
    return st.one_of(good, good, good, good, odd)


family = st.sampled_from(["Jacob", "van Delft", "Da Costa", "le Mao", "Éluard", "O'Neil", "Ö"])
given_name = st.sampled_from(["Daniel", "Léa", "Jean Pierre", "Zhanwu", 'A"B'])
names = mostly(
    st.builds(
        lambda f, g, comma: f"{f}{',' if comma else ''} {g}", family, given_name, st.booleans()
    ),
    words | st.sampled_from(["Bordeaux", "van", "", "a,b,c", "Le Minh", "Ben Ali", "van der Berg"]),
)
anything = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | words,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)
resource = st.fixed_dictionaries(
    {},
    optional={
        "datatype": st.sampled_from(["Dataset", "JournalArticle", "Other", "Nope", ""]) | words,
        "location": st.sampled_from(
            [
                "https://doi.org/10.1/x",
                "http://e.org/a b",
                "data.csv",
                "https://doi.org/",
                "ftp://x",
                "https://h.org/a b.pdf",
                "s3://bucket/key",
                "https://?x",
                "",
            ]
        )
        | words,
        "description": words,
    },
)
record = st.fixed_dictionaries(
    {
        "profile": words,
        "title": words,
        "fulltitle": mostly(st.just("A real full title"), words),
        "subject": st.lists(st.sampled_from(["Chemistry", "Other"]), min_size=1, max_size=2),
        "description": words,
        "contacts": st.lists(names, max_size=3),
        "authors": mostly(st.lists(names, min_size=1, max_size=3), st.just([])),
        "kindOfData": st.just(["Dataset"]),
    },
    optional={
        "access_rights": mostly(
            st.sampled_from(["Public", "Private", "Mixte"]), st.sampled_from(["open", "Secret"])
        ),
        "license": mostly(
            st.sampled_from(["CC BY 4.0", "etalab-2.0", "CC-BY", "", "CC0", "GPLv3+", "LGPLv3"]),
            words | st.sampled_from(["GPL", "CC BY-SA", "etalab-1.0", "GPLv4"]),
        ),
        "language": st.lists(
            st.sampled_from(["English", "French", "Klingon", "fr", "fre", "xyz", "Vietnamese"])
            | words,
            max_size=3,
        ),
        "datestart": mostly(st.sampled_from(["2020-01-01", ""]), words | st.just("2020-13-01")),
        "dateend": mostly(st.just("2021-01-01"), words | st.just("1999-01-01")),
        "keywords": st.lists(words, max_size=4),
        "topics": st.lists(words, max_size=3),
        "grantNumbers": st.lists(
            st.sampled_from(
                [
                    "MetaboHub",
                    "ANR-1-X",
                    "123",
                    "?",
                    "283595",
                    "12345_ERC",
                    "10.5281/zenodo.1",
                    "ANR-20-CE20-0001",
                    "10.13039/501100000780::283595",
                ]
            )
            | words,
            max_size=3,
        ),
        "collectors": st.lists(names, max_size=3),
        "members": st.lists(names, max_size=3),
        "publication_idtype": st.sampled_from(["doi", "pmid", "-"]),
        "publication_idnumber": st.sampled_from(["10.1/x.", "10.1/a, hal:1", "x"]) | words,
        "resources": st.lists(resource, max_size=4),
        "note": words,
        "junk": anything,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=record, site_index=st.integers(0, len(SITES) - 1))
def test_valid_metadata_or_clear_errors(rec: dict, site_index: int) -> None:
    result = convert(rec, SITES[site_index], today=datetime.date(2026, 1, 1))
    if result.ok:
        assert zenodo_refusals(result.metadata) == []
        assert not result.errors
        json.dumps(result.metadata, ensure_ascii=False).encode("utf-8")
    else:
        assert result.errors
        assert all(p.field and p.message for p in result.errors)


good_names = st.builds(
    lambda f, g, comma: f"{f}{',' if comma else ''} {g}",
    family | st.sampled_from(["Le", "Do", "Ben", "Di"]),
    given_name,
    st.booleans(),
)
plausible = st.fixed_dictionaries(
    {
        "profile": st.just("p"),
        "title": st.just("t"),
        "fulltitle": st.just("A plausible dataset"),
        "subject": st.just(["Chemistry"]),
        "description": st.just("Numbers."),
        "contacts": st.lists(good_names, min_size=1, max_size=2),
        "authors": st.lists(good_names, min_size=1, max_size=3),
        "kindOfData": st.just(["Dataset"]),
    },
    optional={
        "access_rights": st.sampled_from(["Public", "Private", "Mixte"]),
        "license": st.sampled_from(
            ["CC BY 4.0", "etalab-2.0", "CC0 1.0 Universal", "GPLv3+", "LGPLv3", "MIT License"]
        ),
        # Anything here is at worst a warning: the record must still convert.
        "language": st.lists(
            st.sampled_from(["English", "French", "fr", "fre", "xyz", "Klingon", "Vietnamese"])
            | words,
            max_size=3,
        ),
        "datestart": st.sampled_from(["2020-01-01", ""]),
        "keywords": st.lists(words, max_size=4),
        "topics": st.lists(words, max_size=3),
        "grantNumbers": st.lists(
            st.sampled_from(
                ["MetaboHub", "ANR-1-X", "123", "283595", "12345_ERC", "10.5281/zenodo.1"]
            )
            | words,
            max_size=3,
        ),
        "publication_idtype": st.sampled_from(["doi", "pmid", "-"]),
        "publication_idnumber": st.sampled_from(["10.1/x.", "10.1/a, hal:1", "x"]) | words,
        "resources": st.lists(resource, max_size=4),
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rec=plausible, site_index=st.integers(0, len(SITES) - 1))
def test_plausible_records_convert_and_pass_the_emulator(rec: dict, site_index: int) -> None:
    result = convert(rec, SITES[site_index], today=datetime.date(2026, 1, 1))
    assert result.ok, result.errors
    assert zenodo_refusals(result.metadata) == []


@settings(max_examples=100, deadline=None)
@given(
    rec=st.dictionaries(
        st.sampled_from(
            [
                "authors",
                "contacts",
                "resources",
                "license",
                "fulltitle",
                "access_rights",
                "language",
                "grantNumbers",
                "topics",
                "keywords",
                "datestart",
            ]
        ),
        anything,
        max_size=8,
    )
)
def test_wrong_types_never_raise(rec: dict) -> None:
    for site in SITES:
        result = convert(rec, site, today=datetime.date(2026, 1, 1))
        assert result.ok or result.errors
        if result.ok:
            assert zenodo_refusals(result.metadata) == []
        # These records never hold the schema's required "profile" and "title": both are named.
        problems = validate_record(rec, site.schema)
        assert {"profile", "title"} <= {p.field for p in problems}
        assert all(p.message for p in problems)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=200) | anything.map(lambda v: json.dumps(v).encode()))
def test_reading_any_bytes_is_a_record_or_a_dataset_error(data: bytes) -> None:
    try:
        record = parse_metadata(data)
    except DatasetError as exc:
        assert exc.problems and exc.problems[0].message
    else:
        assert isinstance(record, dict)
