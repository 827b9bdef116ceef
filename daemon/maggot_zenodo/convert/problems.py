"""Problems found while reading or converting a dataset, in words a researcher understands.

One shape for every stage (reading, schema, crosswalk, Zenodo rules) so that ``check``,
the daemon's log and the write-back file can all show the same list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from maggot_zenodo.errors import UserError

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """What is wrong (``message``) with which field, and what to do about it (``hint``)."""

    field: str
    message: str
    hint: str = ""
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        head = f"{self.field}: {self.message}" if self.field else self.message
        prefix = "warning: " if self.severity == WARNING else ""
        return f"{prefix}{head}" + (f" (hint: {self.hint})" if self.hint else "")


def warning(field: str, message: str, hint: str = "") -> Problem:
    return Problem(field, message, hint, WARNING)


def errors_in(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.is_error]


class DatasetError(UserError):
    """A dataset that cannot be read or converted; ``str()`` lists every problem, one per line."""

    def __init__(self, problems: Iterable[Problem] | Problem) -> None:
        items = (problems,) if isinstance(problems, Problem) else tuple(problems)
        self.problems: tuple[Problem, ...] = items
        super().__init__("\n".join(str(p) for p in items))
