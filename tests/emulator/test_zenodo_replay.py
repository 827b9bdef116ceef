"""Zenodo's own legacy-API test sequences, replayed against the emulator.

Written from the facts in ZENODO-API.md, which quotes Zenodo's tests
(``site/tests/legacy/``: ``test_quickstart.py``, ``deposits/test_rest_api_simpleflow.py``,
``deposits/test_rest_api_metadata.py``) and its recorded answers: quick start, simple flow,
metadata, delete, versions. Every comparison is counted; each sequence reports all of its
mismatches at once, and the last test prints "N of M replayed checks match".
"""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
import requests
from testkit.emulator_http import DEP, Client

# The tally is shared by this module's tests and read by the last one: they run in the serial
# pass of `make test`, in one process, in order.
pytestmark = pytest.mark.serial

TALLY = {"match": 0, "total": 0}


class Checks:
    """Soft assertions: every check is counted, mismatches are listed at the end."""

    def __init__(self) -> None:
        self.failed: list[str] = []

    def eq(self, what: str, got: Any, expected: Any) -> None:
        self.ok(what, got == expected, f"got {got!r}, expected {expected!r}")

    def ok(self, what: str, condition: bool, detail: str = "") -> None:
        TALLY["total"] += 1
        if condition:
            TALLY["match"] += 1
        else:
            self.failed.append(f"{what}: {detail}")


@pytest.fixture
def checks():
    c = Checks()
    yield c
    assert not c.failed, "\n".join(c.failed)


@pytest.fixture
def client(emulator) -> Client:
    return Client(emulator.base_url)


def presentation() -> dict[str, Any]:
    return {
        "metadata": {
            "upload_type": "presentation",
            "title": "Test title",
            "creators": [
                {"name": "Doe, John", "affiliation": "Atlantis"},
                {"name": "Smith, Jane", "affiliation": "Atlantis"},
            ],
            "description": "Test Description",
            "publication_date": "2013-05-08",
            "access_right": "open",
        }
    }


def small(**metadata: Any) -> dict[str, Any]:
    base = {
        "title": "Test",
        "upload_type": "dataset",
        "description": "Test description",
        "creators": [{"name": "Test User"}],
    }
    return {"metadata": {**base, **metadata}}


def test_quickstart(emulator, client, checks):
    anonymous = requests.get(emulator.url(DEP), timeout=10)
    checks.eq("anonymous list", anonymous.status_code, 403)
    r = client.get(DEP)
    checks.eq("empty list", (r.status_code, r.json()), (200, []))
    r = client.post(DEP, json={})
    checks.eq("create {}", r.status_code, 201)
    data = r.json()
    checks.eq("title of a bare draft", data["title"], "")
    checks.ok("created/modified", {"created", "modified"} <= data.keys())
    checks.ok("integer ids", isinstance(data["id"], int) and isinstance(data["record_id"], int))
    checks.ok("conceptrecid", bool(data["conceptrecid"]))
    checks.ok("no doi on a draft", "doi" not in data)
    checks.eq(
        "prereserve_doi",
        data["metadata"]["prereserve_doi"],
        {"doi": f"10.5281/zenodo.{data['id']}", "recid": data["id"]},
    )
    checks.eq("state", data["state"], "unsubmitted")
    checks.ok("owner is an int", isinstance(data["owner"], int))
    links = data["links"]
    first = client.post(
        links["files"],
        data={"name": "my_first_file.csv"},
        files={"file": ("my_first_file.csv", io.BytesIO(b"1, 2, 3"))},
    )
    checks.eq("multipart upload", first.status_code, 201)
    f = first.json()
    checks.eq("multipart md5", f["checksum"], "66ce05ea43c73b8e33c74c12d0371bc9")
    checks.eq("multipart name and size", (f["filename"], f["filesize"]), ("my_first_file.csv", 7))
    checks.ok("file links", {"self", "download"} <= f["links"].keys())
    again = client.get(f["links"]["self"])
    checks.eq("file self link", (again.status_code, again.json()["checksum"]), (200, f["checksum"]))
    second = client.post(
        links["files"], files={"file": ("my_second_file.csv", io.BytesIO(b"1, 2, 3"))}
    )
    checks.eq(
        "multipart without name",
        (second.status_code, second.json().get("filename")),
        (201, "my_second_file.csv"),
    )
    third = client.put(f"{links['bucket']}/my_third_file.csv", data=io.BytesIO(b"4, 5, 6"))
    checks.eq("bucket PUT", third.status_code, 201)
    t = third.json()
    checks.ok("bucket created/updated", {"created", "updated"} <= t.keys())
    checks.ok("version_id", bool(t["version_id"]))
    checks.eq("mimetype", t["mimetype"], "text/csv")
    checks.eq("bucket md5", t["checksum"], "md5:c2d626f8beba73ad0cf4e66214f7d949")
    checks.eq("bucket key and size", (t["key"], t["size"]), ("my_third_file.csv", 7))
    checks.eq("is_head/delete_marker", (t["is_head"], t["delete_marker"]), (True, False))
    checks.ok("bucket links", {"self", "uploads", "version"} <= t["links"].keys())
    metadata = {
        "title": "My first upload",
        "upload_type": "dataset",
        "description": "This is my first upload",
        "creators": [{"name": "Doe, John", "affiliation": "Zenodo"}],
    }
    checks.eq("PUT", client.put(links["self"], json={"metadata": metadata}).status_code, 200)
    published = client.post(links["publish"])
    checks.eq("publish", published.status_code, 202)
    record_id = published.json()["id"]
    record = client.get(published.json()["links"]["self"])
    checks.eq("record read", record.status_code, 200)
    checks.eq("record DOI", record.json().get("doi"), f"10.5281/zenodo.{record_id}")


