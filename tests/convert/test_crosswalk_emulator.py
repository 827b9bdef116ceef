"""What the crosswalk produces for the real samples is accepted by the Zenodo emulator.

Create, upload the metadata file and publish over loopback HTTP: the emulator checks the
structure at create and the required fields, creators and grants at publish.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import requests

from maggot_zenodo.convert.crosswalk import convert
from maggot_zenodo.convert.maggot import load_site, read_dataset


def test_samples_publish_on_the_emulator(samples_dir: Path, emulator, emulator_token) -> None:
    site = load_site(samples_dir / "maggot-site/conf", samples_dir / "maggot-site/cvlist")
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {emulator_token}"
    api = emulator.api_url
    folders = sorted(p.parent for p in (samples_dir / "storage").rglob("META_*.json"))
    for folder in folders:
        ds = read_dataset(folder, site=site)
        md = convert(ds.record, site, today=datetime.date(2026, 1, 2)).metadata
        created = session.post(f"{api}/deposit/depositions", json={"metadata": md}, timeout=30)
        assert created.status_code == 201, (folder.name, created.text)
        dep = session.get(f"{api}/deposit/depositions/{created.json()['id']}", timeout=30).json()
        up = session.put(
            f"{dep['links']['bucket']}/{ds.metadata_file.name}",
            data=ds.metadata_file.read_bytes(),
            timeout=30,
        )
        assert up.status_code == 201, up.text
        pub = session.post(f"{api}/deposit/depositions/{dep['id']}/actions/publish", timeout=30)
        assert pub.status_code == 202, (folder.name, pub.text)
        assert pub.json()["metadata"]["title"] == md["title"]
    assert len(emulator.state()["depositions"]) == len(folders) == 10
