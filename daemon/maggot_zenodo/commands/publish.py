"""``maggot-zenodo publish DATASET_DIR``: publish one dataset now (``status`` is in status.py)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from maggot_zenodo.config import Config
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


def run(config: Config, dataset_dir: Path, *, out: TextIO | None = None) -> int:
    """Publish one dataset now; print the deposit URL (exit 0) or the reason (exit 1)."""
    out = out or sys.stdout
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
        return 0
    print(f"failed: {outcome.error}", file=out)
    if outcome.hint:
        print(f"hint: {outcome.hint}", file=out)
    if outcome.detail:  # the sysadmin's detail (paths, commands): this tool is theirs
        print(f"detail: {outcome.detail}", file=out)
    if outcome.retryable:
        print("(a temporary problem: trying again later may succeed)", file=out)
    return 1
