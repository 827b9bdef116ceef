"""``maggot-zenodo publish DATASET_DIR`` and ``maggot-zenodo status``: the sysadmin's tools."""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path
from typing import Any, TextIO

from maggot_zenodo import tokens
from maggot_zenodo.config import Config, SecretSource
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.publish.workflow import Outcome, ProgressFactory, Publisher
from maggot_zenodo.state.journal import Journal


def _progress_bars(stream: TextIO) -> ProgressFactory | None:
    """A tqdm bar per file when ``stream`` is a terminal; nothing otherwise."""
    try:
        if not stream.isatty():
            return None
    except (AttributeError, ValueError):
        return None
    from tqdm import tqdm

    def factory(name: str, size: int) -> Any:
        bar = tqdm(total=size, desc=name, unit="B", unit_scale=True, leave=True, file=stream)
        seen = [0]

        class _Bar:
            """The client reports bytes sent so far in this attempt; tqdm wants increments."""

            def update(self, so_far: int) -> None:
                if so_far < seen[0]:  # a new attempt starts again at 0
                    bar.reset(total=size)
                    seen[0] = 0
                bar.update(so_far - seen[0])
                seen[0] = so_far

            def close(self) -> None:
                bar.close()

        return _Bar()

    return factory


def _token_path(source: SecretSource) -> Path | None:
    """The file a token source reads, when it is one (None: no such file can be named)."""
    if source.kind == "file":
        return Path(source.value)
    directory = os.environ.get("CREDENTIALS_DIRECTORY")
    if source.kind == "credential" and directory:
        return Path(directory) / source.value
    return None


def token_problem(config: Config) -> str | None:
    """Why the site token's source cannot be used here, with exactly what to do; None when
    it can (or when only reading the token would tell: that is the dataset's outcome).

    Checked before anything is written: a dataset's META_zenodo.txt would otherwise promise
    an automatic retry that nobody will make (the daemon has the credential, not this run)."""
    source = config.zenodo.token
    if source is None:
        return None  # tokens.owners_dir: each dataset's owner brings a token
    if source.kind == "credential" and not os.environ.get("CREDENTIALS_DIRECTORY"):
        return (
            f"zenodo.token is the systemd credential {source.value!r}, which only the service "
            "receives ($CREDENTIALS_DIRECTORY is not set). Run the command as the service "
            "does: systemd-run --pipe --wait --collect -p User=maggot-zenodo "
            f"-p Group=maggot-zenodo -p LoadCredential={source.value}:/etc/maggot-zenodo/token "
            "maggot-zenodo publish DATASET_DIR (or give --config a copy of the configuration "
            "with 'token: {file: PATH}')."
        )
    path = _token_path(source)
    if path is None or (path.is_file() and os.access(path, os.R_OK)):
        return None
    try:
        tokens.read_source(source)
    except tokens.TokenError as exc:
        return f"zenodo.token: {exc.message} Fix: {exc.hint}".strip()
    return None


def run(config: Config, dataset_dir: Path, *, out: TextIO | None = None) -> int:
    """Publish one dataset now; print the deposit URL (exit 0) or the reason (exit 1); a
    token that cannot be read is the configuration's problem (exit 2, nothing written)."""
    out = out or sys.stdout
    problem = token_problem(config)
    if problem is not None:
        print(f"maggot-zenodo: {problem}", file=sys.stderr)
        return EXIT_USAGE
    journal = Journal(config.state)
    try:
        outcome = Publisher(config, journal).publish(
            Path(dataset_dir), progress=_progress_bars(sys.stderr)
        )
    finally:
        journal.close()
    return report(outcome, out)


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


_COLUMNS = ("folder", "status", "deposition_id", "deposit_url", "doi", "files", "updated", "error")


def status_rows(journal: Journal) -> list[dict[str, Any]]:
    """One dict per dataset, as `status --json` prints them."""
    rows = []
    for r in journal.rows():
        rows.append(
            {
                "folder": r.folder,
                "zenodo_url": r.zenodo_url,
                "account": r.account,
                "status": r.status,
                "deposition_id": r.deposition_id,
                "deposit_url": r.deposit_url,
                "doi": r.doi,
                "concept_doi": r.concept_doi,
                "files": len(r.file_list),
                "updated": dt.datetime.fromtimestamp(r.updated, dt.timezone.utc)
                .replace(microsecond=0)
                .isoformat(),
                "error": r.error,
            }
        )
    return rows


def status(config: Config, as_json: bool = False, *, out: TextIO | None = None) -> int:
    """Print what the journal knows, a dataset a row."""
    out = out or sys.stdout
    if not Path(config.state).exists():
        rows: list[dict[str, Any]] = []
    else:
        journal = Journal(config.state)
        try:
            rows = status_rows(journal)
        finally:
            journal.close()
    if as_json:
        json.dump(rows, out, indent=2, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    if not rows:
        print(f"no dataset in the journal yet ({config.state})", file=out)
        return EXIT_OK
    table = [[_cell(row[c]) for c in _COLUMNS] for row in rows]
    widths = [max(len(c), *(len(t[i]) for t in table)) for i, c in enumerate(_COLUMNS)]
    widths = [min(w, 60) for w in widths]
    print("  ".join(c.upper().ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)), file=out)
    for t in table:
        cells = [v[:w].ljust(w) for v, w in zip(t, widths, strict=True)]
        print("  ".join(cells).rstrip(), file=out)
    return EXIT_OK


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return " ".join(str(value).split())
