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
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.convert.maggot import SiteError
from maggot_zenodo.convert.problems import DatasetError, Problem
from maggot_zenodo.publish.prepare import (
    NotConvertible,
    convert_dataset,
    load_site,
    name_problems,
)


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
    """Read and convert one dataset (the publisher's own pipeline); print the result or the
    problems."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        site = load_site(config)
    except SiteError as exc:
        for p in exc.problems:
            print(format_problem(p), file=err)
        return EXIT_USAGE
    try:
        converted = convert_dataset(config, site, Path(dataset_dir), today=today)
    except DatasetError as exc:
        for p in exc.problems:
            print(format_problem(p), file=err)
        print(f"{dataset_dir}: {len(exc.problems)} problem(s); nothing would be sent", file=err)
        return EXIT_FAILED
    except NotConvertible as exc:
        for p in exc.problems:
            print(format_problem(p), file=err)
        print(exc.message, file=err)
        return EXIT_FAILED
    for p in converted.warnings:
        print(format_problem(p), file=err)
    names = name_problems(config, converted.dataset)
    if names:
        for p in names:
            print(format_problem(p), file=err)
        print(f"{dataset_dir}: {len(names)} file name(s) Zenodo cannot take", file=err)
        return EXIT_FAILED
    out.write(json.dumps({"metadata": converted.metadata}, indent=2, ensure_ascii=False) + "\n")
    out.flush()
    return EXIT_OK
