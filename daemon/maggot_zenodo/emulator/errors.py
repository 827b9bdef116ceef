"""The one exception every layer of the emulator raises for an answer other than success."""

from __future__ import annotations

from typing import Any

NOT_FOUND = "The persistent identifier does not exist."
DELETED = "The record has been deleted."
DENIED = "Permission denied."
INVALID = "A validation error occurred."
NO_BUCKET = "Not found."
NO_FILE = "The requested file does not exist."


class ApiError(Exception):
    """Status, message and optional validation errors (``[{"field", "messages"}]``)."""

    def __init__(
        self, status: int, message: str, errors: list[dict[str, Any]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.errors = status, message, errors
