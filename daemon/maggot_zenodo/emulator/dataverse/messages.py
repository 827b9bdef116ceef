"""What the routes take and give: a request, an answer, and the emulator's timings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maggot_zenodo.emulator.httpio import BodyReader


@dataclass(frozen=True)
class Timing:
    """Seconds: how long the asynchronous parts take (short by default, long under faults)."""

    index_lag: float = 0.2
    lagging_index: float = 2.0
    finalize: float = 0.05
    async_publish: float = 1.0
    ingest: float = 0.2
    lingering_lock: float = 1.5


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, list[str]]
    headers: Any
    body: BodyReader
    user: int | None
    base_url: str
    behaviours: frozenset[str] = frozenset()

    def param(self, name: str) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else None


@dataclass
class Response:
    status: int
    payload: Any = None
    body: bytes = b""
    content_type: str = "application/json"
    file: Path | None = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(data: Any, status: int = 200, **extra: Any) -> Response:
    return Response(status, {"status": "OK", "data": data, **extra})
