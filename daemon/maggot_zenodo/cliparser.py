"""The command line's grammar: every subcommand and option with its help, in one builder per
subcommand. Read at build time too (argparse-manpage makes the man page, shtab the bash
completion), so it imports nothing heavy. ``cli`` dispatches what it parses.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

from maggot_zenodo import __version__
from maggot_zenodo.commands.status_check import add_status_options

DESCRIPTION = """\
Watch a Maggot storage space and publish each dataset to Zenodo when a researcher drops the
semaphore file META_datafile_ok.txt into its folder. The deposit link is written back into
the folder as META_zenodo.txt. Run as a systemd service (maggot-zenodo.service); the other
commands inspect and act on the same configuration and journal."""

EPILOG = """\
exit status: 0 success, 1 a dataset or a check failed, 2 bad usage or configuration.
Configuration: --config FILE, else $MAGGOT_ZENODO_CONFIG, else /etc/maggot-zenodo/config.yaml.
See maggot-zenodo COMMAND --help, man maggot-zenodo, /usr/share/doc/maggot-zenodo/README.Debian."""

# shtab's completion hint for a path argument (shtab.FILE), set without importing shtab.
_COMPLETE_FILE = {"bash": "_shtab_compgen_files", "zsh": "_files", "tcsh": "f"}
_COMPLETE_DIR = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/", "tcsh": "d"}
# What add_subparsers() returns; a string so that it is never evaluated (3.10 has no generic).
Sub: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def _command(sub: Sub, name: str, summary: str, description: str) -> argparse.ArgumentParser:
    """A subcommand: one line for the overview, a paragraph for its own --help."""
    return sub.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    action = p.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $MAGGOT_ZENODO_CONFIG, else "
        "/etc/maggot-zenodo/config.yaml)",
    )
    action.complete = _COMPLETE_FILE  # type: ignore[attr-defined] # read by shtab
    return p


def _dataset_dir(p: argparse.ArgumentParser, what: str) -> None:
    action = p.add_argument("dataset_dir", metavar="DATASET_DIR", type=Path, help=what)
    action.complete = _COMPLETE_DIR  # type: ignore[attr-defined] # read by shtab


def _add_run(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "run",
            "watch the storage space and publish (the daemon)",
            "Watch storage.root in the foreground and publish every dataset whose semaphore\n"
            "appears or is touched again. systemd runs it so (Type=notify; SIGHUP reloads the\n"
            "configuration, SIGTERM stops after the uploads in flight).",
        )
    )
    p.add_argument(
        "--once",
        action="store_true",
        help="process what is pending, then exit (0 when every dataset succeeded)",
    )


def _add_publish(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "publish",
            "publish one dataset now",
            "Publish one dataset now, with a progress bar on a terminal, and print the deposit\n"
            "URL. Data files go only when the semaphore is present, as in Maggot. Exit 0 on\n"
            "success, 1 with the reason on failure.",
        )
    )
    _dataset_dir(p, "the dataset's folder (holding its META_*.json)")


def _add_adopt(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "adopt",
            "tie a dataset to an existing deposition",
            "Tie a dataset folder to a deposition already in the account, when adoption by title\n"
            "found several candidates (the dataset's META_zenodo.txt lists them). The deposition\n"
            "must carry the dataset's title and creators and belong to no other dataset.",
        )
    )
    p.add_argument("dataset_dir", metavar="DATASET_DIR", type=Path, help="the dataset folder")
    p.add_argument(
        "deposition_id", metavar="DEPOSITION_ID", type=int, help="the deposition to adopt"
    )


def _add_check(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "check",
            "show the metadata each repository would get (no network)",
            "Convert one dataset's Maggot metadata for every configured repository. Exit 0 with\n"
            "one JSON document on stdout (headings and warnings on stderr), or exit 1 with\n"
            "every problem on stderr, each with its fix, and nothing on stdout. No network.\n"
            'stdout holds Zenodo\'s deposition {"metadata": ...} when Zenodo is configured,\n'
            'else Dataverse\'s create body {"datasetVersion": ...}; --repository all gives\n'
            '{"zenodo": ..., "dataverse": ...}. Dataverse\'s is validated against the blocks\n'
            "the daemon cached at its last deposit, else the stock citation block.",
        )
    )
    _dataset_dir(p, "the dataset's folder (holding its META_*.json)")
    p.add_argument(
        "--repository",
        choices=("zenodo", "dataverse", "all"),
        default=None,
        help="check only this repository, or print every configured one's JSON (all); "
        "default: check every configured one, print Zenodo's (Dataverse's on a "
        "Dataverse-only site)",
    )


def _add_scan(sub: Sub) -> None:
    _with_config(
        _command(
            sub,
            "scan",
            "list the datasets whose semaphore awaits processing",
            "One reconciliation pass over storage.root, without acting: list the datasets whose\n"
            "semaphore the journal has not processed yet.",
        )
    )


def _add_status(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "status",
            "what the journal knows, a dataset a row",
            "Print every dataset the journal knows: its state, deposition and last error.\n"
            "Needs read access to the state (root, or a member of group maggot-zenodo).",
        )
    )
    p.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    add_status_options(p)


def _add_validate(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "validate",
            "check the configuration and the environment, and exit",
            "Check the configuration file (every key, its type and its value) and the\n"
            "environment: storage root, state directory, token sources, Maggot definition files.\n"
            "Exit 0 when all is well, 2 with the file, the key and the fix otherwise.\n"
            "systemctl reload runs it (with --config-only) before signalling the daemon.",
        )
    )
    p.add_argument(
        "--online",
        action="store_true",
        help="also ask each configured repository whether it answers and accepts the token: "
        "Zenodo (prints its rate limit), Dataverse (prints its version and the account; "
        "checks the collection and the right to add datasets to it)",
    )
    p.add_argument(
        "--config-only",
        action="store_true",
        help="check the file alone, not the environment (what systemctl reload runs)",
    )


def _add_retry(sub: Sub) -> None:
    p = _with_config(
        _command(
            sub,
            "retry",
            "run datasets again without touching their semaphore",
            "Queue datasets again without touching any semaphore. With the daemon running, the\n"
            "daemon does the work; without it, the command says so and exits 1, unless --now\n"
            "is given, when it publishes from here.",
        )
    )
    p.add_argument(
        "dataset_dir", metavar="DATASET_DIR", type=Path, nargs="*", help="dataset folders"
    )
    p.add_argument("--failed", action="store_true", help="every dataset that failed")
    p.add_argument("--now", action="store_true", help="without a running daemon, publish from here")


def _add_emulator(sub: Sub) -> None:
    emu = _command(
        sub,
        "emulator",
        "run a local Zenodo emulator (tests, demos, trials)",
        "A local Zenodo deposit API over HTTP, for tests, demos and trials without an account.\n"
        "Its first line on stdout is its base URL; the API is under <base>/api/.",
    )
    emu.add_argument(
        "--api",
        choices=("zenodo", "dataverse"),
        default="zenodo",
        help="which repository to emulate (default: %(default)s)",
    )
    emu.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    emu.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
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
        metavar="N/min",
        help="answer 429 beyond N requests per minute per token",
    )
    emu.add_argument(
        "--faults",
        metavar="SPEC",
        help='fault injection, e.g. \'{"rate": 0.2, "kinds": ["502", "reset"]}\' '
        "or 'rate=0.2,kinds=502+reset'",
    )
    emu.add_argument("--seed", type=int, metavar="N", help="seed for reproducible faults")
    _emulator_realism(emu)
    emu.add_argument("--quiet", action="store_true", help="no request log on stderr")
    _emulator_dataverse(emu)


def _emulator_realism(emu: argparse.ArgumentParser) -> None:
    """Zenodo's slowness, search lag and communities, for tests of what a site would see."""
    emu.add_argument(
        "--latency", type=float, default=0.0, metavar="S", help="seconds added to every request"
    )
    emu.add_argument(
        "--index-delay",
        type=float,
        default=0.0,
        metavar="S",
        help="a new deposition is missing from listings for S seconds (search index lag)",
    )
    emu.add_argument(
        "--curator",
        action="append",
        default=[],
        metavar="SLUG",
        help="a community every user curates: inclusions accepted at once (repeatable)",
    )
    emu.add_argument(
        "--community",
        action="append",
        default=[],
        metavar="SLUG",
        help="a community without curator among the users: inclusions wait (repeatable)",
    )
    emu.add_argument(
        "--max-files",
        type=int,
        default=100,
        metavar="N",
        help="files per deposition, as Zenodo (default: %(default)s)",
    )
    emu.add_argument(
        "--max-file-size",
        type=int,
        default=50_000_000_000,
        metavar="BYTES",
        help="largest file accepted (default: %(default)s, Zenodo's 50 GB)",
    )


def _emulator_dataverse(emu: argparse.ArgumentParser) -> None:
    """The options that only ``--api dataverse`` reads."""
    emu.add_argument(
        "--collection", default="maggot", help="Dataverse: the collection alias (default: maggot)"
    )
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


# One function per subcommand, in the order `--help` lists them.
SUBCOMMANDS: tuple[Callable[[Sub], None], ...] = (
    _add_run,
    _add_publish,
    _add_adopt,
    _add_check,
    _add_scan,
    _add_status,
    _add_validate,
    _add_retry,
    _add_emulator,
)


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; also read at build time by argparse-manpage and shtab."""
    parser = argparse.ArgumentParser(
        prog="maggot-zenodo",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {__version__}",
        help="print the version and exit",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, title="commands")
    for add in SUBCOMMANDS:
        add(sub)
    return parser
