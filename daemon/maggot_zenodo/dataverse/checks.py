"""``validate --online`` for Dataverse: the token, the collection, the right to add datasets."""

from __future__ import annotations

from dataclasses import dataclass

from maggot_zenodo.dataverse.client import DataverseClient
from maggot_zenodo.dataverse.errors import DataverseError, NotFound


@dataclass(frozen=True)
class OnlineCheck:
    """What the server said: its version, the account, and every problem (empty: usable)."""

    version: str | None
    account: str | None
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def check_online(client: DataverseClient, collection: str) -> OnlineCheck:
    """Ask the server; each problem is one sentence with its fix (never the token)."""
    problems: list[str] = []
    version = account = None
    try:
        version = client.server_version()
        account = client.me()
    except DataverseError as exc:
        text = f"{exc.message}. Fix: {exc.hint}" if exc.hint else exc.message
        return OnlineCheck(version, None, (text,))
    try:
        info = client.collection(collection)
    except NotFound:
        problems.append(
            f"dataverse.collection: no collection '{collection}' on {client.base_url}"
            ". Fix: give the alias shown in the collection's address (…/dataverse/"
            "<alias>)"
        )
        return OnlineCheck(version, account, tuple(problems))
    except DataverseError as exc:
        return OnlineCheck(version, account, (exc.message,))
    if not info.get("isReleased", True):
        problems.append(
            f"dataverse.collection: '{collection}' is not published, so its "
            "datasets cannot be. Fix: ask its administrators to publish it"
        )
    try:
        rights = client.collection_permissions(collection)
    except NotFound:  # before 6.4 this endpoint does not exist: the first create will tell
        return OnlineCheck(version, account, tuple(problems))
    except DataverseError as exc:
        return OnlineCheck(version, account, (*problems, exc.message))
    if not rights.get("canAddDataset"):
        problems.append(
            f"the account {account} may not add datasets to '{collection}'. Fix: "
            "ask the collection's administrators for the Contributor role"
        )
    return OnlineCheck(version, account, tuple(problems))
