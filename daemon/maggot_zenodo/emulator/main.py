"""``maggot-zenodo emulator``: run the local Zenodo until SIGTERM or SIGINT.

The first stdout line is the base URL, flushed at once, so that a parent process can read it.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from maggot_zenodo.emulator.faults import FaultSpecError
from maggot_zenodo.emulator.runner import start_emulator

EXIT_OK, EXIT_USAGE = 0, 2


def run(args: argparse.Namespace) -> int:
    if getattr(args, "api", "zenodo") == "dataverse":
        from maggot_zenodo.emulator.dataverse.main import run as run_dataverse

        return run_dataverse(args)
    owned_temp = args.data is None
    data = Path(tempfile.mkdtemp(prefix="maggot-zenodo-emulator-")) if owned_temp else args.data
    try:
        handle = start_emulator(
            data,
            host=args.host,
            port=args.port,
            tokens=tuple(args.token or ()),
            rate_limit=args.rate_limit,
            faults=args.faults,
            seed=args.seed,
            max_files=args.max_files,
            max_file_size=args.max_file_size,
            quota=max(args.max_file_size, 50_000_000_000),
            latency=getattr(args, "latency", 0.0),
            index_delay=getattr(args, "index_delay", 0.0),
            curators=tuple(getattr(args, "curator", None) or ()),
            communities=tuple(getattr(args, "community", None) or ()),
            quiet=args.quiet,
        )
    except (ValueError, FaultSpecError, OSError) as exc:
        print(f"maggot-zenodo emulator: {exc}", file=sys.stderr)
        if owned_temp:
            shutil.rmtree(data, ignore_errors=True)
        return EXIT_USAGE
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if not args.quiet:  # before the URL, so that it precedes any request log line
        print(f"emulator: API at {handle.api_url}/, data in {data}", file=sys.stderr, flush=True)
    print(handle.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handle.stop()
        if owned_temp:
            shutil.rmtree(data, ignore_errors=True)
    return EXIT_OK
