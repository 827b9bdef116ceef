"""``maggot-zenodo emulator --api dataverse``: run the local Dataverse until SIGTERM or SIGINT.

The first stdout line is the base URL, flushed at once.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from maggot_zenodo.emulator.dataverse.runner import start_dataverse

EXIT_OK, EXIT_USAGE = 0, 2


def run(args: argparse.Namespace) -> int:
    owned = getattr(args, "data", None) is None
    data = Path(tempfile.mkdtemp(prefix="maggot-dataverse-emulator-")) if owned else args.data
    languages = tuple(filter(None, (getattr(args, "metadata_languages", "") or "").split(",")))
    try:
        handle = start_dataverse(
            data,
            host=args.host,
            port=args.port,
            collection=getattr(args, "collection", None) or "maggot",
            tokens=tuple(args.token or ()),
            faults=args.faults,
            seed=args.seed,
            schema_dir=getattr(args, "schema_dir", None),
            metadata_languages=languages,
            rate_limit=getattr(args, "rate_limit", None),
            quiet=args.quiet,
        )
    except (ValueError, OSError) as exc:
        print(f"maggot-zenodo emulator: {exc}", file=sys.stderr)
        if owned:
            shutil.rmtree(data, ignore_errors=True)
        return EXIT_USAGE
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not args.quiet:
        print(f"emulator: Dataverse API at {handle.api_url}/, data in {data}", file=sys.stderr)
    print(handle.base_url, flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        handle.stop()
        if owned:
            shutil.rmtree(data, ignore_errors=True)
    return EXIT_OK