def test_simple_flow(emulator, client, checks):
    anonymous = requests.post(emulator.url(DEP), json=presentation(), timeout=10)
    checks.eq("anonymous create", anonymous.status_code, 403)
    r = client.post(DEP, json=presentation())
    checks.eq("create", r.status_code, 201)
    deposit_id, links = r.json()["id"], r.json()["links"]
    checks.eq("get", client.get(links["self"]).status_code, 200)
    file_url = ""
    for i in range(3):
        up = client.post(
            links["files"],
            data={"name": f"test-{i}"},
            files={"file": (f"test-{i}.txt", f"test-{i}.txt".encode())},
        )
        checks.eq(f"upload {i}", up.status_code, 201)
        file_url = up.json()["links"]["self"]
    published = client.post(links["publish"])
    checks.eq("publish", published.status_code, 202)
    checks.eq("same id for deposit and record", published.json()["id"], deposit_id)
    checks.eq("record exists", client.get(f"/api/records/{deposit_id}").status_code, 200)
    checks.eq("publish twice", client.post(links["publish"]).status_code, 404)
    checks.eq("PUT published", client.put(links["self"], json=presentation()).status_code, 404)
    checks.eq("DELETE published", client.delete(links["self"]).status_code, 404)
    checks.eq("list files", client.get(links["files"]).status_code, 200)
    sort = client.put(links["files"], json=[{"id": "test-2.txt"}])
    checks.eq("sorting files is not served", sort.status_code, 405)
    late = client.post(links["files"], files={"file": ("test-5.txt", b"5")})
    checks.eq("multipart on published", late.status_code, 404)
    checks.eq("delete file of published", client.delete(file_url).status_code, 403)
    rename = client.put(file_url, json={"filename": "another_test.pdf"})
    checks.eq("renaming a file is not served", rename.status_code, 405)


def test_read_and_update_by_users(emulator, client, checks):
    r = client.post(DEP, json=presentation())
    url = r.json()["links"]["self"]
    checks.eq("anonymous read", requests.get(url, timeout=10).status_code, 403)
    checks.eq(
        "other user read", Client(emulator.base_url, "someone-else").get(url).status_code, 403
    )
    put = client.put(url, json={"metadata": {"title": "A new title"}})
    checks.eq(
        "owner update", (put.status_code, put.json()["metadata"]["title"]), (200, "A new title")
    )


