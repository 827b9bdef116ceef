"""The native API routes: collections, datasets, versions, files, publication, locks, search."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from maggot_zenodo.emulator.dataverse import views
from maggot_zenodo.emulator.dataverse.files import add_file
from maggot_zenodo.emulator.dataverse.messages import Request, Response, Timing, ok
from maggot_zenodo.emulator.dataverse.parse import (
    BadJson,
    ValidationFailed,
    parse_blocks,
    validate_blocks,
)
from maggot_zenodo.emulator.dataverse.release import pid_suffix, publish
from maggot_zenodo.emulator.dataverse.schema import SiteSchema, find_license
from maggot_zenodo.emulator.dataverse.search import search
from maggot_zenodo.emulator.dataverse.store import (
    EDIT_BLOCKING,
    Dataset,
    DvError,
    Store,
    Version,
)
from maggot_zenodo.emulator.httpio import BodyTooLarge

JSON_LIMIT = 10_000_000
_NO_BLOCKS = "Error parsing Json: Invalid JSON object: metadata blocks not found."
NOT_PERMITTED = "User @{user} is not permitted to perform requested action."


@dataclass
class Api:
    store: Store
    schema: SiteSchema
    collection: str
    timing: Timing = field(default_factory=Timing)

    def routes(self) -> list[tuple[str, str, Callable[..., Response]]]:
        ds = r"/api/datasets/(?P<ref>:persistentId|\d+)"
        return [
            ("GET", r"/api/info/version", self.version),
            ("GET", r"/api/users/:me", self.me),
            ("GET", r"/api/metadatablocks", self.blocks),
            ("GET", r"/api/metadatablocks/(?P<name>[^/]+)", self.block),
            ("GET", r"/api/licenses", self.licenses),
            ("GET", r"/api/dataverses/(?P<alias>[^/]+)", self.collection_info),
            ("GET", r"/api/dataverses/(?P<alias>[^/]+)/userPermissions", self.coll_perms),
            ("GET", r"/api/dataverses/(?P<alias>[^/]+)/datasetSchema", self.dataset_schema),
            ("POST", r"/api/dataverses/(?P<alias>[^/]+)/datasets", self.create),
            ("GET", ds, self.get_dataset),
            ("DELETE", ds, self.destroy),
            ("GET", ds + r"/versions/(?P<v>[^/]+)", self.get_version),
            ("GET", ds + r"/versions/(?P<v>[^/]+)/files", self.list_files),
            ("PUT", ds + r"/versions/:draft", self.replace_metadata),
            ("DELETE", ds + r"/versions/:draft", self.discard),
            ("POST", ds + r"/add", self.add),
            ("POST", ds + r"/actions/:publish", self.publish),
            ("GET", ds + r"/locks", self.locks),
            ("GET", ds + r"/userPermissions", self.ds_perms),
            ("GET", ds + r"/timestamps", self.timestamps),
            ("DELETE", r"/api/files/(?P<fid>\d+)", self.delete_file),
            ("GET", r"/api/access/datafile/(?P<fid>\d+)", self.download),
            ("GET", r"/api/search", self.search),
        ]

    def handle(self, req: Request) -> Response:
        path = req.path.removeprefix("/api/v1").replace("/api/v1/", "/api/")
        path = "/api" + path if not path.startswith("/api") else path
        allowed: list[str] = []
        for method, pattern, handler in self.routes():
            match = re.fullmatch(pattern, path)
            if match:
                if method == req.method:
                    with self.store.lock:
                        return handler(req, **match.groupdict())
                allowed.append(method)
        message = "API endpoint does not exist on this server. Please check your code for typos, "
        message += "or consult our API guide at http://guides.dataverse.org."
        status = 405 if allowed else 404
        return Response(
            status,
            {
                "status": "ERROR",
                "code": status,
                "message": message,
                "requestUrl": req.base_url + req.path,
                "requestMethod": req.method,
            },
        )

    # ----- helpers -----------------------------------------------------------------------
    def _user(self, req: Request) -> int:
        if req.user is None:
            raise DvError(401, NOT_PERMITTED.format(user="__guest__"))
        return req.user

    def _dataset(self, req: Request, ref: str, *, write: bool = False) -> Dataset:
        ds = self.store.get(ref, req.param("persistentId"))
        visible = ds.released() and not write
        if not visible and req.user != ds.owner:
            raise DvError(401, NOT_PERMITTED.format(user=f"user{req.user or 0}"))
        return ds

    def _json_body(self, req: Request) -> Any:
        try:
            return json.loads(req.body.read_all(JSON_LIMIT) or b"null")
        except BodyTooLarge:
            raise DvError(400, "Error parsing Json: body too large") from None
        except ValueError as exc:
            raise DvError(400, f"Error parsing Json: {exc}") from None

    def _parse_version(self, version: Any) -> tuple[dict[str, Any], dict[str, Any] | None, Any]:
        if not isinstance(version, dict):
            raise DvError(400, _NO_BLOCKS)
        if version.get("files"):
            raise DvError(400, "You may not add files via this api.")
        try:
            blocks = parse_blocks(version, self.schema)
        except BadJson as exc:
            raise DvError(400, str(exc)) from None
        lic = None
        if "license" in version:
            lic, refusal = find_license(self.schema, version["license"])
            if lic is None:
                raise DvError(400, f"Error parsing Json: {refusal}")
        try:
            validate_blocks(blocks, self.schema)
        except ValidationFailed as exc:
            raise DvError(403, str(exc)) from None
        return blocks, lic, version.get("termsOfUse")

    def _index(self, ds: Dataset, req: Request) -> None:
        lag = self.timing.lagging_index if "lagging_index" in req.behaviours else 0.0
        ds.index.append((time.monotonic() + self.timing.index_lag + lag, views.index_cards(ds)))

    def _no_edit_locks(self, ds: Dataset) -> None:
        if any(lock in EDIT_BLOCKING for lock in self.store.active_locks(ds)):
            raise DvError(403, "Dataset cannot be edited due to dataset lock.")

    # ----- site --------------------------------------------------------------------------
    def version(self, req: Request) -> Response:
        return ok(self.schema.version)

    def me(self, req: Request) -> Response:
        user = self._user(req)
        return ok(
            {
                "id": user,
                "identifier": f"@user{user}",
                "displayName": f"User {user}",
                "superuser": False,
                "deactivated": False,
            }
        )

    def blocks(self, req: Request) -> Response:
        return ok(
            [{k: v for k, v in b.items() if k != "fields"} for b in self.schema.blocks.values()]
        )

    def block(self, req: Request, name: str) -> Response:
        if name not in self.schema.blocks:
            raise DvError(404, f"Can't find metadata block '{name}'")
        return ok(self.schema.blocks[name])

    def licenses(self, req: Request) -> Response:
        return ok(self.schema.licenses)

    def _alias(self, alias: str) -> str:
        if alias not in (self.collection, "root", ":root"):
            raise DvError(404, f"Can't find dataverse with identifier='{alias}'")
        return alias

    def collection_info(self, req: Request, alias: str) -> Response:
        self._alias(alias)
        return ok(
            {
                "id": 2 if alias == self.collection else 1,
                "alias": alias,
                "name": alias,
                "isReleased": True,
                "filePIDsEnabled": False,
                "effectiveRequiresFilesToPublishDataset": False,
            }
        )

    def coll_perms(self, req: Request, alias: str) -> Response:
        self._alias(alias)
        mine = req.user is not None and alias == self.collection
        return ok(
            {
                "canAddDataverse": False,
                "canAddDataset": mine,
                "canViewUnpublishedDataverse": mine,
                "canEditDataverse": False,
                "canManageDataversePermissions": False,
                "canPublishDataverse": False,
                "canDeleteDataverse": False,
            }
        )

    def dataset_schema(self, req: Request, alias: str) -> Response:
        self._alias(alias)
        self._user(req)
        return ok(
            self.schema.dataset_schema or {"$schema": "http://json-schema.org/draft-04/schema#"}
        )

    # ----- datasets ----------------------------------------------------------------------
    def create(self, req: Request, alias: str) -> Response:
        self._alias(alias)
        user = self._user(req)
        if alias != self.collection:
            raise DvError(401, NOT_PERMITTED.format(user=f"user{user}"))
        if "json" not in (req.headers.get("Content-Type") or ""):
            raise DvError(415, "HTTP 415 Unsupported Media Type")
        body = self._json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("datasetVersion"), dict):
            raise DvError(400, _NO_BLOCKS)
        language = body.get("metadataLanguage")
        if language not in (None, "undefined") and language not in self.schema.metadata_languages:
            raise DvError(400, "Error parsing Json: Specified metadatalanguage not allowed.")
        if body["datasetVersion"].get("files"):
            raise DvError(400, "Only a superuser may add files via this api")
        blocks, lic, terms = self._parse_version(body["datasetVersion"])
        ds_id = self.store.new_id()
        pid = f"doi:10.5072/FK2/{pid_suffix(ds_id)}"
        ds = Dataset(ds_id, pid, alias, user, [Version("DRAFT", blocks, lic, [], terms=terms)])
        self.store.datasets[ds_id] = ds
        self._index(ds, req)
        location = f"{req.base_url}/api/datasets/{ds_id}"
        resp = ok({"id": ds_id, "persistentId": pid}, 201)
        resp.headers["Location"] = location
        return resp

    def get_dataset(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref)
        return ok(views.dataset_json(ds, self.store.active_locks(ds), req.base_url))

    def _version(self, req: Request, ds: Dataset, v: str) -> Version:
        mine = req.user == ds.owner
        released = ds.released()
        chosen: Version | None = None
        if v == ":draft":
            chosen = ds.draft() if mine else None
        elif v == ":latest":
            chosen = ds.latest if mine else (released[-1] if released else None)
        elif v == ":latest-published":
            chosen = released[-1] if released else None
        else:
            chosen = next((r for r in released if f"{r.major}.{r.minor}" == v), None)
        if chosen is None:
            raise DvError(404, f"Dataset version {v} of dataset {ds.id} not found")
        return chosen

    def get_version(self, req: Request, ref: str, v: str) -> Response:
        ds = self._dataset(req, ref)
        files = req.param("excludeFiles") != "true"
        return ok(views.version_json(ds, self._version(req, ds, v), files=files))

    def list_files(self, req: Request, ref: str, v: str) -> Response:
        ds = self._dataset(req, ref)
        version = self._version(req, ds, v)
        items = sorted(version.files, key=lambda f: (f.label.lower(), f.id))
        data = [views.file_metadata(f, version) for f in items]
        return ok(data, totalCount=len(data))

    def replace_metadata(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref, write=True)
        body = self._json_body(req)
        if isinstance(body, dict) and "datasetVersion" in body:
            raise DvError(
                400,
                "Error parsing dataset version: Invalid JSON object: metadata blocks not found.",
            )
        self._no_edit_locks(ds)
        blocks, lic, terms = self._parse_version(body)
        draft = self.store.edit_version(ds)
        draft.blocks, draft.license, draft.terms = blocks, lic, terms
        draft.updated = time.time()
        self._index(ds, req)
        return ok(views.version_json(ds, draft))

    def discard(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref, write=True)
        if ds.draft() is None:
            raise DvError(401, "This is NOT a DRAFT version")
        if not ds.released():
            raise DvError(
                403, "Cannot delete the draft of a never published dataset: delete the dataset."
            )
        ds.versions.pop()
        self._index(ds, req)
        return ok({"message": "Draft version of dataset deleted"})

    def destroy(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref, write=True)
        if ds.released():
            raise DvError(401, NOT_PERMITTED.format(user=f"user{req.user}"))
        ds.destroyed = True
        ds.index.append((time.monotonic(), []))
        return ok({"message": "Dataset deleted"})

    def add(self, req: Request, ref: str) -> Response:
        ds = self.store.get(ref, req.param("persistentId"))
        if req.user is None or req.user != ds.owner:
            raise DvError(403, "You do not have permission to edit this dataset.")
        if any(lock in EDIT_BLOCKING for lock in self.store.active_locks(ds)):
            raise DvError(400, "Failed to add file to dataset.")
        return add_file(self, req, ds)

    def delete_file(self, req: Request, fid: str) -> Response:
        ds, df = self.store.find_file(int(fid))
        if req.user is None or req.user != ds.owner:
            raise DvError(400, f"Delete failed for file ID {fid}")
        self._no_edit_locks(ds)
        draft = self.store.edit_version(ds)
        if df not in draft.files:
            raise DvError(404, f"File with ID {fid} not found.")
        draft.files.remove(df)
        draft.updated = time.time()
        destroyed = not any(df in v.files for v in ds.released())
        if destroyed:
            df.path.unlink(missing_ok=True)
        self._index(ds, req)
        return ok(destroyed)

    def download(self, req: Request, fid: str) -> Response:
        ds, df = self.store.find_file(int(fid))
        if req.user != ds.owner and not any(df in v.files for v in ds.released()):
            raise DvError(401, NOT_PERMITTED.format(user=f"user{req.user or 0}"))
        return Response(200, file=df.path, content_type=df.content_type)

    def publish(self, req: Request, ref: str) -> Response:
        return publish(self, req, self._dataset(req, ref, write=True))

    def locks(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref)
        wanted = req.param("type")
        data = [
            {
                "lockType": lk,
                "date": time.strftime("%a %b %d %H:%M:%S UTC %Y"),
                "user": f"user{ds.owner}",
                "dataset": ds.pid,
            }
            for lk in self.store.active_locks(ds)
            if wanted in (None, lk)
        ]
        return ok(data)

    def ds_perms(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref)
        mine = req.user == ds.owner
        return ok(
            {
                "canViewUnpublishedDataset": mine,
                "canEditDataset": mine,
                "canPublishDataset": mine,
                "canManageDatasetPermissions": False,
                "canDeleteDatasetDraft": mine,
            }
        )

    def timestamps(self, req: Request, ref: str) -> Response:
        ds = self._dataset(req, ref)
        stale = any(t > time.monotonic() for t, _ in ds.index)
        return ok({"createTime": views._iso(ds.created), "hasStaleIndex": stale})

    def search(self, req: Request) -> Response:
        return search(self.store, req)
