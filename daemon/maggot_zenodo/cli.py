"""Command-line entry point: ``maggot-zenodo run|publish|adopt|check|scan|status|validate``,
and ``maggot-zenodo emulator``.

Parsing lives here; each command's work lives in the module of its concern, imported
lazily so that ``maggot-zenodo emulator`` or ``check`` start fast and need nothing else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from maggot_zenodo import __version__
from maggot_zenodo.config import Config, load_config
from maggot_zenodo.constants import EXIT_USAGE
from maggot_zenodo.errors import UserError
from maggot_zenodo.logs import setup_logging


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="maggot-zenodo",
        description="Publish Maggot datasets to Zenodo when a researcher drops a semaphore file.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument(
            "--config",
            metavar="FILE",
            help="configuration file (default: $MAGGOT_ZENODO_CONFIG or "
            "/etc/maggot-zenodo/config.yaml)",
        )
        return p

    run = with_config(sub.add_parser("run", help="watch the storage space and publish (daemon)"))
    run.add_argument("--once", action="store_true", help="process what is pending, then exit")

    pub = with_config(sub.add_parser("publish", help="publish one dataset now"))
    pub.add_argument("dataset_dir", metavar="DATASET_DIR", type=Path)

    adp = with_config(sub.add_parser("adopt", help="tie a dataset to an existing deposition"))
    adp.add_argument("dataset_dir", metavar="DATASET_DIR", type=Path)
    adp.add_argument("deposition_id", metavar="DEPOSITION_ID", type=int)

    chk = with_config(sub.add_parser("check", help="show the Zenodo metadata (no network)"))
    chk.add_argument("dataset_dir", metavar="DATASET_DIR", type=Path)

    with_config(sub.add_parser("scan", help="list datasets whose semaphore awaits processing"))

    st = with_config(sub.add_parser("status", help="what the journal knows, a dataset a row"))
    st.add_argument("--json", action="store_true", help="machine-readable output")

    val = with_config(sub.add_parser("validate", help="check the configuration file and exit"))
    val.add_argument("--online", action="store_true", help="also ask Zenodo to accept the token")

    _add_emulator(sub)
    return parser


def _add_emulator(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    emu = sub.add_parser("emulator", help="run a local Zenodo emulator (tests, demos, trials)")
    emu.add_argument("--api", choices=("zenodo", "dataverse"), default="zenodo")
    emu.add_argument("--host", default="127.0.0.1")
    emu.add_argument("--port", type=int, default=0, help="0 picks a free port")
    emu.add_argument("--data", type=Path, help="folder for its state and files (default: temp)")
    emu.add_argument(
        "--token",
        action="append",
        default=[],
        metavar="T",
        help="accept only this token (repeatable); default: any non-empty token",
    )
    emu.add_argument(
        "--rate-limit",
        default=None,
        metavar="N/min",
        help="answer 429 beyond N requests per minute per token",
    )
    emu.add_argument(
        "--faults",
        default=None,
        metavar="SPEC",
        help='fault injection, e.g. \'{"rate": 0.2, "kinds": ["502", "reset"]}\' '
        "or 'rate=0.2,kinds=502+reset'",
    )
    emu.add_argument("--seed", type=int, default=None, help="seed for reproducible faults")
    emu.add_argument("--max-files", type=int, default=100)
    emu.add_argument("--max-file-size", type=int, default=50_000_000_000)
    emu.add_argument("--quiet", action="store_true", help="no request log on stderr")
    emu.add_argument("--collection", default="maggot", help="Dataverse: the collection alias")
    emu.add_argument(
        "--schema-dir",
        type=Path,
        default=None,
        help="Dataverse: folder of saved version.json, metadatablocks-citation.json, "
        "licenses.json, datasetSchema.json to serve instead of the stock ones",
    )
    emu.add_argument(
        "--metadata-languages",
        default="",
        help="Dataverse: comma-separated :MetadataLanguages (default: none allowed)",
    )


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
    return checkcmd.run(config, args.dataset_dir)


def cmd_scan(args: argparse.Namespace) -> int:
    from maggot_zenodo.runtime import service

    config = _load(args)
    setup_logging(config.log_level)
    return service.run_scan(config)


def cmd_status(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import publish as publishcmd

    config = _load(args)
    return publishcmd.status(config, as_json=args.json)


def cmd_validate(args: argparse.Namespace) -> int:
    from maggot_zenodo.commands import validate

    return validate.run(_load(args), online=args.online)


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
