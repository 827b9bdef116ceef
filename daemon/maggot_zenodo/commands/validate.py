"""``maggot-zenodo validate [--online | --config-only]``: is the configuration right, and is
the machine ready?

The configuration was already checked when it was loaded (a bad one exits 2 before this).
Then the environment (:func:`~maggot_zenodo.publish.environment.check_environment`): every
finding on one line; any error exits 2. ``--online`` also asks each configured repository:
Zenodo whether it answers and accepts the token (and the rate limit it announces), Dataverse
its version, the token's account, the collection and the right to add datasets to it. A
problem exits 1. The token is never printed.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from maggot_zenodo import tokens
from maggot_zenodo.config import Config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.publish.environment import Finding, check_environment
from maggot_zenodo.repositories import zenodo_configured


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

    if not zenodo_configured(config):
        return None  # a Dataverse-only site: nothing to ask Zenodo
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


def check_dataverse_online(config: Config, out: TextIO) -> list[Finding]:
    """The server's version, the token's account, the collection and the right to add
    datasets to it (:func:`maggot_zenodo.dataverse.checks.check_online`); one plain attempt
    per request, as for Zenodo: one answer to judge."""
    from maggot_zenodo.dataverse.checks import check_online as dataverse_check
    from maggot_zenodo.dataverse.client import DataverseClient

    dv = config.dataverse
    if dv is None:
        return []
    assert dv.token is not None  # the configuration demands one
    try:
        token = tokens.read_source(dv.token)
        client = DataverseClient(
            dv.url,
            token,
            connect_timeout=dv.connect_timeout,
            read_timeout=min(dv.read_timeout, 60.0),
            max_retries=0,
        )
    except (tokens.TokenError, ValueError):
        return []  # already reported by the environment check
    try:
        found = dataverse_check(client, dv.collection)
    finally:
        client.close()
    if found.version is not None:
        account = f"account {found.account}" if found.account else "token not accepted"
        print(f"online: {dv.url} is Dataverse {found.version or '?'} ({account})", file=out)
    if found.ok:
        print(f"online: {dv.url}: datasets may be added to '{dv.collection}'", file=out)
    return [Finding("dataverse", problem) for problem in found.problems]


def run(
    config: Config, *, online: bool = False, config_only: bool = False, out: TextIO | None = None
) -> int:
    """Print every finding; exit 0 (ready), 2 (an error: the daemon would not start) or 1
    (``--online``: a repository does not answer, refuses the token, or, for Dataverse, the
    collection is missing or closed to the account).

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
        problems = ([problem] if problem is not None else []) + check_dataverse_online(config, out)
        for found in problems:
            print(f"maggot-zenodo: {found}", file=sys.stderr)
        if problems:
            return EXIT_FAILED
    print(f"{config.source or '<config>'}: configuration is valid", file=out)
    return EXIT_OK
