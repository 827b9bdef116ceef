"""One place that turns what went wrong into words for a researcher and a sysadmin.

Every error a dataset can end with is a :class:`Failure`, a
:class:`~maggot_zenodo.errors.UserError`.
The Zenodo client's errors are translated here (:func:`explain_http`), and so are the problem
lists of reading, converting and vetting a dataset (:func:`problems_failure`).
"""

from __future__ import annotations

from collections.abc import Sequence

from maggot_zenodo.convert.problems import Problem
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import scrub
from maggot_zenodo.zenodo import errors as zenodo


class Failure(UserError):
    """This dataset cannot go on now; ``retryable`` says whether trying later may help."""

    @property
    def error(self) -> str:
        return self.message


def from_user_error(exc: UserError) -> Failure:
    """Any UserError as this dataset's ending, keeping its words."""
    if isinstance(exc, Failure):
        return exc
    return Failure(exc.message, exc.hint, retryable=exc.retryable, detail=exc.detail)


def _field_details(exc: zenodo.ZenodoError) -> str:
    details = []
    for err in exc.errors or []:
        msgs = err.get("messages") or [err.get("message", "")]
        details.append(f"{err.get('field', '')}: {'; '.join(str(m) for m in msgs)}".strip(": "))
    return (" " + " ".join(details)) if details else ""


_RETRYABLE: dict[type[zenodo.ZenodoError], tuple[str, str]] = {
    zenodo.ZenodoUnavailable: (
        "Zenodo could not be reached or was unavailable ({message}).",
        "Nothing to do: it will be tried again automatically.",
    ),
    zenodo.FileChanged: (
        "A file kept changing while it was being sent to Zenodo.",
        "Wait until the files are complete; it will be tried again automatically.",
    ),
    zenodo.ChecksumMismatch: (
        "A file arrived damaged on Zenodo (checksum mismatch).",
        "Nothing to do: it will be sent again automatically.",
    ),
}

_FINAL: dict[type[zenodo.ZenodoError], tuple[str, str]] = {
    zenodo.PermissionDenied: (
        "Zenodo refused the request (permission denied): the token is invalid, revoked, "
        "or belongs to another account than this deposition.",
        "Ask the site administrator to check the Zenodo token, then touch the semaphore.",
    ),
    zenodo.BadRequest: (
        "Zenodo rejected the dataset: {message}{detail}",
        "Correct the metadata in Maggot, then touch the semaphore file again.",
    ),
    zenodo.TooLarge: (
        "Zenodo refused a file as too large ({message}).",
        "Reduce the files' size (split or compress them), then touch the semaphore again.",
    ),
}


def explain_http(exc: zenodo.ZenodoError) -> Failure:
    """A Zenodo error in a researcher's and a sysadmin's words."""
    message = scrub(str(exc.message or exc))
    words = {"message": message, "detail": _field_details(exc)}
    for table, retryable in ((_RETRYABLE, True), (_FINAL, False)):
        for kind, (error, hint) in table.items():
            if isinstance(exc, kind):
                return Failure(error.format(**words), hint, retryable=retryable)
    return Failure(
        f"Zenodo answered an unexpected error ({exc.status}: {message}).",
        "It will be tried again; if it persists, tell the site administrator.",
        retryable=True,
    )


def problems_failure(what: str, problems: Sequence[Problem], *, retryable: bool = False) -> Failure:
    """A list of problems (errors first) as one Failure: every message, the hints once."""
    errors = [p for p in problems if p.is_error] or list(problems)
    text = "; ".join(f"{p.field}: {p.message}" if p.field else p.message for p in errors)
    hints = [p.hint for p in errors if p.hint]
    hint = " ".join(dict.fromkeys(hints)) or "Correct it in Maggot, then touch the semaphore file."
    return Failure(f"{what}: {text}", hint, retryable=retryable)
