"""``maggot-zenodo status --check``: a monitoring check with the Nagios plugin conventions.

One line, ``MAGGOT-ZENODO OK - <what was seen> | <perfdata>``, and the exit status 0 OK,
1 WARNING (failed datasets, a semaphore waiting too long), 2 CRITICAL (the daemon is not
running, a configured repository — Zenodo, Dataverse — is unreachable or refuses the token),
3 UNKNOWN (the check cannot tell, e.g.
the state database may not be read). Every probe is bounded in time and changes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from maggot_zenodo.config import Config, ConfigError, load_config
from maggot_zenodo.errors import UserError
from maggot_zenodo.lock import lock_path
from maggot_zenodo.logs import setup_logging
from maggot_zenodo.state.summary import Summary, human_age

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
LABELS = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
DEFAULT_WARN_FAILED = 1
DEFAULT_PENDING_AGE = 3600.0
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class CheckOptions:
    """Thresholds: WARNING from ``warn_failed`` failed datasets (0: never) or a dataset pending
    longer than ``pending_age`` seconds (0: never); ``zenodo`` False skips the network probes
    (every repository's)."""

    warn_failed: int = DEFAULT_WARN_FAILED
    pending_age: float = DEFAULT_PENDING_AGE
    zenodo: bool = True
    timeout: float = DEFAULT_TIMEOUT


@dataclass(frozen=True)
class Finding:
    """One observation: its severity and its words."""

    level: int
    text: str


def lock_holder(state: Path, proc_locks: Path = Path("/proc/locks")) -> int | None:
    """The pid holding the instance lock of ``state`` (0 when held by an unknown pid), or None
    when nobody holds it. Read from /proc/locks: taking the lock, even for an instant, could
    make a daemon starting at that moment refuse to run."""
    try:
        st = os.stat(lock_path(state))
    except FileNotFoundError:
        return None
    wanted = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    try:
        lines = proc_locks.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return _probe_flock(lock_path(state))
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter, not a holder
            continue
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        try:
            major, minor, inode = fields[5].split(":")
            key = (int(major, 16), int(minor, 16), int(inode))
        except ValueError:
            continue
        if key == wanted:
            return int(fields[4]) if fields[4].isdigit() else 0
    return None


def _probe_flock(path: Path) -> int | None:
    """Without /proc/locks: a non-blocking shared lock taken and dropped at once."""
    import fcntl

    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0
    finally:
        os.close(fd)
    return None


def daemon_finding(state: Path) -> Finding:
    try:
        pid = lock_holder(state)
    except OSError as exc:
        return Finding(UNKNOWN, f"cannot tell whether the daemon runs ({exc.strerror or exc})")
    if pid is None:
        return Finding(CRITICAL, f"daemon not running (lock {lock_path(state)} is free)")
    return Finding(OK, f"daemon running (pid {pid})" if pid else "daemon running")


def summary_findings(summary: Summary, options: CheckOptions) -> list[Finding]:
    found: list[Finding] = []
    failed = summary.count("failed")
    if options.warn_failed > 0 and failed >= options.warn_failed:
        noun = "dataset" if failed == 1 else "datasets"
        found.append(Finding(WARNING, f"{failed} {noun} failed"))
    age = summary.oldest_pending_age
    if options.pending_age > 0 and age is not None and age > options.pending_age:
        found.append(
            Finding(
                WARNING,
                f"a dataset has been pending for {human_age(age)} "
                f"(more than {human_age(options.pending_age)})",
            )
        )
    return found


def zenodo_finding(config: Config, timeout: float) -> Finding:
    """One bounded request to Zenodo: a listing of one deposition, the token in a header."""
    from maggot_zenodo.tokens import TokenError, read_source
    from maggot_zenodo.zenodo.client import ZenodoClient
    from maggot_zenodo.zenodo.errors import PermissionDenied, ZenodoError, ZenodoUnavailable

    url = config.zenodo.url
    if config.zenodo.token is None:
        return _reachable_without_token(url, timeout, "no site token configured")
    try:
        token = read_source(config.zenodo.token)
    except TokenError as exc:
        return _reachable_without_token(url, timeout, str(exc).rstrip("."))
    client = ZenodoClient(url, token, connect_timeout=timeout, read_timeout=timeout, max_retries=0)
    try:
        client.list(page_size=1, max_pages=1)
    except PermissionDenied:
        return Finding(CRITICAL, f"Zenodo {url} refuses the token")
    except ZenodoUnavailable as exc:
        return Finding(CRITICAL, f"Zenodo {url} unreachable ({exc})")
    except ZenodoError as exc:
        return Finding(CRITICAL, f"Zenodo {url} answered with an error ({exc})")
    finally:
        client.close()
    return Finding(OK, "Zenodo reachable")


def dataverse_finding(config: Config, timeout: float) -> Finding:
    """One bounded request to Dataverse: who the token is (``/api/users/:me``), in a header."""
    from maggot_zenodo.dataverse.client import DataverseClient
    from maggot_zenodo.dataverse.errors import (
        BadApiKey,
        DataverseError,
        DataverseUnavailable,
        NotPermitted,
    )
    from maggot_zenodo.tokens import TokenError, read_source

    dv = config.dataverse
    assert dv is not None and dv.token is not None
    try:
        client = DataverseClient(
            dv.url, read_source(dv.token), connect_timeout=timeout, read_timeout=timeout,
            max_retries=0,
        )  # fmt: skip
    except (TokenError, ValueError) as exc:  # unreadable, or no header can carry it (never quoted)
        why = str(exc).rstrip(".")
        return _reachable_without_token(dv.url, timeout, why, "Dataverse", "/api/info/version")
    try:
        client.me()
    except (BadApiKey, NotPermitted):
        return Finding(CRITICAL, f"Dataverse {dv.url} refuses the token")
    except DataverseUnavailable as exc:
        return Finding(CRITICAL, f"Dataverse {dv.url} unreachable ({exc.message})")
    except DataverseError as exc:
        return Finding(CRITICAL, f"Dataverse {dv.url} answered with an error ({exc.message})")
    finally:
        client.close()
    return Finding(OK, "Dataverse reachable")


def repository_findings(config: Config, timeout: float) -> list[Finding]:
    """One probe per configured repository (a Dataverse-only site asks no Zenodo)."""
    from maggot_zenodo.repositories import zenodo_configured

    probes = []
    if zenodo_configured(config):
        probes.append(("Zenodo", zenodo_finding))
    if config.dataverse is not None:
        probes.append(("Dataverse", dataverse_finding))
    found = []
    for name, probe in probes:
        try:
            found.append(probe(config, timeout))
        except Exception as exc:  # the class name only: a message could quote a token
            found.append(Finding(UNKNOWN, f"cannot check {name} ({exc.__class__.__name__})"))
    return found


def _reachable_without_token(
    url: str, timeout: float, why: str, name: str = "Zenodo", path: str = "/api/"
) -> Finding:
    """Without a readable token (a systemd credential outside the unit): any HTTP answer
    proves the repository reachable; the token itself stays unchecked and the line says so."""
    import requests

    try:
        requests.get(f"{url}{path}", timeout=(timeout, timeout), allow_redirects=False)
    except requests.RequestException as exc:
        return Finding(CRITICAL, f"{name} {url} unreachable ({exc.__class__.__name__})")
    return Finding(OK, f"{name} reachable (token not checked: {why})")


def run_check(config: Config, options: CheckOptions, *, out: TextIO | None = None) -> int:
    """Probe, print the one line, and return the Nagios exit status."""
    from maggot_zenodo.commands.status import read_state

    out = out or sys.stdout
    try:
        summary = read_state(config.state).summary
    except UserError as exc:
        return emit(out, [Finding(UNKNOWN, str(exc))], Summary())
    except Exception as exc:  # a check must answer UNKNOWN, never a traceback
        return emit(out, [Finding(UNKNOWN, f"cannot read {config.state}: {exc}")], Summary())
    findings = [daemon_finding(config.state), *summary_findings(summary, options)]
    if options.zenodo:
        findings += repository_findings(config, options.timeout)
    return emit(out, findings, summary)


def emit(out: TextIO, findings: list[Finding], summary: Summary) -> int:
    """The plugin's line: the worst findings first, then the others, then perfdata."""
    level = max((f.level for f in findings), key=_rank)
    ordered = sorted(findings, key=lambda f: -_rank(f.level))
    words = ", ".join(f.text for f in ordered)
    if level != UNKNOWN:
        words += f", {summary.total} dataset{'' if summary.total == 1 else 's'} known"
    # One line, and no '|' before the perfdata: a message quoting a file must not break either.
    words = " ".join(words.split()).replace("|", "/")
    print(f"MAGGOT-ZENODO {LABELS[level]} - {words} | {summary.perfdata()}", file=out)
    return level


def _rank(level: int) -> int:
    """Severity order (the monitoring plugins' "max_state_alt"): CRITICAL, WARNING, UNKNOWN,
    OK; a check that saw a failure and could not tell the rest still reports the failure."""
    return {CRITICAL: 3, WARNING: 2, UNKNOWN: 1, OK: 0}[level]


# -- the command line ------------------------------------------------------------------------
def add_status_options(parser: argparse.ArgumentParser) -> None:
    """``status --wide``, and ``--check`` with its thresholds (documented here: they show in
    ``--help``). Here rather than in status.py, which the parser must not import at start."""
    parser.add_argument("--wide", action="store_true", help="each error on one line, never wrapped")
    group = parser.add_argument_group(
        "monitoring check (--check)",
        "One line for Nagios, Icinga or NRPE; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. "
        "CRITICAL: the daemon is not running (its lock <state>.lock is free), or a configured "
        "repository (Zenodo, Dataverse) is unreachable or refuses the token. WARNING: failed "
        "datasets, or a dataset pending too long. UNKNOWN: the check cannot tell "
        "(configuration or state unreadable).",
    )
    group.add_argument(
        "--check", action="store_true", help="run the monitoring check instead of listing"
    )
    group.add_argument(
        "--warn-failed",
        type=_non_negative_int,
        default=DEFAULT_WARN_FAILED,
        metavar="N",
        help=f"WARNING when N or more datasets failed (default {DEFAULT_WARN_FAILED}; 0: never)",
    )
    group.add_argument(
        "--pending-age",
        type=_non_negative_float,
        default=DEFAULT_PENDING_AGE,
        metavar="SECONDS",
        help="WARNING when a dataset has been queued or publishing for longer "
        f"(default {DEFAULT_PENDING_AGE:.0f}; 0: never)",
    )
    group.add_argument(
        "--no-zenodo",
        "--no-network",
        dest="no_zenodo",
        action="store_true",
        help="skip the requests to the repositories, Zenodo and Dataverse (no network)",
    )
    group.add_argument(
        "--timeout",
        type=_non_negative_float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"bound of each request to a repository (default {DEFAULT_TIMEOUT:.0f})",
    )


def check_command(config_path: str | None, args: argparse.Namespace) -> int:
    """``status --check``: a configuration problem is UNKNOWN (3), as plugins report it."""
    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return emit(sys.stdout, [Finding(UNKNOWN, str(exc))], Summary())
    setup_logging("error")  # the plugin's output is its one line; only errors go to stderr
    options = CheckOptions(
        warn_failed=args.warn_failed,
        pending_age=args.pending_age,
        zenodo=not args.no_zenodo,
        timeout=args.timeout or DEFAULT_TIMEOUT,
    )
    return run_check(config, options)


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; give 0 or more")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} is not a finite number of seconds >= 0")
    return value
