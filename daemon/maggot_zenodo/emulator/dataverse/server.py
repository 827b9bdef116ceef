"""HTTP plumbing of the Dataverse emulator: threaded server, token check, faults, counters,
and the test-only ``/_emulator/`` endpoints (``state``, ``faults``, ``reset``)."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from maggot_zenodo.emulator.dataverse.api import Api
from maggot_zenodo.emulator.dataverse.faults import FaultInjector, parse_spec
from maggot_zenodo.emulator.dataverse.messages import Request, Response
from maggot_zenodo.emulator.dataverse.state import snapshot
from maggot_zenodo.emulator.dataverse.store import DvError
from maggot_zenodo.emulator.httpio import BodyReader, BodyTooLarge, DropConnection, IncompleteBody
from maggot_zenodo.emulator.ratelimit import RateLimiter

_GATEWAY = "<html><head><title>{code} {reason}</title></head><body><h1>{reason}</h1></body></html>"
_REASONS = {502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Time-out"}


def user_id(token: str) -> int:
    """A stable user id derived from a token (never the token itself)."""
    return int.from_bytes(hashlib.sha256(token.encode()).digest()[:4], "big") % 900_000 + 100


class Counters:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        self.total = self.writes = self.key_in_query = 0
        self.by_status: Counter[str] = Counter()
        self.by_method: Counter[str] = Counter()
        self.by_route: Counter[str] = Counter()

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "total": self.total,
                "writes": self.writes,
                "by_status": dict(self.by_status),
                "by_method": dict(self.by_method),
                "by_route": dict(self.by_route),
                "key_in_query": self.key_in_query,
            }


class DataverseServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], api: Api, tokens: frozenset[str], faults: FaultInjector
    ) -> None:
        super().__init__(address, Handler)
        self.api, self.tokens, self.faults = api, tokens, faults
        self.counters = Counters()
        self.quiet = True
        #: None: no limit (Dataverse's default); else N requests a minute per user, over it a
        #: 429 without any Retry-After or X-RateLimit-* header, as Dataverse answers
        self.limiter: RateLimiter | None = None

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def state(self) -> dict[str, Any]:
        return snapshot(self)

    def reset(self) -> None:
        self.api.store.clear()
        with self.counters.lock:
            self.counters.clear()
        self.faults.clear()
        if self.limiter is not None:
            self.limiter.clear()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not self.quiet and not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


def _route_name(method: str, path: str) -> str:
    parts = [p if not p.isdigit() else "{id}" for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DataverseEmulator/1.0"
    sys_version = ""
    timeout = 120
    server: DataverseServer

    def log_message(self, format: str, *args: Any) -> None:
        return  # never logs: a request line could hold a ?key=

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        params = parse_qs(split.query, keep_blank_values=True)
        try:
            body = BodyReader(self.rfile, self.headers)  # type: ignore[arg-type]  # a binary stream
        except ValueError:
            self.close_connection = True
            self._send(Response(400, {"status": "ERROR", "message": "Bad Content-Length"}), None)
            return
        try:
            if split.path.startswith("/_emulator/"):
                self._send(self._control(split.path, body), body)
            elif split.path.startswith("/api/"):
                self._serve_api(split.path, params, body)
            else:
                self._send(Response(404, {"status": "ERROR", "message": "Not found."}), body)
        except DropConnection:
            self._drop()
        except (IncompleteBody, ConnectionError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch

    def _user(self, params: dict[str, list[str]]) -> tuple[int | None, bool]:
        """(user id or None for a guest, whether the key was bad)."""
        token = (self.headers.get("X-Dataverse-key") or "").strip()
        if params.get("key"):
            with self.server.counters.lock:
                self.server.counters.key_in_query += 1
            token = token or params["key"][-1]
        if not token:
            return None, False
        if self.server.tokens and token not in self.server.tokens:
            return None, True
        return user_id(token), False

    def _serve_api(self, path: str, params: dict[str, list[str]], body: BodyReader) -> None:
        srv = self.server
        with srv.counters.lock:
            srv.counters.total += 1
            srv.counters.by_method[self.command] += 1
            srv.counters.by_route[_route_name(self.command, path)] += 1
            srv.counters.writes += self.command != "GET"
        kind = srv.faults.decide(self.command, path)
        if kind == "reset":
            raise DropConnection
        if kind in ("500", "502", "503", "504"):
            self._send(_fault(int(kind)), body)
            return
        if kind == "429":
            message = "Command failed: Rate limited due to too many requests."
            self._send(Response(429, {"status": "ERROR", "message": message}), body)
            return
        if kind == "slow":
            time.sleep(srv.faults.spec.delay)
        user, bad_key = self._user(params)
        who = f"user:{user}" if user is not None else f"ip:{self.client_address[0]}"
        if srv.limiter is not None and not srv.limiter.hit(who).allowed:
            message = "Command failed: Rate limited due to too many requests."
            self._send(Response(429, {"status": "ERROR", "message": message}), body)
            return
        if bad_key:
            self._send(Response(401, {"status": "ERROR", "message": "Bad API key"}), body)
            return
        behaviours = frozenset({kind}) if kind else frozenset()
        req = Request(
            self.command, path, params, self.headers, body, user, srv.base_url, behaviours
        )
        try:
            resp = srv.api.handle(req)
        except DvError as exc:
            resp = Response(exc.status, {"status": "ERROR", "message": exc.message})
        except (DropConnection, IncompleteBody, ConnectionError, TimeoutError):
            raise
        except Exception:
            if not srv.quiet:
                traceback.print_exc(file=sys.stderr)
            resp = _fault(500)
        if kind == "after_commit":
            resp = _fault(502)
        self._send(resp, body)

    def _control(self, path: str, body: BodyReader) -> Response:
        srv, method = self.server, self.command
        if path == "/_emulator/state" and method == "GET":
            return Response(200, srv.state())
        if path == "/_emulator/reset" and method == "POST":
            srv.reset()
            return Response(204)
        if path == "/_emulator/faults" and method == "GET":
            return Response(200, srv.faults.spec.as_dict())
        if path == "/_emulator/faults" and method in ("PUT", "POST"):
            try:
                raw = json.loads(body.read_all(1_000_000) or b"null")
                spec = parse_spec(raw or {"rate": 0})
            except (BodyTooLarge, ValueError, TypeError) as exc:
                return Response(400, {"status": "ERROR", "message": str(exc)})
            srv.faults.configure(spec)
            return Response(200, spec.as_dict())
        return Response(404, {"status": "ERROR", "message": "Unknown emulator control endpoint."})

    def _send(self, resp: Response, body: BodyReader | None) -> None:
        if body is not None and not body.done and not body.drain(64 * 1024 * 1024):
            self.close_connection = True
        if resp.file is not None:
            data = resp.file.read_bytes() if resp.file.exists() else b""
        elif resp.payload is not None:
            data = json.dumps(resp.payload).encode()
        else:
            data = resp.body
        self.send_response(resp.status)
        if data:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in resp.headers.items():
            self.send_header(name, value)
        self.end_headers()
        with self.server.counters.lock:
            if self.path.startswith("/api/"):
                self.server.counters.by_status[str(resp.status)] += 1
        if self.command != "HEAD":
            self.wfile.write(data)

    def _drop(self) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()


def _fault(code: int) -> Response:
    if code in _REASONS:
        html = _GATEWAY.format(code=code, reason=_REASONS[code]).encode()
        return Response(code, body=html, content_type="text/html")
    payload = {
        "status": "ERROR",
        "code": 500,
        "message": "Internal server error. More details available at the server logs.",
        "incidentId": uuid.uuid4().hex,
    }
    return Response(code, payload)
