"""Is this a request the workflow may act on? Checked before any token is read or row made.

A semaphore proves that its creator may write to the dataset; these checks refuse what would
let someone borrow another person's proof (a symlink, a hard link to someone else's file, a
semaphore whose owner does not own the metadata) or aim at something that is no dataset.
"""

from __future__ import annotations

import os
import pwd
import stat as stat_module
from pathlib import Path

from maggot_zenodo.config import Config
from maggot_zenodo.constants import METADATA_PREFIX, METADATA_SUFFIX, STATUS_FILE
from maggot_zenodo.publish.explain import Failure


class Refused(Failure):
    """A request refused as it stands: recorded as handled until the semaphore changes."""


def _user(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def check_folder(config: Config, folder: Path) -> None:
    """The folder must be a dataset folder inside the storage, not the storage root."""
    root = config.storage.root
    if os.path.realpath(folder) == os.path.realpath(root):
        raise Failure(
            f"{folder} is the storage root (storage.root), not a dataset folder.",
            f"Give the folder of one dataset, e.g. maggot-zenodo publish {root}/<dataset>.",
        )
    if not folder.is_dir():
        raise Failure(f"The dataset folder {folder} does not exist.", "")


def _metadata_files(folder: Path) -> list[Path]:
    with os.scandir(folder) as entries:
        return [
            folder / e.name
            for e in entries
            if e.name.startswith(METADATA_PREFIX)
            and e.name.endswith(METADATA_SUFFIX)
            and e.name != STATUS_FILE
        ]


def check_semaphore(config: Config, semaphore: Path) -> None:
    """Refuse a symlinked semaphore; with ``tokens.owners_dir`` (the owner picks the Zenodo
    account) also one with several hard links, or whose owner does not own the metadata."""
    name = semaphore.name
    if semaphore.is_symlink():
        raise Refused(
            f"The semaphore file {name} is a symbolic link; it is refused.",
            f"Replace it with a regular file: rm it, then touch {name}.",
        )
    if config.tokens.owners_dir is None:
        return
    try:
        st = os.lstat(semaphore)
    except FileNotFoundError:
        return  # no semaphore: the metadata alone goes, with the site's token
    if not stat_module.S_ISREG(st.st_mode):
        return
    if st.st_nlink > 1:
        raise Refused(
            f"The semaphore file {name} has {st.st_nlink} hard links; it is refused "
            "(a link to someone else's file proves nothing).",
            f"Remove it and create it again yourself: rm {name}; touch {name}.",
        )
    for meta in _metadata_files(semaphore.parent):
        owner = os.lstat(meta).st_uid
        if owner != st.st_uid:
            raise Refused(
                f"The semaphore file {name} belongs to {_user(st.st_uid)}, but the metadata "
                f"file {meta.name} belongs to {_user(owner)}; it is refused.",
                f"The owner of {meta.name} must create the semaphore: rm {name}, then "
                f"{_user(owner)} runs touch {name}.",
            )
