"""Errors of the Dataverse client, each a :class:`~maggot_zenodo.errors.UserError`.

Dataverse's status codes are not the usual ones (a missing permission is 401, a business rule
403, a licence problem 409): the classes below follow what the server means, and their hints
say what a person can do. Messages are scrubbed of every registered secret and raised without
chaining the requests exception (which holds the request headers).
"""

from __future__ import annotations

from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import scrub


class DataverseError(UserError):
    """Anything that went wrong talking to Dataverse; ``str()`` never holds the token."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        status: int | None = None,
        server_message: str = "",
        retryable: bool = False,
        maybe_committed: bool = False,
    ) -> None:
        super().__init__(
            scrub(message),
            scrub(hint),
            retryable=retryable,
            detail=f"HTTP {status}" if status else None,
        )
        self.status = status
        self.server_message = scrub(server_message)
        self.maybe_committed = maybe_committed


class BadApiKey(DataverseError):
    """401 ``Bad API key``: the token is wrong, expired or revoked."""


class NotPermitted(DataverseError):
    """401 ``... is not permitted to perform requested action`` (or 403 on /add)."""


class Refused(DataverseError):
    """403 or 409: a business rule (validation, lock, licence, version rule)."""


class BadRequest(DataverseError):
    """400: the request itself is wrong (JSON structure, vocabulary, licence name)."""


class NotFound(DataverseError):
    """404: no such dataset, file, collection or version."""


class DataverseUnavailable(DataverseError):
    """Retries exhausted on connection errors, timeouts, 429 or 5xx."""


class ChecksumMismatch(DataverseError):
    """Dataverse's checksum of an upload differs from the bytes sent."""


class LockTimeout(DataverseError):
    """A dataset stayed locked longer than the bounded wait."""


_HINTS = {
    "key": "check dataverse.token: Dataverse tokens expire (one year by default); create a new "
    "one on the Dataverse site (your account → API Token) and put it where the token is read",
    "perm": "ask the collection's administrators for the right to add and edit datasets "
    "(role Contributor or Curator on the collection)",
    "license": "choose a licence the Dataverse site offers (see its /api/licenses) in the Maggot "
    "record",
    "lock": "wait: Dataverse is still processing the dataset; it is retried later",
    "validation": "correct the Maggot record (the field named above) and touch the semaphore again",
}


def from_answer(status: int, server_message: str, what: str) -> DataverseError:
    """The error a Dataverse error answer means."""
    text = server_message or f"HTTP {status}"
    message = f"Dataverse refused to {what}: {text}"
    if status == 401 and "Bad API key" in text:
        return BadApiKey(
            f"Dataverse does not accept the token ({text})",
            _HINTS["key"],
            status=status,
            server_message=text,
        )
    if status == 401 or (status == 403 and "permission" in text.lower()):
        return NotPermitted(message, _HINTS["perm"], status=status, server_message=text)
    if status == 409:
        return Refused(message, _HINTS["license"], status=status, server_message=text)
    if status == 403:
        locked = "lock" in text.lower()
        return Refused(
            message,
            _HINTS["lock" if locked else "validation"],
            status=status,
            server_message=text,
            retryable=locked,
        )
    if status == 404:
        return NotFound(message, status=status, server_message=text)
    if status == 400 and text.startswith("Failed to add file to dataset"):
        # Dataverse's catch-all for a lock, a save failure or a rate limit on /add
        return BadRequest(
            message, _HINTS["lock"], status=status, server_message=text, retryable=True
        )
    return BadRequest(message, _HINTS["validation"], status=status, server_message=text)
