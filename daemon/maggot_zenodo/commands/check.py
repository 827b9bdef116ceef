"""``maggot-zenodo check DATASET_DIR [--repository zenodo|dataverse|all]``: show what would be
sent, with no network.

The contract, for a script as for a person: exit 0 and exactly one JSON document on stdout
(headings and warnings on stderr), or exit 1 with every problem on stderr and nothing on
stdout; a broken site definition file is a configuration problem: exit 2. Every configured
repository is checked unless ``--repository`` names one; stdout holds Zenodo's deposition
(``{"metadata": ...}``) when Zenodo is checked, else Dataverse's create body
(``{"datasetVersion": ...}``), and with ``--repository all`` both under their names
(``{"zenodo": ..., "dataverse": ...}``), so a site adding Dataverse breaks no script.
"""

from __future__ import annotations

import datetime
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from maggot_zenodo.config import Config, default_config_path, load_config
from maggot_zenodo.constants import EXIT_FAILED, EXIT_OK, EXIT_USAGE
from maggot_zenodo.convert.maggot import Site, SiteError
from maggot_zenodo.convert.problems import DatasetError, Problem
from maggot_zenodo.publish.prepare import (
    NotConvertible,
    convert_dataset,
    load_site,
    name_problems,
)

#: The values of ``--repository``; none given means every configured repository.
REPOSITORIES = ("zenodo", "dataverse", "all")


def optional_config() -> Config | None:
    """The configuration at the default path when that file exists, else None (built-ins)."""
    path = default_config_path()
    return load_config(path) if path.is_file() else None


def format_problem(p: Problem) -> str:
    label = "warning" if not p.is_error else "error"
    line = f"{label}: {p.field}: {p.message}" if p.field else f"{label}: {p.message}"
    return line + (f"\n  hint: {p.hint}" if p.hint else "")


def configured(config: Config | None) -> tuple[str, ...]:
    """The repositories the site publishes to; without a configuration, Zenodo (built-ins)."""
    from maggot_zenodo.repositories import configured as site_repositories

    found = tuple(site_repositories(config)) if config is not None else ()
    return found or ("zenodo",)


def _zenodo(
    config: Config | None, site: Site, dataset_dir: Path, today: datetime.date | None, err: TextIO
) -> dict[str, Any] | int:
    """Zenodo's deposition, or the exit code after printing every problem."""
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
    return {"metadata": converted.metadata}


def _dataverse(
    config: Config, dataset_dir: Path, today: datetime.date | None, err: TextIO
) -> dict[str, Any] | int:
    """Dataverse's create body (validated against the cached or stock blocks), or the exit
    code after printing every problem under a heading that names those blocks."""
    from maggot_zenodo.convert.dataverse import load_definition
    from maggot_zenodo.publish.dataverse_plan import check_conversion

    try:
        load_definition(config.maggot.conf_dir)
    except DatasetError as exc:  # the site's dataverse.txt: the sysadmin's to fix
        for p in exc.problems:
            print(format_problem(p), file=err)
        return EXIT_USAGE
    try:
        c = check_conversion(config, Path(dataset_dir), today=today)
    except DatasetError as exc:
        print("Dataverse", file=err)
        for p in exc.problems:
            print(format_problem(p), file=err)
        print(f"{dataset_dir}: {len(exc.problems)} problem(s); nothing would be sent", file=err)
        return EXIT_FAILED
    print(f"Dataverse (blocks: {c.blocks_origin})", file=err)
    for p in c.problems:
        if not p.is_error or not c.ok:
            print(format_problem(p), file=err)
    if not c.ok:
        errors = sum(p.is_error for p in c.problems)
        print(f"{dataset_dir}: {errors} problem(s); nothing would be sent to Dataverse", file=err)
        return EXIT_FAILED
    return c.create_body()


def run(
    config: Config | None,
    dataset_dir: Path,
    *,
    repository: str | None = None,
    today: datetime.date | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Read and convert one dataset (the publisher's own pipeline) for each repository
    checked; print the one JSON document, or every problem."""
    out, err = out or sys.stdout, err or sys.stderr
    names = configured(config) if repository in (None, "all") else (repository or "zenodo",)
    if "dataverse" in names and (config is None or config.dataverse is None):
        where = config.source if config is not None and config.source else "the configuration"
        print(
            f"maggot-zenodo: check --repository dataverse: {where} has no 'dataverse:' section;"
            " add one (url, token, collection) or pass --config FILE",
            file=err,
        )
        return EXIT_USAGE
    try:
        site = load_site(config)
    except SiteError as exc:
        for p in exc.problems:
            print(format_problem(p), file=err)
        return EXIT_USAGE
    documents: dict[str, dict[str, Any]] = {}
    codes = [EXIT_OK]
    for name in names:
        if name == "zenodo":
            if len(names) > 1:
                print("Zenodo", file=err)
            found = _zenodo(config, site, dataset_dir, today, err)
        else:
            assert config is not None
            found = _dataverse(config, dataset_dir, today, err)
        if isinstance(found, int):
            codes.append(found)
        else:
            documents[name] = found
    code = max(codes)
    if code != EXIT_OK:
        return code
    shown: dict[str, Any] = documents if repository == "all" else documents[names[0]]
    if repository is None and len(documents) > 1:
        print(
            "Dataverse: converts; its create body: check --repository dataverse (or all)",
            file=err,
        )
    out.write(json.dumps(shown, indent=2, ensure_ascii=False) + "\n")
    out.flush()
    return EXIT_OK
