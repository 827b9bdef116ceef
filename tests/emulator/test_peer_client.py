"""An independent client from PyPI, ``zenodo-client``, against the emulator over loopback.

It works on Zenodo, so it must work here: create with a file and publish, a new version with a
changed file (it reads the new draft's id from ``links.latest_draft``, PUTs back the draft's
whole metadata and re-uploads a key the draft already holds), and a download through the
record format of ``GET /api/records/<id>`` (``files[].key`` and ``links.self``). The client
only knows zenodo.org: its three base URLs are pointed at the emulator; nothing else is
changed. It sends the token as ``?access_token=``, which the emulator accepts as Zenodo does.
"""

from __future__ import annotations

import hashlib

import zenodo_client  # in the test extras: a missing install fails, it does not skip


def _pointed_at(base_url: str, token: str):
    client = zenodo_client.Zenodo(access_token=token)
    client.base = base_url
    client.api_base = f"{base_url}/api"
    client.depositions_base = f"{client.api_base}/deposit/depositions"
    return client


def test_zenodo_client_create_publish_new_version_download(
    emulator, emulator_token, tmp_path, monkeypatch
):
    monkeypatch.setenv("PYSTOW_HOME", str(tmp_path / "pystow"))
    client = _pointed_at(emulator.base_url, emulator_token)
    data = tmp_path / "data.csv"
    data.write_bytes(b"a,b\n1,2\n")
    metadata = zenodo_client.Metadata(
        title="Soil moisture in the Loire valley",
        upload_type="dataset",
        description="Measurements.",
        creators=[zenodo_client.Creator(name="van Delft, Pierre", affiliation="INRAE")],
    )

    first = client.create(metadata, [data])
    assert first.status_code == 202, first.text
    record = first.json()
    assert record["state"] == "done" and record["doi"] == f"10.5281/zenodo.{record['id']}"
    assert record["metadata"]["license"] == "cc-zero"  # sent CC0-1.0, read back legacy

    data.write_bytes(b"a,b\n1,2\n3,4\n")
    second = client.update(str(record["id"]), [data])
    assert second.status_code == 202, second.text
    new = second.json()
    assert new["id"] != record["id"] and new["conceptrecid"] == record["conceptrecid"]
    assert [(f["filename"], f["checksum"]) for f in new["files"]] == [
        ("data.csv", hashlib.md5(data.read_bytes(), usedforsecurity=False).hexdigest())
    ]

    path = client.download(new["id"], "data.csv")
    assert path.read_bytes() == b"a,b\n1,2\n3,4\n"
    old_path = client.download(record["id"], "data.csv")
    assert old_path.read_bytes() == b"a,b\n1,2\n"

    state = emulator.state()
    assert sorted(d["id"] for d in state["depositions"]) == [record["id"], new["id"]]
    assert all(d["state"] == "done" for d in state["depositions"])
    assert state["requests"]["by_status"].keys() <= {"200", "201", "202", "302"}
