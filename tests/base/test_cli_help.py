"""The command line's help: every subcommand and option explained, the parser small enough to
grow, and the man page and bash completion that the package installs made from it."""

from __future__ import annotations

import argparse
import gzip
import inspect
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maggot_zenodo import __version__, cli

PROJECT = Path(__file__).resolve().parents[2]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_subcommand_and_option_has_help() -> None:
    parser = cli.build_parser()
    subs = _subparsers(parser)
    assert set(subs) >= {"run", "publish", "check", "scan", "status", "validate", "emulator"}
    overview = parser.format_help()
    missing = []
    for name, sub in subs.items():
        assert sub.description and len(sub.description) > 40, name
        # The overview lists the command with its one-line summary.
        summary = next(
            a.help for a in parser._subparsers._group_actions[0]._choices_actions if a.dest == name
        )
        assert summary and summary in overview, name
        for action in sub._actions:
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []
    assert all(a.help for a in parser._actions if a.dest != "command")


def test_parser_functions_stay_small() -> None:
    """Room for the commands others add: each builder under 60 lines (the project's rule)."""
    funcs = [cli.build_parser, *cli.SUBCOMMANDS]
    long = {f.__name__: n for f in funcs if (n := len(inspect.getsource(f).splitlines())) > 60}
    assert long == {}


def test_version_and_help_exit_zero() -> None:
    run = [sys.executable, "-m", "maggot_zenodo"]
    done = subprocess.run([*run, "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == f"maggot-zenodo {__version__}"
    for sub in ("run", "status", "emulator"):
        done = subprocess.run([*run, sub, "--help"], capture_output=True, text=True, check=True)
        assert done.stdout.startswith(f"usage: maggot-zenodo {sub}")
        assert "--config FILE" in done.stdout or sub == "emulator"


def test_man_page_and_bash_completion_are_generated(tmp_path: Path) -> None:
    pytest.importorskip("argparse_manpage")
    pytest.importorskip("shtab")
    subprocess.run(
        [str(PROJECT / "packaging" / "cli-docs.sh"), sys.executable, str(tmp_path)], check=True
    )
    page = gzip.decompress((tmp_path / "maggot-zenodo.1.gz").read_bytes()).decode()
    assert page.startswith('.TH MAGGOT\\-ZENODO "1"')
    for text in ("maggot\\-zenodo run", "\\-\\-once", "EXIT STATUS", "243/CREDENTIALS"):
        assert text in page, text
    if shutil.which("man"):
        shown = subprocess.run(
            ["man", "-l", str(tmp_path / "maggot-zenodo.1.gz")],
            capture_output=True,
            text=True,
            env={"MANWIDTH": "100", "PATH": "/usr/bin:/bin"},
        )
        assert shown.returncode == 0 and "process what is pending" in shown.stdout
    completion = (tmp_path / "maggot-zenodo.bash").read_text()
    assert "-F _shtab_maggot_zenodo maggot-zenodo" in completion
    commands = [a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction)]
    names = " ".join(commands[0].choices)  # every subcommand, in the order --help lists them
    assert names.startswith("run publish adopt check scan status validate")
    assert f"({names}" in completion
    if shutil.which("bash"):
        syntax = subprocess.run(["bash", "-n", str(tmp_path / "maggot-zenodo.bash")])
        assert syntax.returncode == 0
