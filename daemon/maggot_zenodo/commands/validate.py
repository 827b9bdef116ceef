"""``maggot-zenodo validate [--online | --config-only]``: is the configuration right, and is
the machine ready?

The configuration was already checked when it was loaded (a bad one exits 2 before this).
Then the environment (:func:`~maggot_zenodo.publish.environment.check_environment`): every
finding on one line; any error exits 2. ``--online`` also asks Zenodo whether it answers and
accepts the token, and prints the rate limit it announces. The token is never printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from maggot_zenodo import tokens
from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.publish.environment import Finding, check_environment


def storage_fstype(root: Path) -> str | None:
    """The file system type of the storage root, when /proc tells."""
    from maggot_zenodo.watch.fstype import MOUNTINFO, fs_type_for

    try:
        return fs_type_for(str(root.resolve()), MOUNTINFO.read_text())
    except OSError:
        return None


def check_online(config: Config, out: TextIO) -> Finding | None:
    """One listing request with the site token (in its header only); prints the rate limit
    the answer announces. A plain request on purpose: no retries, one answer to judge."""
    import requests

    if config.zenodo.token is None:
        print(f"online: {config.zenodo.url}: no site token to try (tokens.owners_dir)", file=out)
        return None
    try:
        token = tokens.read_source(config.zenodo.token)
    except tokens.TokenError:
        return None  # already reported by the environment check
    url = f"{config.zenodo.url}/api/deposit/depositions"
    timeout = (config.zenodo.connect_timeout, min(config.zenodo.read_timeout, 60.0))
    try:
        answer = requests.get(
            url,
            params={"size": 1},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        return Finding("zenodo.url", f"{config.zenodo.url} does not answer ({type(exc).__name__})")
    if answer.status_code in (401, 403):
        return Finding(
            "zenodo.token",
            f"{config.zenodo.url} refuses the token (HTTP {answer.status_code}): put a valid "
            "token with the deposit:write and deposit:actions scopes in the token source",
        )
    if answer.status_code != 200:
        return Finding(
            "zenodo.url", f"{config.zenodo.url} answered HTTP {answer.status_code} to a listing"
        )
    limit = answer.headers.get("X-RateLimit-Limit")
    announced = f"rate limit {limit} requests per minute" if limit else "no rate limit announced"
    print(f"online: {config.zenodo.url} answers and accepts the token ({announced})", file=out)
    return None


def run(
    config: Config, *, online: bool = False, config_only: bool = False, out: TextIO | None = None
) -> int:
    """Print every finding; exit 0 (ready), 2 (an error: the daemon would not start) or 1
    (``--online``: Zenodo does not answer or refuses the token).

    ``config_only`` is what ``systemctl reload`` runs before it signals: the file alone, since
    systemd hands the credential to the service's main process only, and the environment is
    the running daemon's."""
    out = out or sys.stdout
    if config_only:
        print(f"{config.source or '<config>'}: configuration is valid", file=out)
        return EXIT_OK
    findings = check_environment(config, storage_fstype(config.storage.root))
    for finding in findings:
        print(f"maggot-zenodo: {finding}", file=sys.stderr if finding.is_error else out)
    if any(f.is_error for f in findings):
        return EXIT_USAGE
    if online:
        problem = check_online(config, out)
        if problem is not None:
            print(f"maggot-zenodo: {problem}", file=sys.stderr)
            return EXIT_FAILED
    print(f"{config.source or '<config>'}: configuration is valid", file=out)
    return EXIT_OK
