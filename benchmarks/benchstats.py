"""Small measuring helpers shared by the watch benchmarks."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time


def rss_mb(pid: int | None = None) -> float:
    """Resident set size of a process (default: this one), in MB."""
    path = f"/proc/{pid or 'self'}/status"
    with open(path) as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds() -> float:
    """User + system CPU time of this process so far."""
    t = os.times()
    return t.user + t.system


def median_p95(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


def ratio(ours: float, baseline: float) -> str:
    """``baseline / ours`` as "N.Nx faster"-style text (>1 means ours is better)."""
    if ours <= 0:
        return "inf x"
    return f"{baseline / ours:.1f}x"


def time_command(argv: list[str]) -> float:
    """Wall time of a command whose output is discarded."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def quiesce() -> None:
    """Before a timed transfer: write back every dirty page (the previous transfer's gigabyte,
    written by the emulator), so that no run pays for the one before it. It does not remove the
    rounds' spread on 2 cores (see benchmarks/README.md, 2026-12-04 full run)."""
    os.sync()


def figure(name: str, *, ours: str, baseline: str, ratio: float, goal: str, met: bool) -> None:
    """One figure of issue #13's goals table for ``run_all.py``'s final table: a JSON line
    appended to ``$BENCH_FIGURES`` when set (nothing otherwise)."""
    path = os.environ.get("BENCH_FIGURES")
    if not path:
        return
    line = {"figure": name, "ours": ours, "baseline": baseline, "ratio": ratio, "goal": goal}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps({**line, "met": met}) + "\n")


def compile_package() -> None:
    """Write the package's bytecode, as an installed copy has it (pip and the Debian package
    compile at install; an editable checkout under PYTHONDONTWRITEBYTECODE=1 never does, and
    every command it starts would compile ~100 modules first: 0.1 s of no real start-up)."""
    import compileall

    import maggot_zenodo

    compileall.compile_dir(os.path.dirname(maggot_zenodo.__file__), quiet=1)
