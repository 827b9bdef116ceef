"""The demo's storage space: three Maggot datasets, one with data files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _person_list(*names: str) -> list[str]:
    return list(names)


DATASETS: dict[str, dict[str, Any]] = {
    "SoilMicrobiome2024": {
        "record": {
            "title": "SoilMicrobiome2024",
            "fulltitle": "Soil bacterial communities under three tillage regimes, 2024 campaign",
            "subject": ["Agricultural Sciences", "Medicine Health and Life Sciences"],
            "description": "16S rRNA amplicon counts and soil chemistry of 36 plots sampled in "
            "April and September 2024 under conventional, reduced and no tillage.",
            "status": "Processed",
            "access_rights": "Public",
            "language": ["English"],
            "license": "Creative Commons Attribution 4.0 International",
            "datestart": "2024-04-02",
            "dateend": "2024-09-27",
            "contacts": _person_list("Martin Claire"),
            "authors": _person_list("Martin Claire", "Nguyen Thi Lan", "van Delft Pierre"),
            "collectors": _person_list("Nguyen Thi Lan"),
            "depositor": "Martin Claire",
            "kindOfData": ["Dataset"],
            "keywords": ["soil microbiology", "tillage", "16S rRNA"],
            "resources": [
                {
                    "datatype": "Dataset",
                    "media": "text/csv",
                    "description": "OTU counts per plot",
                    "location": "otu_counts.csv",
                },
                {
                    "datatype": "Dataset",
                    "media": "text/csv",
                    "description": "Soil chemistry per plot",
                    "location": "chemistry/soil_chemistry.csv",
                },
                {
                    "datatype": "Report",
                    "media": "text/plain",
                    "description": "How the data were collected",
                    "location": "README.txt",
                },
            ],
        },
        "files": {
            "otu_counts.csv": "plot,otu,count\n"
            + "".join(
                f"P{p:02d},OTU{o:03d},{(p * 37 + o * 11) % 500}\n"
                for p in range(1, 37)
                for o in range(1, 21)
            ),
            "chemistry/soil_chemistry.csv": "plot,pH,N_total,C_org\n"
            + "".join(
                f"P{p:02d},{6 + p % 10 / 10:.1f},{1.2 + p / 100:.2f},{14 + p % 7}\n"
                for p in range(1, 37)
            ),
            "README.txt": "Soil samples (0-15 cm) were taken with an auger, sieved at 2 mm and "
            "frozen at -80 C before DNA extraction.\n",
        },
        "semaphore": True,
    },
    "LeafImaging": {
        "record": {
            "title": "LeafImaging",
            "fulltitle": "Hyperspectral images of tomato leaves under water deficit",
            "subject": ["Agricultural Sciences"],
            "description": "Index of a hyperspectral imaging campaign; the images themselves are "
            "kept on the institute's image server.",
            "status": "In progress",
            "access_rights": "Public",
            "language": ["English"],
            "license": "Etalab V2.0 license",
            "contacts": _person_list("Dupont Marie"),
            "authors": _person_list("Dupont Marie", "Rossi Luca"),
            "kindOfData": ["Image"],
            "keywords": ["phenotyping", "hyperspectral imaging"],
            "resources": [
                {
                    "datatype": "Collection",
                    "media": "text/html",
                    "description": "Image server",
                    "location": "https://images.example.org/leafimaging/",
                }
            ],
        },
        "files": {},
        "semaphore": True,
    },
    "GrapeBerryNMR": {
        "record": {
            "title": "GrapeBerryNMR",
            "fulltitle": "1H-NMR profiles of grape berries during ripening (not yet released)",
            "subject": ["Chemistry"],
            "description": "Polar metabolite profiles; the researchers have not asked for "
            "publication yet, so no semaphore file is dropped here.",
            "contacts": _person_list("Bernard Paul"),
            "authors": _person_list("Bernard Paul"),
            "kindOfData": ["Dataset"],
            "resources": [],
        },
        "files": {},
        "semaphore": False,
    },
}


def write_storage(root: Path) -> list[Path]:
    """The demo's storage space; returns the folders that get a semaphore."""
    to_publish = []
    for name, spec in DATASETS.items():
        folder = root / "2024" / name
        folder.mkdir(parents=True)
        record = {"profile": "https://example.org/maggot/conf/maggot-schema.json", **spec["record"]}
        (folder / f"META_{name}.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False), "utf-8"
        )
        for rel, text in spec["files"].items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, "utf-8")
        if spec["semaphore"]:
            to_publish.append(folder)
    return to_publish


#: The demo's people dictionary (Maggot's cvlist/people/people.txt: last, first, institution,
#: ORCID, e-mail): Dataverse requires each contact's e-mail, which a record names only so.
PEOPLE = (
    ("Martin", "Claire", "INRAE", "", "claire.martin@example.org"),
    ("Nguyen", "Thi Lan", "INRAE", "", "thilan.nguyen@example.org"),
    ("van Delft", "Pierre", "Université de Bordeaux", "", "pierre.vandelft@example.org"),
    ("Dupont", "Marie", "INRAE", "", "marie.dupont@example.org"),
    ("Rossi", "Luca", "CNR", "", "luca.rossi@example.org"),
    ("Bernard", "Paul", "INRAE", "", "paul.bernard@example.org"),
)


def write_cvlist(folder: Path) -> Path:
    """A Maggot ``cvlist`` folder holding the demo's people dictionary; returns ``folder``."""
    (folder / "people").mkdir(parents=True)
    lines = ("\t".join(person) + "\n" for person in PEOPLE)
    (folder / "people" / "people.txt").write_text("".join(lines), "utf-8")
    return folder