def test_delete(client, checks):
    r = client.post(DEP, json=presentation())
    checks.eq("create", r.status_code, 201)
    links = r.json()["links"]
    checks.eq("listed", len(client.get(DEP).json()), 1)
    gone = client.delete(links["self"])
    checks.eq("delete", (gone.status_code, gone.content), (204, b""))
    checks.eq("not listed", client.get(DEP).json(), [])
    checks.eq("delete again", client.delete(links["self"]).status_code, 404)
    checks.eq("get deleted", client.get(links["self"]).status_code, 404)


METADATA_IN = {
    "upload_type": "publication",
    "publication_type": "book",
    "title": "Some title",
    "creators": [
        {"name": "Doe, John", "affiliation": "Atlantis", "orcid": "0000-0002-1825-0097"},
        {"name": "Smith,Jane", "affiliation": "Atlantis"},
    ],
    "description": "Some description",
    "access_right": "embargoed",
    "embargo_date": (datetime.date.today() + datetime.timedelta(days=1)).isoformat(),
    "license": "CC0-1.0",
    "language": "fr",
    "publication_date": "2013-09-12",
    "keywords": ["Keyword 1", "keyword 2"],
    "communities": [{"identifier": "c1"}],
    "thesis_supervisors": [{"name": "Doe, John", "affiliation": "Atlantis"}],
    "contributors": [{"name": "Smith, Marco", "affiliation": "Atlantis", "type": "datacurator"}],
    "related_identifiers": [
        {"identifier": "10.1234/foo.bar2", "relation": "IsCitedBy", "scheme": "doi"}
    ],
}


def test_metadata_input_output(client, checks):
    r = client.post(DEP, json={"metadata": METADATA_IN})
    checks.eq("create", r.status_code, 201)
    md = client.get(r.json()["links"]["self"]).json()["metadata"]
    checks.eq("licence read back in legacy form", md.get("license"), "cc-zero")
    checks.eq("two-letter language read back", md.get("language"), "fra")
    checks.eq("publisher default", md.get("imprint_publisher"), "Zenodo")
    checks.eq("access right kept", md.get("access_right"), "embargoed")
    checks.eq("communities kept on a draft", md.get("communities"), [{"identifier": "c1"}])
    checks.ok("supervisors are no key of their own", "thesis_supervisors" not in md)
    checks.eq(
        "supervisors then contributors",
        [(c["name"], c["type"]) for c in md.get("contributors", [])],
        [("Doe, John", "Supervisor"), ("Smith, Marco", "DataCurator")],
    )
    checks.eq("one-comma names", [c["name"] for c in md["creators"]], ["Doe, John", "Smith, Jane"])
    checks.eq("relation spelling", md["related_identifiers"][0]["relation"], "isCitedBy")
    checks.eq("keywords", md["keywords"], ["Keyword 1", "keyword 2"])
    rid = r.json()["id"]
    checks.eq(
        "prereserve_doi", md["prereserve_doi"], {"doi": f"10.5281/zenodo.{rid}", "recid": rid}
    )


@pytest.mark.parametrize(
    ("sent", "read"),
    [("cc0-1.0", "cc-zero"), ("mit", "mit-license"), ("apache-2.0", "apache2.0")],
)
def test_metadata_licence_read_back(client, checks, sent, read):
    r = client.post(DEP, json=small(license=sent))
    checks.eq(f"{sent} read back", (r.status_code, r.json()["metadata"]["license"]), (201, read))


def test_metadata_defaults(client, checks):
    today = datetime.date.today().isoformat()
    for upload_type, licence in (("dataset", "cc-zero"), ("software", "cc-by-4.0")):
        md = client.post(DEP, json=small(upload_type=upload_type)).json()["metadata"]
        checks.eq(f"{upload_type} licence default", md.get("license"), licence)
        checks.eq(f"{upload_type} access default", md.get("access_right"), "open")
        checks.eq(f"{upload_type} date default", md.get("publication_date"), today)
    closed = client.post(DEP, json=small(access_right="restricted")).json()["metadata"]
    checks.ok("no licence default when restricted", "license" not in closed)


