"""The one base class of every error a person reads: a message, what to do, and whether waiting
helps.

Every user-facing error (configuration, token, dataset files, a repository's refusal) derives from
UserError, so the CLI, the status file and the log render them one way. A bottom module.
"""

from __future__ import annotations


class UserError(Exception):
    """An error for a person: ``message`` says what is wrong, ``hint`` what to do about it.

    ``retryable`` is True when trying again later may succeed with nothing changed (a server
    down, a file still being written). ``detail`` is for the log only (a technical cause such as
    an exception class or an HTTP status); it never holds a secret and never reaches a status file.
    """

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        retryable: bool = False,
        detail: str | None = None,
    ) -> None:
        self.message = message
        self.hint = hint
        self.retryable = retryable
        self.detail = detail
        super().__init__(message)

    def __str__(self) -> str:
        return self.message
