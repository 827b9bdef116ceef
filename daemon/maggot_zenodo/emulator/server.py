"""HTTP plumbing of the emulator: threaded server, keep-alive, faults, rate limits, counters.

Every ``/api/`` request is counted, may be hit by an injected fault, is charged to its token's
rate-limit window, then handed to :class:`~maggot_zenodo.emulator.api.Api`. The test-only
control endpoints under ``/_emulator/`` bypass all of that.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from collections import Counter
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from maggot_zenodo.emulator import views
from maggot_zenodo.emulator.api import Api, Request, Response
from maggot_zenodo.emulator.faults import (
    FaultInjector,
    FaultSpec,
    FaultSpecError,
    Target,
    parse_spec,
)
from maggot_zenodo.emulator.httpio import (
    CHUNK,
    BodyReader,
    BodyTooLarge,
    DropConnection,
    IncompleteBody,
)
from maggot_zenodo.emulator.ratelimit import RateLimiter
from maggot_zenodo.emulator.store import ApiError, Store

DRAIN_LIMIT = 64 * 1024 * 1024
_BUCKET_OBJECT = re.compile(r"/api/files/[^/]+/[^/]+")
_DEP_PATH = re.compile(r"/api/(?:deposit/depositions|records)/(\d+)(/.*)?")
_BUCKET_PATH = re.compile(r"/api/files/([^/]+)(/[^/]+)?/?")
_DEP_FILE = re.compile(r"/files/[^/]+/?")
# Answers of the fault kinds that mimic Zenodo's transient 4xx (and one 500); never applied.
_TRANSIENT = {
    "transfer_failed": (400, "The file upload transfer failed, please try again."),
    "spurious_quota": (400, "Bucket quota exceeded."),
    "newversion_403": (403, "Permission denied."),
}
_GATEWAY_HTML = (
    "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{code} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_REASONS = {
    413: "Request Entity Too Large",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def owner_id(token: str) -> int:
    """A stable user id derived from a token (never the token itself)."""
    return int.from_bytes(hashlib.sha256(token.encode()).digest()[:4], "big") % 9_000_000 + 1000


class Counters:
    """Request counts for ``/_emulator/state``: /api/ requests only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        with getattr(self, "_lock", threading.Lock()):
            self.total, self.writes = 0, 0
            self.by_status: Counter[str] = Counter()
            self.by_method: Counter[str] = Counter()

    def request(self, method: str) -> None:
        with self._lock:
            self.total += 1
            self.by_method[method] += 1
            if method not in ("GET", "HEAD"):
                self.writes += 1

    def status(self, code: int) -> None:
        with self._lock:
            self.by_status[str(code)] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "by_status": dict(self.by_status),
                "by_method": dict(self.by_method),
                "writes": self.writes,
            }


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(
        self,
        address: tuple[str, int],
        store: Store,
        *,
        tokens: frozenset[str] = frozenset(),
        rate_limit: int = 1000,
        faults: FaultSpec | None = None,
        quiet: bool = True,
    ) -> None:
        super().__init__(address, Handler)
        self.store = store
        self.api = Api(store)
        self.tokens = tokens
        self.limiter = RateLimiter(rate_limit)
        self.faults = FaultInjector(faults or FaultSpec())
        self.counters = Counters()
        self.quiet = quiet
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        if ":" in str(host):
            host = f"[{host}]"
        return f"http://{host}:{port}"

    def owner_of(self, token: str | None) -> int | None:
        if not token or (self.tokens and token not in self.tokens):
            return None
        return owner_id(token)

    def state(self) -> dict[str, Any]:
        deps = self.store.all()
        injected = self.faults.counts()
        return {
            "depositions": [views.summary(d) for d in deps if not d["deleted"]],
            "deleted": [d["id"] for d in deps if d["deleted"]],
            "requests": self.counters.snapshot(),
            "faults": {
                "injected": injected,
                "total": sum(injected.values()),
                "spec": asdict(self.faults.spec),
            },
        }

    def reset(self) -> None:
        self.store.clear()
        self.counters.clear()
        self.faults.clear()
        self.limiter.clear()

    def track(self, conn: socket.socket, alive: bool) -> None:
        with self._conns_lock:
            (self._conns.add if alive else self._conns.discard)(conn)

    def close_connections(self) -> None:
        """Cut open keep-alive connections so their threads end (used at stop)."""
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)) or self.quiet:
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ZenodoEmulator/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections end after this many seconds
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        with contextlib.suppress(OSError):  # answers go out at once, not after a delayed ACK
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._token: str | None = None
        self._log_path = "-"
        self._is_api = False
        self._rate_headers: dict[str, str] = {}
        self.server.track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.track(self.connection, False)

    # ----- logging without secrets -------------------------------------------------------
    def _scrub(self, text: str) -> str:
        text = re.sub(r"\?\S*", "?…", text)
        if self._token:
            text = text.replace(self._token, "***")
        return text

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {self.command} {self._log_path} {code}\n")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(self._scrub(f"{self.address_string()} {format % args}") + "\n")

    # ----- dispatch ----------------------------------------------------------------------
    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        params = parse_qs(split.query, keep_blank_values=True)
        self._token = self._read_token(params)
        self._log_path = split.path
        self._is_api, self._rate_headers = False, {}  # per request on a keep-alive connection
        try:
            body = BodyReader(self.rfile, self.headers)
        except ValueError:  # a Content-Length that is not a number: the body cannot be found
            self.close_connection = True
            bad = {"status": 400, "message": "Invalid Content-Length header."}
            self._send(Response(400, bad), BodyReader(io.BytesIO(), {}))
            return
        try:
            if split.path.startswith("/_emulator/"):
                self._send(self._control(split.path, body), body)
            elif split.path == "/api" or split.path.startswith("/api/"):
                self._is_api = True
                self._serve_api(split.path, params, body)
            else:
                self._send(Response(404, {"status": 404, "message": "Not found."}), body)
        except DropConnection:
            self._drop()
        except (IncompleteBody, ConnectionError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _dispatch

    def _read_token(self, params: dict[str, list[str]]) -> str | None:
        auth = self.headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        given = params.get("access_token")
        return given[-1] if given and given[-1] else None

    def _serve_api(self, path: str, params: dict[str, list[str]], body: BodyReader) -> None:
        srv = self.server
        srv.counters.request(self.command)
        fault = srv.faults.decide(self.command, path, self._target(path))
        verdict = srv.limiter.hit(self._token or f"ip:{self.client_address[0]}")
        self._rate_headers = verdict.headers
        kind = fault.kind if fault else None
        if kind == "reset":
            raise DropConnection
        if kind == "reset_mid_upload":
            body.cut_after = max(1, (body.length or 2 * CHUNK) // 2)
        if kind in ("500", "502", "503", "504"):
            self._send(_fault_response(int(kind)), body)
            return
        if kind in _TRANSIENT:
            code, message = _TRANSIENT[kind]
            self._send(Response(code, {"status": code, "message": message}), body)
            return
        if kind == "spurious_413":
            self._send(_fault_response(413), body)
            return
        if kind == "draft_file_delete_500":
            self._send(_fault_response(500), body)
            return
        if kind == "429" or not verdict.allowed:
            message = f"{srv.limiter.limit} per 1 minute"
            self._send(Response(429, {"status": 429, "message": message}), body)
            return
        if kind == "slow":
            time.sleep(fault.delay if fault else 0)
        req = Request(
            self.command, path, params, self.headers, body, srv.owner_of(self._token), srv.base_url
        )
        try:
            resp = srv.api.handle(req)
        except ApiError as exc:
            payload: dict[str, Any] = {"status": exc.status, "message": exc.message}
            if exc.errors is not None:
                payload["errors"] = exc.errors
            resp = Response(exc.status, payload)
        except (DropConnection, IncompleteBody, ConnectionError, TimeoutError):
            raise
        except Exception:
            if not srv.quiet:
                traceback.print_exc(file=sys.stderr)
            resp = _fault_response(500)
        if kind == "after_commit":
            resp = _fault_response(502)
        self._send(resp, body)

    def _target(self, path: str) -> Target:
        """What the request touches: an upload, a new-version draft, a file deletion."""
        upload = self.command == "PUT" and _BUCKET_OBJECT.fullmatch(path) is not None
        store, dep_match = self.server.store, _DEP_PATH.fullmatch(path)
        if dep_match:
            draft = store.is_version_draft(dep_id=int(dep_match.group(1)))
            rest = dep_match.group(2) or ""
            deleting = self.command == "DELETE" and _DEP_FILE.fullmatch(rest) is not None
            return Target(upload=upload, version_draft=draft, file_delete=deleting)
        bucket_match = _BUCKET_PATH.fullmatch(path)
        if bucket_match:
            draft = store.is_version_draft(bucket=bucket_match.group(1))
            deleting = self.command == "DELETE" and bucket_match.group(2) is not None
            return Target(upload=upload, version_draft=draft, file_delete=deleting)
        return Target(upload=upload)

    def _control(self, path: str, body: BodyReader) -> Response:
        srv, method = self.server, self.command
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
        return Response(404, {"status": 404, "message": "Unknown emulator control endpoint."})

    # ----- answers -----------------------------------------------------------------------
    def _send(self, resp: Response, body: BodyReader) -> None:
        if not body.done and not body.drain(DRAIN_LIMIT):
            self.close_connection = True
        if resp.file is not None:
            self._send_file(resp)
            return
        data = resp.body if resp.payload is None else json.dumps(resp.payload).encode()
        self._head(resp, len(data), resp.content_type if data else None, data)

    def _head(
        self, resp: Response, length: int, content_type: str | None, data: bytes = b""
    ) -> None:
        """Status line and headers, sent in one write with a small ``data`` body."""
        self.send_response(resp.status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in {**self._rate_headers, **resp.headers}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        if self._is_api:  # counted before the client can see the answer
            self.server.counters.status(resp.status)
        self.flush_headers()

    def _send_file(self, resp: Response) -> None:
        assert resp.file is not None
        try:
            handle = open(resp.file, "rb")  # noqa: SIM115 (closed below)
        except FileNotFoundError:
            message = "The requested file does not exist."
            missing = Response(404, {"status": 404, "message": message})
            self._send(missing, BodyReader(io.BytesIO(), {}))
            return
        with handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            self._head(resp, size, resp.content_type)
            if self.command != "HEAD":
                shutil.copyfileobj(handle, self.wfile, CHUNK)

    def _drop(self) -> None:
        """Close the connection with a TCP reset, without any answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.rfile, self.wfile = io.BytesIO(), io.BytesIO()  # type: ignore[assignment]


def _fault_response(code: int) -> Response:
    if code in _REASONS:
        html = _GATEWAY_HTML.format(code=code, reason=_REASONS[code]).encode()
        return Response(code, body=html, content_type="text/html")
    error = {"status": code, "message": "Internal server error.", "error_id": uuid.uuid4().hex}
    return Response(code, error)
