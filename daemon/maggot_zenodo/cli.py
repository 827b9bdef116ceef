"""Command-line entry point: ``maggot-zenodo run|publish|adopt|check|scan|status|validate|retry``,
and ``maggot-zenodo emulator``.

The grammar lives in :mod:`maggot_zenodo.cliparser`; each command's work lives in the module of
its concern, imported lazily so that ``maggot-zenodo emulator`` or ``check`` start fast and need
nothing else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from maggot_zenodo.cliparser import SUBCOMMANDS, build_parser
from maggot_zenodo.config import Config, load_config
from maggot_zenodo.constants import EXIT_USAGE
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import setup_logging

__all__ = ["SUBCOMMANDS", "build_parser", "main"]


def _load(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def cmd_run(args: argparse.Namespace) -> int:
    from maggot_zenodo.runtime import service

    config = _load(args)
    setup_logging(config.log_level)
    if args.once:
        return service.run_once(config)
    return service.run_daemon(config, config_path=args.config)


def cmd_publish(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import publish as publishcmd

    config = _load(args)
    setup_logging(config.log_level)
    return publishcmd.run(config, args.dataset_dir)


def cmd_adopt(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import adopt

    config = _load(args)
    setup_logging(config.log_level)
    return adopt.run(config, args.dataset_dir, args.deposition_id)


def cmd_check(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import check as checkcmd

    config = _load(args) if args.config else checkcmd.optional_config()
    return checkcmd.run(config, args.dataset_dir, repository=args.repository)


def cmd_scan(args: argparse.Namespace) -> int:
    from maggot_zenodo.runtime import service

    config = _load(args)
    setup_logging(config.log_level)
    return service.run_scan(config)


def cmd_status(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import status as statuscmd
    from maggot_zenodo.commands import status_check

    if args.check:
        return status_check.check_command(args.config, args)
    config = _load(args)
    return statuscmd.status(config, as_json=args.json, wide=args.wide)


def cmd_validate(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import validate

    return validate.run(_load(args), online=args.online, config_only=args.config_only)


def cmd_retry(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import retry

    config = _load(args)
    setup_logging(config.log_level)
    return retry.run(config, args.dataset_dir, failed=args.failed, now=args.now)


def cmd_emulator(args: argparse.Namespace) -> int:
    from maggot_zenodo.emulator import main as emulator_main

    return emulator_main.run(args)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": cmd_run,
    "publish": cmd_publish,
    "adopt": cmd_adopt,
    "check": cmd_check,
    "scan": cmd_scan,
    "status": cmd_status,
    "validate": cmd_validate,
    "retry": cmd_retry,
    "emulator": cmd_emulator,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except UserError as exc:  # configuration, state database, token source: the sysadmin's
        print(f"maggot-zenodo: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
