"""The Dataverse emulator answers as DATAVERSE-API.md says (raw HTTP over loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import requests
from testkit import OTHER_TOKEN, TOKEN
from testkit.dataverse import field, minimal_version

H = {"X-Dataverse-key": TOKEN}


def _create(dv, version=None, **kw):
    body = {"datasetVersion": version or minimal_version(**kw)}
    return requests.post(f"{dv.api_url}/dataverses/maggot/datasets", json=body, headers=H)


def test_create_answers_201_with_id_and_pid_and_drops_unknown_fields(dv):
    version = minimal_version()
    version["metadataBlocks"]["citation"]["fields"].append(field("keywordTermURL", "x"))
    r = _create(dv, version)
    assert r.status_code == 201
    data = r.json()["data"]
    assert r.headers["Location"].endswith(f"/api/datasets/{data['id']}")
    assert data["persistentId"].startswith("doi:10.5072/FK2/")
    fields = dv.state()["datasets"][0]["versions"][0]["fields"]
    assert "keywordTermURL" not in fields and "title" in fields


def test_structural_errors_are_400_with_dataverse_texts(dv):
    v = minimal_version()
    v["metadataBlocks"]["citation"]["fields"].append(
        field("kindOfData", ["Dataset"], "controlledVocabulary", True)
    )
    r = _create(dv, v)
    assert r.status_code == 400
    assert r.json()["message"] == (
        "Error parsing Json: incorrect  typeClass for field: kindOfData, should be primitive"
    )
    v = minimal_version()
    v["metadataBlocks"]["citation"]["fields"][4]["value"] = ["Medicine Health and Life Sciences"]
    r = _create(dv, v)
    assert r.status_code == 400
    assert "Value 'Medicine Health and Life Sciences' does not exist in type 'subject'" in r.text
    v = minimal_version()
    v["license"] = "etalab-2.0"
    assert "Invalid or unsupported license: etalab-2.0" in _create(dv, v).text
    r = requests.post(
        f"{dv.api_url}/dataverses/maggot/datasets",
        json={"metadataLanguage": "en", "datasetVersion": minimal_version()},
        headers=H,
    )
    assert r.status_code == 400 and "metadatalanguage not allowed" in r.text
    assert dv.state()["datasets"] == []


def test_missing_contact_email_is_403_validation_failed(dv):
    v = minimal_version()
    del v["metadataBlocks"]["citation"]["fields"][2]["value"][0]["datasetContactEmail"]
    r = _create(dv, v)
    assert r.status_code == 403
    assert r.json()["message"].startswith("Validation Failed: Point of Contact E-mail is required.")


def test_tokens_permissions_and_lookups(dv):
    r = requests.get(f"{dv.api_url}/users/:me", headers={"X-Dataverse-key": "wrong"})
    assert (r.status_code, r.json()["message"]) == (401, "Bad API key")
    assert requests.get(f"{dv.api_url}/info/version").json()["data"]["version"]
    ds_id = _create(dv).json()["data"]["id"]
    other = {"X-Dataverse-key": OTHER_TOKEN}
    r = requests.get(f"{dv.api_url}/datasets/{ds_id}", headers=other)
    assert r.status_code == 401 and "is not permitted" in r.json()["message"]
    r = requests.get(f"{dv.api_url}/datasets/9999", headers=H)
    assert (r.status_code, r.json()["message"]) == (404, "Dataset with ID 9999 not found.")
    r = requests.get(f"{dv.api_url}/dataverses/nope", headers=H)
    assert r.json()["message"] == "Can't find dataverse with identifier='nope'"
    assert requests.get(f"{dv.api_url}/nothing/here").json()["code"] == 404


def _add(dv, ds_id, name, data, meta=None):
    files = {"file": (name, data), "jsonData": (None, json.dumps(meta or {}))}
    return requests.post(f"{dv.api_url}/datasets/{ds_id}/add", headers=H, files=files)


def test_add_ingests_csv_unless_told_and_renames_duplicates(dv):
    ds_id = _create(dv).json()["data"]["id"]
    r = _add(dv, ds_id, "t.csv", b"a,b\n1,2\n")
    assert r.status_code == 200 and r.json()["data"]["files"][0]["label"] == "t.tab"
    r = _add(dv, ds_id, "t.csv", b"a,b\n1,2\n", {"tabIngest": "false", "directoryLabel": "d/e"})
    item = r.json()["data"]["files"][0]
    assert (item["label"], item["directoryLabel"]) == ("t.csv", "d/e")
    assert r.json()["message"].startswith("This file has the same content as")
    r = _add(dv, ds_id, "t.csv", b"other", {"tabIngest": False, "directoryLabel": "d/e"})
    assert r.json()["data"]["files"][0]["label"] == "t-1.csv"
    locks = requests.get(f"{dv.api_url}/datasets/{ds_id}/locks", headers=H).json()["data"]
    assert [lk["lockType"] for lk in locks] == ["Ingest"]


def test_publish_is_asynchronous_and_follows_version_rules(tmp_path):
    from dataclasses import replace

    from testkit.dataverse import FAST, start

    with start(tmp_path, timing=replace(FAST, finalize=2.0)) as dv:
        ds_id = _create(dv).json()["data"]["id"]
        url = f"{dv.api_url}/datasets/{ds_id}/actions/:publish"
        r = requests.post(url, params={"type": "minor"}, headers=H)
        assert (r.status_code, r.json()["message"]) == (
            403,
            "Cannot publish as minor version. Re-try as major release.",
        )
        r = requests.post(url, params={"type": "major"}, headers=H)
        assert r.status_code == 200 and "finalizePublication" in r.json()["data"]["locks"]
        draft_url = f"{dv.api_url}/datasets/{ds_id}/versions/:draft"
        r = requests.put(draft_url, json=minimal_version(), headers=H)
        assert (r.status_code, r.json()["message"]) == (
            403,
            "Dataset cannot be edited due to dataset lock.",
        )
        deadline = time.monotonic() + 20
        while dv.state()["datasets"][0]["locks"]:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert dv.state()["datasets"][0]["versions"][-1]["number"] == "1.0"
        no_licence = {k: v for k, v in minimal_version().items() if k != "license"}
        r = requests.put(draft_url, json=no_licence, headers=H)
        assert r.status_code == 200  # a new draft, without a licence (PUT replaces everything)
        r = requests.post(url, params={"type": "major"}, headers=H)
        assert r.status_code == 409 and "valid license" in r.json()["message"]


def test_search_lags_and_hides_drafts_from_others(dv):
    dv.set_faults(rate=1, kinds=["lagging_index"], count=1)
    _create(dv, marker="site:frim1")
    params = {"q": 'otherIdValue:"site:frim1"', "type": "dataset"}
    r = requests.get(f"{dv.api_url}/search", params=params, headers=H)
    assert r.json()["data"]["total_count"] == 0
    time.sleep(0.8)
    assert (
        requests.get(f"{dv.api_url}/search", params=params, headers=H).json()["data"]["total_count"]
        == 1
    )
    other = {"X-Dataverse-key": OTHER_TOKEN}
    assert (
        requests.get(f"{dv.api_url}/search", params=params, headers=other).json()["data"][
            "total_count"
        ]
        == 0
    )


def test_faults_state_and_reset_control_endpoints(dv):
    r = requests.put(
        f"{dv.base_url}/_emulator/faults", json={"rate": 1, "kinds": ["502"], "count": 1}
    )
    assert r.status_code == 200
    assert requests.get(f"{dv.api_url}/info/version").status_code == 502
    assert requests.get(f"{dv.api_url}/info/version").status_code == 200
    bad = requests.put(f"{dv.base_url}/_emulator/faults", json={"kinds": ["nope"]})
    assert bad.status_code == 400 and "unknown fault kinds" in bad.text
    _create(dv)
    state = requests.get(f"{dv.base_url}/_emulator/state").json()
    assert state["faults"]["injected"] == {"502": 1} and len(state["datasets"]) == 1
    assert requests.post(f"{dv.base_url}/_emulator/reset").status_code == 204
    assert dv.state()["datasets"] == [] and dv.state()["requests"]["total"] == 0


def test_schema_dir_replaces_the_stock_description(tmp_path):
    from testkit.dataverse import start

    saved = tmp_path / "saved"
    saved.mkdir()
    (saved / "version.json").write_text('{"status":"OK","data":{"version":"6.2","build":"x"}}')
    (saved / "licenses.json").write_text(
        json.dumps(
            {
                "status": "OK",
                "data": [
                    {
                        "name": "etalab 2.0",
                        "uri": "https://spdx.org/licenses/etalab-2.0",
                        "active": True,
                    }
                ],
            }
        )
    )
    with start(tmp_path, schema_dir=saved) as handle:
        assert requests.get(f"{handle.api_url}/info/version").json()["data"]["version"] == "6.2"
        names = [lic["name"] for lic in requests.get(f"{handle.api_url}/licenses").json()["data"]]
        assert names == ["etalab 2.0"]
        r = _create(handle)
        assert r.status_code == 400 and "Invalid license" in r.text


def test_command_line_prints_the_base_url_first(tmp_path: Path):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "maggot_zenodo",
            "emulator",
            "--api",
            "dataverse",
            "--quiet",
            "--collection",
            "inrae",
            "--token",
            TOKEN,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = proc.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:")
        r = requests.get(f"{base}/api/dataverses/inrae", headers=H, timeout=10)
        assert r.json()["data"]["alias"] == "inrae"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0


def test_rate_limit_answers_429_without_headers(tmp_path):
    from testkit.dataverse import start

    with start(tmp_path, rate_limit="3/min") as dv:
        codes = [requests.get(f"{dv.api_url}/users/:me", headers=H) for _ in range(4)]
        assert [r.status_code for r in codes] == [200, 200, 200, 429]
        assert "Rate limited" in codes[-1].json()["message"]
        assert not [h for h in codes[-1].headers if h.lower().startswith(("retry", "x-ratelimit"))]