def test_metadata_invalid_create(client, checks):
    r = client.post(DEP, json={"unknownkey": "data", "metadata": {}})
    checks.eq("unknown top-level key", r.status_code, 400)
    checks.eq("nothing created", client.get(DEP).json(), [])


@pytest.mark.parametrize(
    ("related", "field", "message"),
    [
        ("not-a-list", "metadata.related_identifiers", "related_identifiers must be a list"),
        (
            ["not-a-dict"],
            "metadata.related_identifiers.0",
            "Each related identifier must be an object",
        ),
        (
            [{"identifier": "10.1234/foo", "relation": 123}],
            "metadata.related_identifiers.0.relation",
            "relation must be a string",
        ),
    ],
)
def test_metadata_malformed_related_identifiers(client, checks, related, field, message):
    r = client.post(DEP, json=small(related_identifiers=related))
    checks.eq("status", r.status_code, 400)
    errors = r.json().get("errors", [])
    checks.eq("one error", len(errors), 1)
    checks.eq("field", errors[0]["field"] if errors else None, field)
    checks.ok("message", bool(errors) and message in errors[0]["messages"][0], str(errors))


@pytest.mark.parametrize("licence", [123, ["cc-by-4.0"]])
def test_metadata_malformed_licence(client, checks, licence):
    r = client.post(DEP, json=small(license=licence))
    errors = r.json().get("errors", [])
    checks.eq("status", r.status_code, 400)
    checks.eq("field", [e["field"] for e in errors], ["metadata.license"])
    checks.ok(
        "message",
        bool(errors) and "Invalid license value provided" in errors[0]["messages"][0],
        str(errors),
    )


def test_metadata_unknown_licence(client, checks):
    r = client.post(DEP, json=small(license="no-such-licence"))
    checks.eq(
        "unknown licence",
        (r.status_code, r.json().get("errors")),
        (
            400,
            [
                {
                    "field": "metadata.license",
                    "messages": ["Invalid license provided: no-such-licence"],
                }
            ],
        ),
    )


@pytest.mark.parametrize(
    "communities", [{"identifier": "my-community"}, [{"id": "my-community"}], ["my-community"]]
)
def test_metadata_malformed_communities(client, checks, communities):
    r = client.post(DEP, json=small(communities=communities))
    errors = r.json().get("errors", [])
    checks.eq("status", r.status_code, 400)
    checks.eq(
        "field without metadata. prefix", errors[0]["field"] if errors else None, "communities"
    )
    checks.ok("message names identifier", bool(errors) and "identifier" in errors[0]["messages"][0])


@pytest.mark.parametrize(
    "communities", [[{"identifier": "c1"}], [{"identifier": "c1"}, {"identifier": "c2"}]]
)
def test_metadata_valid_communities(client, checks, communities):
    r = client.post(DEP, json=small(communities=communities))
    checks.eq("status", r.status_code, 201)
    got = {c["identifier"] for c in r.json()["metadata"].get("communities", [])}
    checks.eq("communities kept", got, {c["identifier"] for c in communities})


@pytest.mark.parametrize("licence", ["cc-by-4.0", {"id": "cc-by-4.0"}])
def test_metadata_valid_licence(client, checks, licence):
    checks.eq("accepted", client.post(DEP, json=small(license=licence)).status_code, 201)


