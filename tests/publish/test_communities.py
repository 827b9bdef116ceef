"""Which communities a published record shows (pure), and how the status file says it."""

from __future__ import annotations

import yaml

from maggot_zenodo.publish.communities import INCLUDED, WAITING, inclusion
from maggot_zenodo.state import statusfile
from maggot_zenodo.zenodo.entities import Deposition


def _record(*slugs: object) -> Deposition:
    return Deposition.from_json(
        {"id": 7, "state": "done", "metadata": {"communities": [{"identifier": s} for s in slugs]}}
    )


def test_each_asked_community_included_or_waiting_in_order_once():
    asked = {
        "communities": [
            {"identifier": "b-lab"},
            {"identifier": "a-lab"},
            {"identifier": "b-lab"},
            "junk",
            {"identifier": "  "},
        ]
    }
    assert inclusion(asked, _record("A-Lab", "other")) == [
        {"id": "b-lab", "status": WAITING},
        {"id": "a-lab", "status": INCLUDED},
    ]


def test_no_community_asked_gives_no_list_even_if_the_record_shows_some():
    assert inclusion({}, _record("x")) == []
    assert inclusion({"communities": "x"}, _record()) == []


def test_status_file_lists_communities_after_the_files_and_only_when_given():
    text = statusfile.render(
        "published",
        deposition_id=3,
        files=[{"name": "a.csv", "size": 1, "md5": "0" * 32}],
        communities=[{"id": "b-lab", "status": WAITING}],
        updated="2026-01-01T00:00:00+00:00",
    )
    data = yaml.safe_load(text)
    waiting = "waiting for the community's curators"
    assert data["communities"] == [{"id": "b-lab", "status": waiting}]
    keys = list(data)
    assert keys.index("files") < keys.index("communities") < keys.index("updated")
    assert "communities" not in yaml.safe_load(statusfile.render("published", deposition_id=3))
