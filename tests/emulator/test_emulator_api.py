"""The emulator's deposit API against ZENODO-API.md: endpoints, statuses, shapes, states."""

from __future__ import annotations

import pytest
import requests
from testkit.emulator_http import DEP, Client, md5hex, valid_metadata

DEPOSITION_KEYS = {
    "created",
    "modified",
    "id",
    "record_id",
    "conceptrecid",
    "metadata",
    "title",
    "owner",
    "state",
    "submitted",
    "files",
    "links",
}
DRAFT_LINKS = {
    "self",
    "html",
    "badge",
    "files",
    "bucket",
    "latest_draft",
    "latest_draft_html",
    "publish",
    "edit",
    "discard",
    "newversion",
    "registerconceptdoi",
}
# ZENODO-API.md: a published record drops registerconceptdoi and adds these
PUBLISHED_EXTRA_LINKS = {
    "doi",
    "parent_doi",
    "conceptbadge",
    "record",
    "record_html",
    "latest",
    "latest_html",
}
BUCKET_OBJECT_KEYS = {
    "key",
    "size",
    "mimetype",
    "checksum",
    "version_id",
    "created",
    "updated",
    "is_head",
    "delete_marker",
    "links",
}


@pytest.fixture
def client(emulator) -> Client:
    return Client(emulator.base_url)


def test_create_returns_a_draft_with_exact_keys_and_links(client, emulator):
    r = client.post(DEP, json={})
    assert r.status_code == 201
    dep = r.json()
    assert set(dep) == DEPOSITION_KEYS
    assert set(dep["links"]) == DRAFT_LINKS
    assert dep["state"] == "unsubmitted" and dep["submitted"] is False
    assert dep["record_id"] == dep["id"]
    assert isinstance(dep["conceptrecid"], str) and int(dep["conceptrecid"]) != dep["id"]
    assert dep["metadata"]["prereserve_doi"] == {
        "doi": f"10.5281/zenodo.{dep['id']}",
        "recid": dep["id"],
    }
    assert dep["links"]["self"] == f"{emulator.base_url}{DEP}/{dep['id']}"
    assert dep["links"]["html"] == f"{emulator.base_url}/deposit/{dep['id']}"
    assert dep["links"]["latest_draft"] == dep["links"]["self"]
    assert dep["links"]["bucket"].startswith(f"{emulator.base_url}/api/files/")
    assert dep["links"]["badge"] == f"{emulator.base_url}/badge/doi/.svg"  # no DOI yet
    assert r.headers["Content-Type"] == "application/json"


def test_create_with_metadata_and_get(client):
    dep = client.create(valid_metadata())
    r = client.get(f"{DEP}/{dep['id']}")
    assert r.status_code == 200
    got = r.json()
    assert got["title"] == "Soil moisture in the Loire valley"
    assert got["metadata"]["creators"] == [{"name": "van Delft, Pierre", "affiliation": "INRAE"}]


def test_put_replaces_all_metadata_and_drops_unknown_keys(client):
    dep = client.create(valid_metadata(keywords=["soil"]))
    r = client.put(
        f"{DEP}/{dep['id']}", json={"metadata": {"title": "Other title", "no_such_key": 1}}
    )
    assert r.status_code == 200
    md = r.json()["metadata"]
    assert md["title"] == "Other title"
    assert "keywords" not in md and "creators" not in md and "no_such_key" not in md
    assert r.json()["title"] == "Other title"


def test_access_right_closed_reads_back_restricted(client):
    dep = client.create(valid_metadata(access_right="closed"))
    assert dep["metadata"]["access_right"] == "restricted"


def test_delete_draft_then_gone(client):
    dep = client.create()
    r = client.delete(f"{DEP}/{dep['id']}")
    assert r.status_code == 204 and r.content == b""
    # ZENODO-API.md (was 410): a deleted draft answers 404, as if it never existed
    for method in ("GET", "PUT", "DELETE"):
        r = client.request(method, f"{DEP}/{dep['id']}", json={"metadata": {}})
        assert r.status_code == 404
        assert r.json() == {"status": 404, "message": "The persistent identifier does not exist."}
    assert client.get(dep["links"]["bucket"]).json() == {"status": 404, "message": "Not found."}


