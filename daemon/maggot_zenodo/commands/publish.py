"""``maggot-zenodo publish DATASET_DIR``: publish one dataset now (``status`` is in status.py)."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from maggot_zenodo import tokens
from maggot_zenodo.config import Config, SecretSource
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.publish.targets import publish_all
from maggot_zenodo.publish.workflow import Outcome, ProgressFactory, Publisher
from maggot_zenodo.state.journal import Journal


class _Bars:
    """One tqdm bar per file being sent and one for the whole batch (``expect``).

    The client reports the bytes sent so far in the current attempt; tqdm wants increments.
    Files upload concurrently: tqdm's own lock keeps the bars' lines apart."""

    def __init__(self, stream: TextIO) -> None:
        from tqdm import tqdm

        self._tqdm = tqdm
        self._stream = stream
        self._total: Any = None

    def expect(self, files: int, size: int) -> None:
        if self._total is not None:
            self._total.close()
        self._total = self._tqdm(
            total=size, desc=f"total ({files} files)", unit="B", unit_scale=True,
            leave=True, file=self._stream, position=0,
        )  # fmt: skip

    def __call__(self, name: str, size: int) -> Any:
        bar = self._tqdm(total=size, desc=name, unit="B", unit_scale=True, leave=True,
                         file=self._stream)  # fmt: skip
        total = self._total
        seen = [0]

        class _Bar:
            def update(self, so_far: int) -> None:
                if so_far < seen[0]:  # a new attempt starts again at 0
                    bar.reset(total=size)
                    if total is not None:
                        total.update(-seen[0])
                    seen[0] = 0
                bar.update(so_far - seen[0])
                if total is not None:
                    total.update(so_far - seen[0])
                seen[0] = so_far

            def close(self) -> None:
                bar.close()

        return _Bar()


def _progress_bars(stream: TextIO) -> ProgressFactory | None:
    """Progress bars (a bar per file and a total) when ``stream`` is a terminal; else none."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    return _Bars(stream)


def _token_path(source: SecretSource) -> Path | None:
    """The file a token source reads, when it is one (None: no such file can be named)."""
    if source.kind == "file":
        return Path(source.value)
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if source.kind == "credential" and directory:
        return Path(directory) / source.value
    return None


def token_problem(config: Config) -> str | None:
    """Why a site token's source cannot be used here, with exactly what to do; None when
    each can (or when only reading the token would tell: that is the dataset's outcome).

    Checked before anything is written: a dataset's status file would otherwise promise an
    automatic retry that nobody will make (the daemon has the credential, not this run)."""
    sources = [("zenodo.token", config.zenodo.token)]
    if config.dataverse is not None:
        sources.append(("dataverse.token", config.dataverse.token))
    for key, source in sources:
        problem = _source_problem(key, source)
        if problem is not None:
            return problem
    return None


def _source_problem(key: str, source: SecretSource | None) -> str | None:
    if source is None:
        return None  # tokens.owners_dir: each dataset's owner brings a token
    if source.kind == "credential" and not os.environ.get("CREDENTIALS_DIRECTORY"):
        return (
            f"{key} is the systemd credential {source.value!r}, which only the service "
            "receives ($CREDENTIALS_DIRECTORY is not set). Run the command as the service "
            "does: systemd-run --pipe --wait --collect -p User=maggot-zenodo "
            f"-p Group=maggot-zenodo -p LoadCredential={source.value}:"
            f"{tokens.credential_file(source)} "
            "maggot-zenodo publish DATASET_DIR (or give --config a copy of the configuration "
            "with 'token: {file: PATH}')."
        )
    path = _token_path(source)
    if path is None or (path.is_file() and os.access(path, os.R_OK)):
        return None
    try:
        tokens.read_source(source)
    except tokens.TokenError as exc:
        return f"{key}: {exc.message} Fix: {exc.hint}".strip()
    return None


def run(config: Config, dataset_dir: Path, *, out: TextIO | None = None) -> int:
    """Publish one dataset now, to every configured repository; print each deposit URL
    (exit 0) or the reason (exit 1); a token that cannot be read is the configuration's
    problem (exit 2, nothing written)."""
    out = out or sys.stdout
    problem = token_problem(config)
    if problem is not None:
        print(f"maggot-zenodo: {problem}", file=sys.stderr)
        return EXIT_USAGE
    journal = Journal(config.state)
    try:
        outcomes = publish_all(
            Publisher(config, journal), Path(dataset_dir), progress=_progress_bars(sys.stderr)
        )
    finally:
        journal.close()
    return report_all(outcomes, out)


def report_all(outcomes: dict[str, Outcome], out: TextIO) -> int:
    """Each repository's outcome; a site with one repository prints it as 0.1.0 did, two
    get each line prefixed by the repository's name. Exit 1 when any failed."""
    if len(outcomes) == 1:
        return report(next(iter(outcomes.values())), out)
    worst = EXIT_OK
    for name, outcome in outcomes.items():
        lines = io.StringIO()
        worst = max(worst, report(outcome, lines))
        for line in lines.getvalue().splitlines():
            print(f"{name}: {line}", file=out)
    return worst


def report(outcome: Outcome, out: TextIO) -> int:
    if outcome.ok:
        print(f"{outcome.status}: {outcome.deposit_url}", file=out)
        if outcome.doi:
            print(f"DOI: {outcome.doi}", file=out)
        return EXIT_OK
    print(f"failed: {outcome.error}", file=out)
    if outcome.hint:
        print(f"hint: {outcome.hint}", file=out)
    if outcome.detail:  # the sysadmin's detail (paths, commands): this tool is theirs
        print(f"detail: {outcome.detail}", file=out)
    if outcome.retryable:
        print("(a temporary problem: trying again later may succeed)", file=out)
    return EXIT_FAILED
