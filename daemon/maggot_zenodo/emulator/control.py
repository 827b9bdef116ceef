"""The emulator's own endpoints, outside Zenodo's API: test controls and HTML pages.

``/_emulator/...`` (never faulted, not counted, no rate limit): ``state``, ``reset``,
``faults``, ``communities`` (``PUT {"<slug>": {"curators": "all" | ["<token>", ...]}}``,
``GET``, ``POST communities/<slug>/accept|decline``) and ``records/<id>/remove`` (Zenodo's
staff remove a published record: 410 from then on). ``/deposit/<id>``, ``/records/<id>``,
``/record/<id>`` and ``/records/<id>/latest``: the read-only HTML page and its redirects.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from typing import TYPE_CHECKING

from maggot_zenodo.emulator import pages
from maggot_zenodo.emulator.api import Response
from maggot_zenodo.emulator.errors import ApiError
from maggot_zenodo.emulator.faults import FaultSpecError, parse_spec
from maggot_zenodo.emulator.httpio import BodyReader, BodyTooLarge

if TYPE_CHECKING:
    from maggot_zenodo.emulator.server import EmulatorServer

PAGE = re.compile(r"/(deposit|records|record)/(\d+)(/latest)?/?")
_COMMUNITY_DECISION = re.compile(r"/_emulator/communities/([^/]+)/(accept|decline)")
_REMOVE_RECORD = re.compile(r"/_emulator/records/(\d+)/remove")


def control(srv: EmulatorServer, method: str, path: str, body: BodyReader) -> Response:
    """The ``/_emulator/`` endpoints: state, reset, faults, communities, record removal."""
    if path == "/_emulator/state" and method == "GET":
        return Response(200, srv.state())
    if path == "/_emulator/reset" and method == "POST":
        srv.reset()
        return Response(204)
    if path == "/_emulator/faults" and method == "GET":
        return Response(200, asdict(srv.faults.spec))
    if path == "/_emulator/faults" and method in ("PUT", "POST"):
        try:
            raw = json.loads(body.read_all(1_000_000) or b"null")
            spec = parse_spec(raw if raw else {"rate": 0})
        except BodyTooLarge:
            return Response(413, {"status": 413, "message": "Request entity too large."})
        except (ValueError, TypeError, FaultSpecError) as exc:
            return Response(400, {"status": 400, "message": str(exc)})
        srv.faults.configure(spec)
        return Response(200, asdict(spec))
    if path.startswith("/_emulator/communities") or path.startswith("/_emulator/records/"):
        return _records(srv, method, path, body)
    return Response(404, {"status": 404, "message": "Unknown emulator control endpoint."})


def _records(srv: EmulatorServer, method: str, path: str, body: BodyReader) -> Response:
    """Communities (``PUT {"<slug>": {"curators": "all" | ["<token>", ...]}}``, ``GET``,
    ``POST .../<slug>/accept|decline``) and staff removal of a record."""
    store = srv.store
    if path == "/_emulator/communities" and method == "GET":
        return Response(200, store.communities())
    if path == "/_emulator/communities" and method in ("PUT", "POST"):
        try:
            raw = json.loads(body.read_all(1_000_000) or b"{}")
            for slug, conf in raw.items():
                store.set_community(slug, srv.curators_of(conf["curators"]))
        except (BodyTooLarge, ValueError, TypeError, KeyError, AttributeError) as exc:
            return Response(400, {"status": 400, "message": f"bad communities: {exc!r}"})
        return Response(200, store.communities())
    decision = _COMMUNITY_DECISION.fullmatch(path)
    if decision and method == "POST":
        status = "accepted" if decision.group(2) == "accept" else "declined"
        return Response(200, {"decided": store.decide(decision.group(1), status)})
    removal = _REMOVE_RECORD.fullmatch(path)
    if removal and method == "POST":
        try:
            store.remove_record(int(removal.group(1)))
        except ApiError as exc:
            return Response(exc.status, {"status": exc.status, "message": exc.message})
        return Response(204)
    return Response(404, {"status": 404, "message": "Unknown emulator control endpoint."})


def page(srv: EmulatorServer, path: str) -> Response:
    """``/deposit/<id>`` and ``/records/<id>``: the HTML page; ``/record/<id>`` and
    ``/records/<id>/latest``: redirects, as Zenodo's are."""
    m = PAGE.fullmatch(path)
    assert m is not None
    kind, dep_id, latest = m.group(1), int(m.group(2)), m.group(3)
    store = srv.store
    dep = store.peek(dep_id)
    if dep is None:
        return Response(404, body=b"<h1>Not found</h1>\n", content_type="text/html")
    if kind == "record":
        return Response(302, headers={"Location": f"/records/{dep_id}"})
    if latest:
        newest = store.latest_published(dep["conceptrecid"]) or dep_id
        return Response(302, headers={"Location": f"/records/{newest}"})
    html = pages.deposition_page(dep).encode()
    return Response(200, body=html, content_type="text/html; charset=utf-8")
