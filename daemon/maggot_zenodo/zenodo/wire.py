"""The shapes the transport deals in: a call, its answer and the token header. What a
failure without an answer means is in :mod:`maggot_zenodo.httpfailure`."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from maggot_zenodo.tokens import header_token


class BearerAuth(requests.auth.AuthBase):
    """Adds the token header; also stops requests from consulting ~/.netrc."""

    def __init__(self, token: str) -> None:
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:
        return "_BearerAuth(***)"


def clean_token(token: str) -> str:
    """The Zenodo token as it goes into the header (see :func:`tokens.header_token`)."""
    return header_token(token, "Zenodo")


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, its body read whole (and capped)."""

    status: int
    reason: str
    headers: Mapping[str, str]
    body: bytes = field(repr=False)

    def json(self) -> Any:
        """The decoded JSON body; ValueError when it is not JSON."""
        return json.loads(self.body)

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except ValueError:
            return None


# A recogniser of refusals that are Zenodo's passing faults: the fault's kind, or None.
Refusal = Callable[[Answer], "str | None"]


@dataclass(frozen=True)
class Call:
    """One logical request, however many times it is sent."""

    method: str
    url: str
    expect: tuple[int, ...]
    json_body: Any = None
    params: Mapping[str, Any] | None = None
    body_factory: Callable[[], Any] | None = None
    headers: Mapping[str, str] | None = None
    resend_when_ambiguous: bool = True
    session: requests.Session | None = None
    deadline: float | None = None  # seconds per attempt; None: the transport's default
    refusal: Refusal | None = None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path