def test_versions(client, checks):
    today = datetime.date.today().isoformat()
    first = client.published({"data.csv": b"v1"})
    v2 = client.post(f"{DEP}/{first['id']}/actions/newversion")
    checks.eq("newversion", v2.status_code, 201)
    draft = v2.json()
    checks.ok("a new id", draft["id"] != first["id"])
    checks.eq("same concept", draft["conceptrecid"], first["conceptrecid"])
    checks.eq(
        "state of the new draft", (draft["state"], draft["submitted"]), ("unsubmitted", False)
    )
    checks.ok("DOI cleared", "doi" not in draft and "doi" not in draft["metadata"])
    checks.eq("version emptied", draft["metadata"].get("version"), "")
    checks.eq("dated today", draft["metadata"].get("publication_date"), today)
    checks.eq("files copied", [f["filename"] for f in draft["files"]], ["data.csv"])
    again = client.post(f"{DEP}/{first['id']}/actions/newversion")
    checks.eq(
        "second newversion while the draft holds files",
        (again.status_code, again.json().get("errors")),
        (400, [{"field": "files.enabled", "messages": ["Please remove all files first."]}]),
    )
    found = client.get(DEP, params={"q": f"conceptrecid:{first['conceptrecid']}"}).json()
    checks.eq(
        "open draft found by concept",
        sorted(d["id"] for d in found),
        sorted([first["id"], draft["id"]]),
    )
    old = client.get(f"{DEP}/{first['id']}").json()
    checks.eq(
        "latest_draft of a record is itself",
        old["links"]["latest_draft"],
        f"{client.base}{DEP}/{first['id']}",
    )
    # publish v2 with new content and a title, then ask a version of v1: built from v2
    client.put(
        draft["links"]["self"], json={"metadata": {**small()["metadata"], "title": "Version two"}}
    )
    client.put(f"{draft['links']['bucket']}/data.csv", data=b"v2")
    checks.eq("publish v2", client.post(draft["links"]["publish"]).status_code, 202)
    v3 = client.post(f"{DEP}/{first['id']}/actions/newversion").json()
    checks.eq("built from the latest version", v3["title"], "Version two")
    content = client.get(f"{v3['links']['bucket']}/data.csv").content
    checks.eq("with the latest version's files", content, b"v2")
    native = client.post(f"/api/records/{first['id']}/versions")
    checks.eq("native route while the draft holds files", native.status_code, 400)
    never = client.create()
    checks.eq(
        "newversion of a draft",
        client.post(f"{DEP}/{never['id']}/actions/newversion").status_code,
        404,
    )


def test_record_format(client, checks):
    dep = client.published({"data.csv": b"a,b\n"})
    r = client.get(f"/api/records/{dep['id']}")
    checks.eq("record read", r.status_code, 200)
    rec = r.json()
    checks.ok("recid/status/stats", {"recid", "status", "stats"} <= rec.keys())
    (f,) = rec["files"]
    checks.eq(
        "record file keys", {k: f[k] for k in ("key", "size")}, {"key": "data.csv", "size": 4}
    )
    checks.ok("md5: prefix", f["checksum"].startswith("md5:"))
    checks.ok("content link", f["links"]["self"].endswith("/files/data.csv/content"))
    checks.eq("content", requests.get(f["links"]["self"], timeout=10).content, b"a,b\n")


def test_content_type_rules(client, checks):
    dep = client.create()
    body = b'{"metadata": {"title": "Raw"}}'
    bare = client.put(dep["links"]["self"], data=body)
    checks.eq("JSON without Content-Type", bare.status_code, 200)
    charset = client.put(
        dep["links"]["self"], data=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    checks.eq("charset refused", charset.status_code, 415)
    text = client.put(
        f"{dep['links']['bucket']}/a.txt", data=b"x", headers={"Content-Type": "text/plain"}
    )
    checks.eq(
        "bucket PUT with another type",
        (text.status_code, text.json()["message"]),
        (415, "Invalid 'Content-Type' header. Expected one of: application/octet-stream."),
    )
    empty = client.post(DEP, data=b"")
    checks.eq("empty create body", empty.status_code, 400)


def test_multipart_name_is_made_safe(client, checks):
    dep = client.create()
    r = client.post(dep["links"]["files"], files={"file": ("my file (1).txt", b"x")})
    checks.eq("secure_filename", (r.status_code, r.json().get("filename")), (201, "my_file_1.txt"))
    kept = client.put(f"{dep['links']['bucket']}/my file (1).txt", data=b"y")
    checks.eq("bucket PUT keeps the key", kept.json().get("key"), "my file (1).txt")


def test_zz_summary(capsys):
    """Prints the replay's tally (the issue's closing note quotes it)."""
    with capsys.disabled():
        print(f"\n{TALLY['match']} of {TALLY['total']} replayed checks match")
    assert TALLY["total"] >= 100 and TALLY["match"] == TALLY["total"]
