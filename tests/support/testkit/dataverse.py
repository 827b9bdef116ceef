"""Helpers for the Dataverse tests: a fast emulator, a client, minimal valid bodies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from maggot_zenodo.dataverse.client import DataverseClient
from maggot_zenodo.emulator.dataverse.api import Timing
from maggot_zenodo.emulator.dataverse.runner import DataverseHandle, start_dataverse
from testkit.tokens import OTHER_TOKEN, TOKEN

FAST = Timing(
    index_lag=0.05,
    lagging_index=0.6,
    finalize=0.02,
    async_publish=0.4,
    ingest=0.1,
    lingering_lock=0.6,
)


def start(tmp_path: Any, **kw: Any) -> DataverseHandle:
    kw.setdefault("tokens", (TOKEN, OTHER_TOKEN))
    kw.setdefault("timing", FAST)
    return start_dataverse(tmp_path / "dataverse-emulator", **kw)


def client(handle: DataverseHandle, token: str = TOKEN, **kw: Any) -> DataverseClient:
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("backoff_max", 0.1)
    kw.setdefault("rate_limit_base", 0.02)
    kw.setdefault("lock_timeout", 10.0)
    kw.setdefault("lock_poll_max", 0.1)
    kw.setdefault("read_timeout", 20.0)
    return DataverseClient(handle.base_url, token, **kw)


def field(name: str, value: Any, type_class: str = "primitive", multiple: bool = False) -> dict:
    return {"typeName": name, "multiple": multiple, "typeClass": type_class, "value": value}


def minimal_version(title: str = "Finches", marker: str | None = None) -> dict[str, Any]:
    """The smallest version body the stock citation block accepts."""
    fields = [
        field("title", title),
        field("author", [{"authorName": field("authorName", "Finch, Fiona")}], "compound", True),
        field(
            "datasetContact",
            [
                {
                    "datasetContactName": field("datasetContactName", "Finch, Fiona"),
                    "datasetContactEmail": field("datasetContactEmail", "finch@example.org"),
                }
            ],
            "compound",
            True,
        ),
        field(
            "dsDescription",
            [{"dsDescriptionValue": field("dsDescriptionValue", "Birds.")}],
            "compound",
            True,
        ),
        field("subject", ["Medicine, Health and Life Sciences"], "controlledVocabulary", True),
    ]
    if marker:
        fields.append(
            field(
                "otherId",
                [
                    {
                        "otherIdAgency": field("otherIdAgency", "maggot-zenodo"),
                        "otherIdValue": field("otherIdValue", marker),
                    }
                ],
                "compound",
                True,
            )
        )
    return {
        "license": {"name": "CC0 1.0", "uri": "http://creativecommons.org/publicdomain/zero/1.0"},
        "metadataBlocks": {"citation": {"fields": fields}},
    }


# ----- a site for end-to-end runs: the ten samples, a people dictionary with e-mails --------
CONTACTS = [
    ("Dussarrat", "Thomas"), ("Prigent", "Sylvain"), ("Deborde", "Catherine"),
    ("Gibon", "Yves"), ("Urrutia", "Maria"), ("Canlet", "Cécile"), ("Eveillard", "Sandrine"),
    ("Moing", "Annick"),
]  # fmt: skip


def cvlist_with_emails(tmp_path: Path, samples: Path) -> Path:
    """The samples' dictionaries, the contacts given e-mails (Dataverse refuses a contact
    without one)."""
    cvlist = tmp_path / "cvlist"
    shutil.copytree(samples / "maggot-site" / "cvlist", cvlist)
    with open(cvlist / "people" / "people.txt", "a", encoding="utf-8") as out:
        for last, first in CONTACTS:
            out.write(f"{last}\t{first}\tINRAE\t\t{first.lower()}.{last.lower()}@example.org\n")
    return cvlist


def make_site(tmp_path: Path, samples: Path, handle: DataverseHandle, **dataverse: Any) -> Any:
    """Storage (a copy of the samples), cvlist with the contacts' e-mails, and a Config."""
    from maggot_zenodo.config import parse_config

    storage = tmp_path / "storage"
    shutil.copytree(samples / "storage", storage)
    cvlist = cvlist_with_emails(tmp_path, samples)
    token_file = tmp_path / "dv-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    section = {
        "url": handle.base_url,
        "token": {"file": str(token_file)},
        "collection": "maggot",
        **dataverse,
    }
    data = {
        "storage": {"root": str(storage)},
        "dataverse": section,
        "maggot": {"conf_dir": str(samples / "maggot-site" / "conf"), "cvlist_dir": str(cvlist)},
        "state": str(tmp_path / "state" / "state.db"),
    }
    (tmp_path / "state").mkdir(exist_ok=True)
    (tmp_path / "config.yaml").write_text(json.dumps(data))  # JSON is YAML: for subprocesses
    return parse_config(data, base_dir=tmp_path)


def folders(config: Any) -> list[Path]:
    """Every dataset folder of the copied samples."""
    return sorted(p.parent for p in Path(config.storage.root).rglob("META_*.json"))


def factory(handle: DataverseHandle) -> Any:
    return lambda url, token: client(handle, token)
