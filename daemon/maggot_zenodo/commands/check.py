"""``maggot-zenodo check DATASET_DIR``: show what would be sent to Zenodo, with no network.

Exit 0 and the deposition JSON on stdout (warnings on stderr), or exit 1 with every
problem on stderr; a broken site definition file is a configuration problem: exit 2.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import TextIO

from maggot_zenodo.config import Config, default_config_path, load_config
from maggot_zenodo.convert.crosswalk import convert
from maggot_zenodo.convert.maggot import SiteError, load_site, read_dataset
from maggot_zenodo.convert.problems import DatasetError, Problem

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def optional_config() -> Config | None:
    """The configuration at the default path when that file exists, else None (built-ins)."""
    path = default_config_path()
    return load_config(path) if path.is_file() else None


def format_problem(p: Problem) -> str:
    label = "warning" if not p.is_error else "error"
    line = f"{label}: {p.field}: {p.message}" if p.field else f"{label}: {p.message}"
    return line + (f"\n  hint: {p.hint}" if p.hint else "")


def run(
    config: Config | None,
    dataset_dir: Path,
    *,
    today: datetime.date | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Read and convert one dataset; print the result or the problems."""
    out, err = out or sys.stdout, err or sys.stderr
    maggot = config.maggot if config else None
    try:
        site = load_site(maggot.conf_dir if maggot else None, maggot.cvlist_dir if maggot else None)
    except SiteError as exc:
        for p in exc.problems:
            print(format_problem(p), file=err)
        return EXIT_CONFIG
    kwargs = {}
    if config is not None:
        kwargs = {
            "max_size": config.maggot.max_metadata_size,
            "semaphore": config.storage.semaphore,
        }
    try:
        dataset = read_dataset(Path(dataset_dir), site=site, **kwargs)  # type: ignore[arg-type]
    except DatasetError as exc:
        for p in exc.problems:
            print(format_problem(p), file=err)
        print(f"{dataset_dir}: {len(exc.problems)} problem(s); nothing would be sent", file=err)
        return EXIT_FAILED
    communities = config.zenodo.communities if config else ()
    result = convert(
        dataset.record, site, communities=communities, today=today or datetime.date.today()
    )
    for p in result.problems:
        print(format_problem(p), file=err)
    if not result.ok:
        print(
            f"{dataset.metadata_file}: {len(result.errors)} error(s); nothing would be sent",
            file=err,
        )
        return EXIT_FAILED
    out.write(json.dumps({"metadata": result.metadata}, indent=2, ensure_ascii=False) + "\n")
    out.flush()
    return EXIT_OK
