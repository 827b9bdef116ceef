"""Helpers shared by the emulator tests: a thin authenticated client and valid metadata."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import requests

from testkit.tokens import TOKEN

DEP = "/api/deposit/depositions"


def md5hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


VALID_METADATA: dict[str, Any] = {
    "upload_type": "dataset",
    "title": "Soil moisture in the Loire valley",
    "creators": [{"name": "van Delft, Pierre", "affiliation": "INRAE"}],
    "description": "Measurements.",
    "publication_date": "2024-05-02",
    "access_right": "open",
    "license": "cc-by-4.0",
}


def valid_metadata(**changes: Any) -> dict[str, Any]:
    md = copy.deepcopy(VALID_METADATA)
    md.update(changes)
    return md


class Client:
    """requests over loopback with a bearer token; paths are relative to the base URL."""

    def __init__(self, base_url: str, token: str | None = TOKEN) -> None:
        self.base = base_url
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "maggot-zenodo-tests"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def request(self, method: str, path: str, **kw: Any) -> requests.Response:
        kw.setdefault("timeout", 30)
        return self.session.request(method, self.url(path), **kw)

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> requests.Response:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.request("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> requests.Response:
        return self.request("DELETE", path, **kw)

    # ----- workflows ---------------------------------------------------------------------
    def create(self, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        r = self.post(DEP, json={"metadata": metadata} if metadata is not None else {})
        assert r.status_code == 201, r.text
        return r.json()

    def upload(self, dep: dict[str, Any], key: str, data: bytes) -> requests.Response:
        return self.put(
            f"{dep['links']['bucket']}/{key}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )

    def published(self, files: dict[str, bytes] | None = None) -> dict[str, Any]:
        """A published deposition with valid metadata and the given files."""
        dep = self.create(valid_metadata())
        for key, data in (files or {"data.csv": b"a,b\n1,2\n"}).items():
            assert self.upload(dep, key, data).status_code == 201
        r = self.post(f"{DEP}/{dep['id']}/actions/publish")
        assert r.status_code == 202, r.text
        return r.json()