def test_unknown_id_is_404_with_zenodo_message(client):
    for path in (f"{DEP}/999999999", f"{DEP}/abc"):
        r = client.get(path)
        assert r.status_code == 404
        assert r.json() == {"status": 404, "message": "The persistent identifier does not exist."}


def test_someone_elses_deposition_is_403(client, emulator):
    dep = client.create()
    other = Client(emulator.base_url, token="somebody-else")
    for method, path in (
        ("GET", f"{DEP}/{dep['id']}"),
        ("PUT", f"{DEP}/{dep['id']}"),
        ("POST", f"{DEP}/{dep['id']}/actions/publish"),
        ("GET", dep["links"]["bucket"]),
        ("PUT", dep["links"]["bucket"] + "/x.txt"),
    ):
        r = other.request(method, path, data=b"{}")
        assert r.status_code == 403, (method, path)
        assert r.json() == {"status": 403, "message": "Permission denied."}
    assert other.get(DEP).json() == []


def test_missing_or_empty_token_is_403(emulator):
    anon = Client(emulator.base_url, token=None)
    for r in (anon.get(DEP), anon.post(DEP, json={})):
        assert r.status_code == 403
        assert r.json() == {"status": 403, "message": "Permission denied."}


def test_bad_json_is_400(client):
    r = client.post(DEP, data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"status": 400, "message": "Unable to decode JSON data in request body."}
    dep = client.create()
    r = client.put(f"{DEP}/{dep['id']}", data=b"[1,", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["message"] == "Unable to decode JSON data in request body."


def test_bucket_upload_checksums_and_listing(client):
    dep = client.create()
    data = b"x" * 1000 + b"\n"
    md5 = md5hex(data)
    r = client.upload(dep, "data.csv", data)
    assert r.status_code == 201
    obj = r.json()
    assert set(obj) == BUCKET_OBJECT_KEYS
    assert obj["checksum"] == f"md5:{md5}" and obj["size"] == len(data)
    assert obj["is_head"] is True and obj["delete_marker"] is False
    assert obj["mimetype"] == "text/csv"
    assert set(obj["links"]) == {"self", "version", "uploads"}
    files = client.get(f"{DEP}/{dep['id']}/files").json()
    assert [(f["filename"], f["filesize"], f["checksum"]) for f in files] == [
        ("data.csv", len(data), md5)
    ]
    assert set(files[0]) == {"id", "filename", "filesize", "checksum", "links"}
    assert set(files[0]["links"]) == {"self", "download"}
    bucket = client.get(dep["links"]["bucket"]).json()
    assert [c["checksum"] for c in bucket["contents"]] == [f"md5:{md5}"]
    content = client.get(dep["links"]["bucket"] + "/data.csv")
    assert content.status_code == 200 and content.content == data
    assert client.get(files[0]["links"]["download"]).content == data


def test_upload_without_content_type_and_chunked_body(client):
    dep = client.create()
    r = client.put(dep["links"]["bucket"] + "/raw.bin", data=b"abc")
    assert r.status_code == 201 and r.json()["checksum"] == "md5:" + md5hex(b"abc")
    parts = [b"first-", b"second-", b"third"]
    r = client.put(dep["links"]["bucket"] + "/chunked.bin", data=iter(parts))
    assert r.status_code == 201
    assert r.json()["size"] == len(b"".join(parts))
    assert r.json()["checksum"] == "md5:" + md5hex(b"".join(parts))


def test_existing_key_is_silently_replaced(client):
    dep = client.create()
    assert client.upload(dep, "a.txt", b"one").status_code == 201
    r = client.upload(dep, "a.txt", b"two two")
    assert r.status_code == 201
    files = client.get(f"{DEP}/{dep['id']}/files").json()
    assert len(files) == 1 and files[0]["filesize"] == 7
    assert client.get(dep["links"]["bucket"] + "/a.txt").content == b"two two"


def test_wrong_content_type_on_bucket_put_is_415(client):
    dep = client.create()
    r = client.put(
        dep["links"]["bucket"] + "/a.txt", data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    assert client.get(f"{DEP}/{dep['id']}/files").json() == []


def test_wrong_content_type_on_json_endpoints_is_415(client):
    body = b'{"metadata": {"title": "Plain text is not JSON"}}'
    r = client.post(DEP, data=body, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert "application/json" in r.json()["message"]
    dep = client.create()
    r = client.put(f"{DEP}/{dep['id']}", data=body, headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert (
        client.get(f"{DEP}/{dep['id']}").json()["metadata"].get("title") != "Plain text is not JSON"
    )
    # ZENODO-API.md (was accepted): the raw header is compared, a charset makes it a 415
    charset = {"Content-Type": "application/json; charset=utf-8"}
    assert client.put(f"{DEP}/{dep['id']}", data=body, headers=charset).status_code == 415
    # and a JSON body without any Content-Type is parsed as JSON
    r = client.put(f"{DEP}/{dep['id']}", data=body)
    assert "Content-Type" not in r.request.headers
    assert r.status_code == 200 and r.json()["title"] == "Plain text is not JSON"


def test_malformed_content_length_is_400_not_a_dropped_connection(emulator):
    import socket
    from urllib.parse import urlsplit

    url = urlsplit(emulator.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/deposit/depositions HTTP/1.1\r\nHost: x\r\n"
            b"Authorization: Bearer t-abc\r\nContent-Length: abc\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"Invalid Content-Length" in answer


def test_delete_bucket_key_and_deposition_file(client):
    dep = client.create()
    client.upload(dep, "a.txt", b"a")
    client.upload(dep, "b.txt", b"b")
    r = client.delete(dep["links"]["bucket"] + "/a.txt")
    assert r.status_code == 204 and r.content == b""
    files = client.get(f"{DEP}/{dep['id']}/files").json()
    assert [f["filename"] for f in files] == ["b.txt"]
    r = client.delete(f"{DEP}/{dep['id']}/files/{files[0]['id']}")
    assert r.status_code == 204
    assert client.get(f"{DEP}/{dep['id']}/files").json() == []
    assert client.delete(f"{DEP}/{dep['id']}/files/{files[0]['id']}").status_code == 404
    assert client.get(dep["links"]["bucket"] + "/a.txt").status_code == 404


def test_old_multipart_upload(client):
    dep = client.create()
    r = client.post(
        f"{DEP}/{dep['id']}/files",
        data={"name": "table.tsv"},
        files={"file": ("ignored.tsv", b"col\tval\n" * 500)},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["filename"] == "table.tsv"
    assert body["filesize"] == 4000
    assert body["checksum"] == md5hex(b"col\tval\n" * 500)
    assert client.get(dep["links"]["bucket"] + "/table.tsv").content == b"col\tval\n" * 500
    # without a name field the part's filename is used
    r = client.post(f"{DEP}/{dep['id']}/files", files={"file": ("other.txt", b"\r\n--x\r\n")})
    assert r.status_code == 201 and r.json()["filename"] == "other.txt"
    assert client.get(dep["links"]["bucket"] + "/other.txt").content == b"\r\n--x\r\n"


def test_publish_changes_state_links_and_dois(client, emulator):
    dep = client.published()
    rid = dep["id"]
    assert dep["state"] == "done" and dep["submitted"] is True
    assert set(dep["links"]) == DRAFT_LINKS - {"registerconceptdoi"} | PUBLISHED_EXTRA_LINKS
    base, concept_doi = emulator.base_url, f"10.5281/zenodo.{dep['conceptrecid']}"
    assert dep["links"]["self"] == f"{base}/api/records/{rid}"
    assert dep["links"]["html"] == f"{base}/records/{rid}"
    assert dep["links"]["files"] == f"{base}/api/records/{rid}/files"
    assert dep["links"]["record"] == f"{base}/api/records/{rid}"
    assert dep["links"]["record_html"] == f"{base}/record/{rid}"
    assert dep["links"]["latest"] == f"{base}/api/records/{rid}/versions/latest"
    assert dep["links"]["latest_html"] == f"{base}/records/{rid}/latest"
    assert dep["links"]["badge"] == f"{base}/badge/doi/10.5281/zenodo.{rid}.svg"
    assert dep["links"]["conceptbadge"] == f"{base}/badge/doi/{concept_doi}.svg"
    assert dep["links"]["parent_doi"] == f"https://doi.org/{concept_doi}"
    (f,) = dep["files"]
    assert f["links"]["download"] == f"{base}/api/records/{rid}/draft/files/data.csv/content"
    assert dep["links"]["latest_draft"] == f"{emulator.base_url}{DEP}/{rid}"
    assert dep["doi"] == f"10.5281/zenodo.{rid}"
    assert dep["doi_url"] == f"https://doi.org/10.5281/zenodo.{rid}"
    assert dep["conceptdoi"] == f"10.5281/zenodo.{dep['conceptrecid']}"
    assert client.get(f"{DEP}/{rid}").json()["state"] == "done"
    assert client.get(f"/api/records/{rid}").status_code == 200


def test_draft_has_no_doi_keys(client):
    dep = client.create(valid_metadata())
    assert not {"doi", "doi_url", "conceptdoi"} & set(dep)


def test_published_record_refuses_changes(client):
    dep = client.published()
    rid = dep["id"]
    not_found = {"status": 404, "message": "The persistent identifier does not exist."}
    r = client.put(f"{DEP}/{rid}", json={"metadata": valid_metadata()})
    assert (r.status_code, r.json()) == (404, not_found)
    r = client.post(f"{DEP}/{rid}/actions/publish")
    assert (r.status_code, r.json()) == (404, not_found)
    r = client.delete(f"{DEP}/{rid}")
    assert (r.status_code, r.json()) == (404, not_found)
    # ZENODO-API.md (was 404): a bucket PUT and a file deletion on a published record are 403;
    # a multipart upload there is 404 (test_rest_api_simpleflow.py)
    r = client.upload(dep, "new.txt", b"x")
    assert (r.status_code, r.json()["message"]) == (403, "Permission denied.")
    r = client.post(f"{DEP}/{rid}/files", files={"file": ("new.txt", b"x")})
    assert (r.status_code, r.json()) == (404, not_found)
    (listed,) = client.get(f"{DEP}/{rid}/files").json()
    r = client.delete(f"{DEP}/{rid}/files/{listed['id']}")
    assert (r.status_code, r.json()["message"]) == (403, "Permission denied.")
    assert [f["filename"] for f in client.get(f"{DEP}/{rid}/files").json()] == ["data.csv"]


def test_edit_put_publish_and_discard(client):
    dep = client.published()
    rid = dep["id"]
    r = client.post(f"{DEP}/{rid}/actions/edit")
    assert r.status_code == 201 and r.json()["state"] == "inprogress"
    assert r.json()["submitted"] is True
    r = client.put(f"{DEP}/{rid}", json={"metadata": valid_metadata(title="Edited title")})
    assert r.status_code == 200 and r.json()["metadata"]["doi"] == dep["doi"]
    r = client.post(f"{DEP}/{rid}/actions/discard")
    assert r.status_code == 204 and r.content == b""
    got = client.get(f"{DEP}/{rid}").json()
    assert got["state"] == "done" and got["title"] == dep["title"]
    client.post(f"{DEP}/{rid}/actions/edit")
    client.put(f"{DEP}/{rid}", json={"metadata": valid_metadata(title="Edited title")})
    r = client.post(f"{DEP}/{rid}/actions/publish")
    assert r.status_code == 202
    assert r.json()["state"] == "done" and r.json()["title"] == "Edited title"
    assert r.json()["doi"] == dep["doi"]


def test_discard_of_a_new_draft_deletes_it(client):
    dep = client.create()
    assert client.post(f"{DEP}/{dep['id']}/actions/discard").status_code == 204
    assert client.get(f"{DEP}/{dep['id']}").status_code == 404  # ZENODO-API.md (was 410)


def test_newversion_returns_new_draft_with_copied_files_and_cleared_fields(client, emulator):
    old = client.published({"a.csv": b"aaa", "b.csv": b"bbbb"})
    old_md = client.get(f"{DEP}/{old['id']}").json()["metadata"]
    old_md_with_version = {**old_md, "version": "1.0"}
    # a record published with a version string: edit it in, publish again
    client.post(f"{DEP}/{old['id']}/actions/edit")
    old_md_with_version.pop("prereserve_doi")
    client.put(f"{DEP}/{old['id']}", json={"metadata": old_md_with_version})
    client.post(f"{DEP}/{old['id']}/actions/publish")
    r = client.post(f"{DEP}/{old['id']}/actions/newversion")
    assert r.status_code == 201
    new = r.json()
    assert new["id"] != old["id"] and new["conceptrecid"] == old["conceptrecid"]
    assert new["state"] == "unsubmitted" and new["submitted"] is False
    assert "bucket" in new["links"]
    assert {(f["filename"], f["checksum"]) for f in new["files"]} == {
        (f["filename"], f["checksum"]) for f in old["files"]
    }
    # ZENODO-API.md: DOI cleared, version "", publication_date today
    import datetime

    md = new["metadata"]
    assert md["publication_date"] == datetime.date.today().isoformat()
    assert md["version"] == "" and "doi" not in md
    assert md["prereserve_doi"]["recid"] == new["id"]
    assert "doi" not in new
    # the copied files are really there, and independent of the old version's
    assert client.get(new["links"]["bucket"] + "/a.csv").content == b"aaa"
    assert client.delete(new["links"]["bucket"] + "/a.csv").status_code == 204
    assert client.get(old["links"]["bucket"] + "/a.csv").content == b"aaa"
    # the published record's latest_draft still points at itself
    again = client.get(f"{DEP}/{old['id']}").json()
    assert again["links"]["latest_draft"] == f"{emulator.base_url}{DEP}/{old['id']}"
    # publish the new version: latest links move
    client.put(f"{DEP}/{new['id']}", json={"metadata": valid_metadata()})
    r = client.post(f"{DEP}/{new['id']}/actions/publish")
    assert r.status_code == 202 and r.json()["doi"] == f"10.5281/zenodo.{new['id']}"
    again = client.get(f"{DEP}/{old['id']}").json()
    latest = client.get(again["links"]["latest"], allow_redirects=False)
    assert latest.status_code == 302
    assert latest.headers["Location"] == f"{emulator.base_url}/api/records/{new['id']}"
    assert client.get(again["links"]["latest"]).json()["id"] == new["id"]


def test_newversion_when_a_draft_exists(client):
    old = client.published({"a.csv": b"aaa"})
    first = client.post(f"{DEP}/{old['id']}/actions/newversion").json()
    # the open draft holds the copied file: Zenodo refuses to import files again
    r = client.post(f"{DEP}/{old['id']}/actions/newversion")
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {"field": "files.enabled", "messages": ["Please remove all files first."]}
    ]
    # once emptied, the same draft comes back, with the files imported again
    client.delete(first["links"]["bucket"] + "/a.csv")
    r = client.post(f"{DEP}/{old['id']}/actions/newversion")
    assert r.status_code == 201
    assert r.json()["id"] == first["id"]
    assert [f["filename"] for f in r.json()["files"]] == ["a.csv"]


def test_newversion_of_unpublished_is_404(client):
    dep = client.create()
    assert client.post(f"{DEP}/{dep['id']}/actions/newversion").status_code == 404


def test_list_is_bare_array_without_bucket_link(client):
    ids = [client.create(valid_metadata(title=f"Dataset number {i}"))["id"] for i in range(3)]
    r = client.get(DEP)
    assert r.status_code == 200
    items = r.json()
    assert isinstance(items, list)
    assert sorted(d["id"] for d in items) == sorted(ids)
    assert all("bucket" not in d["links"] for d in items)
    assert "Link" not in r.headers


def test_list_paging_sort_query_and_status_ignored(client):
    ids = [client.create(valid_metadata(title=f"Dataset number {i}"))["id"] for i in range(5)]
    page = lambda **p: [d["id"] for d in client.get(DEP, params=p).json()]  # noqa: E731
    assert page(sort="oldest", size=2, page=1) == ids[:2]
    assert page(sort="oldest", size=2, page=3) == ids[4:]
    assert page(sort="oldest", size=2, page=4) == []
    assert page(sort="newest", size=100) == ids[::-1]
    assert page(q='title:"Dataset number 3"') == [ids[3]]
    assert page(q=f"recid:{ids[1]}") == [ids[1]]
    assert page(sort="oldest", status="published") == page(sort="oldest", status="draft") == ids
    r = client.get(DEP, params={"size": 101})
    assert r.status_code == 400  # ZENODO-API.md: a validation error on field size
    assert r.json()["message"] == "A validation error occurred."
    assert [e["field"] for e in r.json()["errors"]] == ["size"]


def test_list_query_by_conceptrecid_and_doi(client):
    dep = client.published()
    q = client.get(DEP, params={"q": f"conceptrecid:{dep['conceptrecid']}"}).json()
    assert [d["id"] for d in q] == [dep["id"]]
    q = client.get(DEP, params={"q": f'doi:"{dep["doi"]}"'}).json()
    assert [d["id"] for d in q] == [dep["id"]]


def test_unknown_api_path_and_method(client):
    assert client.get("/api/nothing/here").status_code == 404
    assert client.request("PATCH", DEP).status_code == 405


def test_keep_alive_many_requests_on_one_connection(client):
    dep = client.create()
    for _ in range(20):
        assert client.get(f"{DEP}/{dep['id']}").status_code == 200
    # every answer carried a Content-Length, or requests could not have reused the connection
    r = client.get(f"{DEP}/{dep['id']}")
    assert int(r.headers["Content-Length"]) == len(r.content)


def test_access_token_query_works_but_is_not_logged(emulator_factory, capfd):
    emu = emulator_factory(quiet=False)
    secret = "query-secret-token-123"
    r = requests.get(f"{emu.base_url}{DEP}", params={"access_token": secret}, timeout=10)
    assert r.status_code == 200
    bearer = Client(emu.base_url, token=secret)
    bearer.get(DEP)
    err = capfd.readouterr().err
    assert "GET /api/deposit/depositions 200" in err
    assert secret not in err


def test_get_one_deposition_file(client):
    dep = client.create()
    client.upload(dep, "one.txt", b"1")
    (listed,) = client.get(f"{DEP}/{dep['id']}/files").json()
    r = client.get(f"{DEP}/{dep['id']}/files/{listed['id']}")
    assert r.status_code == 200 and r.json() == listed
    assert client.get(f"{DEP}/{dep['id']}/files/no-such-id").status_code == 404


def test_discard_and_edit_edge_cases(client):
    dep = client.published()
    r = client.post(f"{DEP}/{dep['id']}/actions/discard")  # not being edited
    assert r.status_code == 404
    draft = client.create(valid_metadata())
    r = client.post(f"{DEP}/{draft['id']}/actions/edit")
    assert r.status_code == 201 and r.json()["state"] == "unsubmitted"
    assert client.post(f"{DEP}/{draft['id']}/actions/nonsense").status_code == 404


def test_edited_record_files_are_locked(client):
    dep = client.published()
    client.post(f"{DEP}/{dep['id']}/actions/edit")
    assert client.upload(dep, "late.txt", b"x").status_code == 403  # ZENODO-API.md (was 404)
    (f,) = client.get(f"{DEP}/{dep['id']}/files").json()
    assert client.delete(f"{DEP}/{dep['id']}/files/{f['id']}").status_code == 403
