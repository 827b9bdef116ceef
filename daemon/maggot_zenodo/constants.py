"""Names and numbers that several packages must agree on, in one place.

A bottom module: it imports nothing of the package.
"""

from __future__ import annotations

from typing import Final

#: The semaphore Maggot's own publishers use: creating it proves write access to the dataset.
DEFAULT_SEMAPHORE: Final = "META_datafile_ok.txt"
#: The write-back file for Zenodo. Named `.txt` because Maggot indexes every `META_*.json`.
STATUS_FILE: Final = "META_zenodo.txt"
#: The write-back file for Dataverse (same shape as STATUS_FILE).
DATAVERSE_STATUS_FILE: Final = "META_dataverse.txt"
#: Either write-back: a folder holding one was handled by this tool (a journal since lost).
STATUS_FILES: Final = (STATUS_FILE, DATAVERSE_STATUS_FILE)

#: Maggot metadata files are `META_<name>.json`.
METADATA_PREFIX: Final = "META_"
METADATA_SUFFIX: Final = ".json"
#: Suffix of the temporary files this tool writes before an atomic rename.
TEMP_SUFFIX: Final = ".tmp"

DEFAULT_CONFIG_PATH: Final = "/etc/maggot-zenodo/config.yaml"
CONFIG_ENV: Final = "MAGGOT_ZENODO_CONFIG"

# Exit statuses of every command (DESIGN.md: bad usage and bad config exit 2).
EXIT_OK: Final = 0
#: The work failed (a dataset failed, another instance holds the lock, ...).
EXIT_FAILED: Final = 1
#: Bad usage, a bad configuration, an unusable environment (token, state, storage root).
EXIT_USAGE: Final = 2
