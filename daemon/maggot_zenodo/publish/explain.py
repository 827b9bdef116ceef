"""One place that turns what went wrong into words for a researcher and a sysadmin.

Every error a dataset can end with is a :class:`Failure`, a
:class:`~maggot_zenodo.errors.UserError`.
The Zenodo client's errors are translated here (:func:`explain_http`), and so are the problem
lists of reading, converting and vetting a dataset (:func:`problems_failure`).
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from pathlib import Path

from maggot_zenodo.constants import STATUS_FILE
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


#: A passing fault of Zenodo's that lasted: nothing in the dataset is wrong.
TRANSIENT_HINT = (
    "Nothing to change in the dataset: it is tried again automatically; if it lasts for "
    "days, tell the site administrator."
)


def transient_failure(message: str) -> Failure:
    """Zenodo's own passing fault, said as it is (never "shrink the files", "fix the
    metadata" or "the token is invalid"), and retried."""
    text = message.rstrip(". ")
    return Failure(f"{text}; it is tried again automatically.", TRANSIENT_HINT, retryable=True)


def _refusal_words(exc: zenodo.TransientRefusal, message: str) -> str:
    """The client words uploads and file deletions; a lasting 403 elsewhere is said here."""
    if exc.kind == "forbidden" and exc.key is None:
        return (
            f"Zenodo kept refusing a request on the deposition (403, tried {exc.attempts} "
            "times) although the token works and the deposition is this account's; this "
            "happens on Zenodo's side, mostly with fresh new-version drafts"
        )
    return message


def explain_http(exc: zenodo.ZenodoError) -> Failure:
    """A Zenodo error in a researcher's and a sysadmin's words."""
    message = scrub(str(exc.message or exc))
    if isinstance(exc, zenodo.TransientRefusal):
        return transient_failure(_refusal_words(exc, message))
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


#: The status file shows at most this many problems, then how many more there are.
MAX_SHOWN = 20


def bounded(lines: Sequence[str], limit: int = MAX_SHOWN) -> list[str]:
    """The first ``limit`` lines, then one saying how many were left out."""
    if len(lines) <= limit:
        return list(lines)
    return [*lines[:limit], f"… and {len(lines) - limit} more problems of the same kind."]


def warning_text(p: Problem) -> str:
    """A conversion warning in plain words, with what to do about it."""
    text = f"{p.field}: {p.message}" if p.field else p.message
    return f"{text} Hint: {p.hint}" if p.hint else text


def problems_failure(what: str, problems: Sequence[Problem], *, retryable: bool = False) -> Failure:
    """A list of problems (errors first) as one Failure: the first 20 messages, the hints once."""
    errors = [p for p in problems if p.is_error] or list(problems)
    text = "; ".join(bounded([f"{p.field}: {p.message}" if p.field else p.message for p in errors]))
    hints = [p.hint for p in errors[:MAX_SHOWN] if p.hint]
    hint = " ".join(dict.fromkeys(hints)) or "Correct it in Maggot, then touch the semaphore file."
    return Failure(f"{what}: {text}", hint, retryable=retryable)


def write_hint(exc: OSError, where: Path) -> str:
    """The fix for a folder the service cannot write into: a read-only mount is not a
    permission problem, and the two fixes differ."""
    if exc.errno == errno.EROFS:
        return (
            f"{where} is on a file system mounted read-only for the service: add "
            f"'ReadWritePaths={where}' to the unit's drop-in "
            "(systemctl edit maggot-zenodo), then restart it"
        )
    return (
        f"the service user needs write access to {where}: make the dataset folders "
        "group-writable for the service's group, with the setgid bit (chmod g+ws) so new "
        "files keep that group"
    )


def unwritable_failure(exc: OSError, folder: Path, semaphore: str) -> Failure:
    """The dataset folder refuses our status file: the sysadmin's to fix, said plainly.

    Permission problems (EACCES, EPERM, EROFS) are not retried: nothing changes until
    someone fixes the folder, and retrying would only fill the log. Anything else (disk
    full, quota, I/O error) may pass, so it is retried. A folder in the status file's place
    is the researcher's to move."""
    if exc.errno == errno.EISDIR:
        return Failure(
            f"There is a folder named {STATUS_FILE} in this dataset folder, where "
            "maggot-zenodo writes its status file; nothing was sent to Zenodo.",
            f"Move or remove the folder {STATUS_FILE} (it must be a file), then touch "
            f"{semaphore} again.",
            detail=f"{folder / STATUS_FILE} is a directory",
        )
    permanent = exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
    detail = f"cannot write {STATUS_FILE} in {folder} ({exc.strerror or exc}): " + write_hint(
        exc, folder
    )
    # The status file cannot carry these words (that is the failure): the journal does, so
    # `status` tells a read-only mount from a permission problem, each with its own fix.
    why = f" ({exc.strerror})" if exc.strerror else ""
    return Failure(
        f"maggot-zenodo cannot write into this dataset folder{why}, so it was not sent to Zenodo.",
        "Ask the site administrator to give the maggot-zenodo service write access to the "
        f"folder ({write_hint(exc, folder)}), then touch {semaphore} again."
        if permanent
        else "It will be tried again; if it persists, tell the site administrator.",
        retryable=not permanent,
        detail=detail,
    )


def internal_failure(exc: Exception, count: int, limit: int, semaphore: str) -> Failure:
    """The ``count``-th internal error (a bug) in a row: retried until ``limit``."""
    name = type(exc).__name__
    if count < limit:
        return Failure(
            f"An internal error stopped the publication ({name}).",
            "It will be tried again; if it persists, tell the site administrator.",
            retryable=True,
        )
    return Failure(
        f"An internal error stopped the publication ({name}), {count} times in a row; "
        "it is not tried again automatically.",
        "Tell the site administrator (the details are in the service's log); touch the "
        f"{semaphore} file to try again.",
        detail=f"{name}: {scrub(str(exc))}",
    )


BUSY = Failure(
    "Another maggot-zenodo process is publishing this dataset right now.",
    "Nothing to do: it will be tried again.",
    retryable=True,
)


def lock_failure(exc: OSError, locks: Path) -> Failure:
    """The per-dataset lock cannot be taken: the state folder is the sysadmin's to fix."""
    return Failure(
        "maggot-zenodo cannot work on this dataset: its state folder is unusable.",
        "Tell the site administrator; it will be tried again automatically.",
        retryable=True,
        detail=f"cannot lock the dataset in {locks} ({exc.strerror or exc}): the service user "
        "needs write access to the state folder's locks/ directory",
    )


def vanished_failure(rel: str) -> Failure:
    """The dataset folder went away mid-run (moved, renamed or deleted): nothing to retry."""
    return Failure(
        f"The dataset folder {rel} disappeared while it was being published.",
        "If it was moved or renamed, it is published at its new place, under the same "
        "deposition; nothing to do.",
    )
