"""Build a storage space of ``team*/ds*`` dataset folders for the benchmarks.

Each dataset folder holds four small files (a Maggot metadata file and three data files),
like the trees the watch design was measured on. Folder mtimes are set one day back, as on
a storage space that has been there for a while (a folder changed seconds ago is re-listed
by the poller on purpose, which is not the steady state to measure).

    python benchmarks/treegen.py DIR --folders 100000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

FILES = ("META_dataset.json", "data1.csv", "data2.csv", "README.txt")
PER_TEAM = 1000


def dataset_folders(root: Path, folders: int) -> list[Path]:
    """The dataset folder paths of a tree of ``folders`` datasets (teams of 1000)."""
    return [root / f"team{i // PER_TEAM:03d}" / f"ds{i % PER_TEAM:04d}" for i in range(folders)]


def build_tree(root: Path, folders: int, *, age_seconds: int = 86400) -> list[Path]:
    """Create the tree under ``root``; return the dataset folders."""
    datasets = dataset_folders(root, folders)
    body = b'{"title": "benchmark dataset"}\n'
    for ds in datasets:
        os.makedirs(ds, exist_ok=True)
        for name in FILES:
            fd = os.open(ds / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, body)
            os.close(fd)
    old = time.time_ns() - age_seconds * 10**9
    for folder, _dirs, _files in os.walk(root):
        os.utime(folder, ns=(old, old))
    return datasets


def temp_root(prefix: str = "maggot-bench-") -> Path:
    """A fresh temporary folder on the disk (/tmp is ext4 here, not tmpfs: checked by callers)."""
    return Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BENCH_TMP", "/tmp")))


def remove_tree(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--folders", type=int, default=100_000)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    build_tree(args.root, args.folders)
    print(f"built {args.folders} folders in {time.perf_counter() - started:.1f} s at {args.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
