"""Run every ``benchmarks/bench_*.py`` in turn with this interpreter, then print issue #13's
goals table (every figure with its baseline, ratio and goal); fail if a benchmark fails.

python benchmarks/run_all.py [--only NAME ...]    (NAME: bench_publish, publish, ...)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import goals  # noqa: E402 - the benchmarks folder is not a package


def run(script: Path, env: dict[str, str]) -> tuple[int, str]:
    """Run ``script``, echoing its output as it comes; its exit code and its output."""
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env, bufsize=1
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        print(line, end="", flush=True)
        lines.append(line)
    return proc.wait(), "".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=[], help="run only these benchmarks")
    args = parser.parse_args(argv)
    wanted = {n if n.startswith("bench_") else f"bench_{n}" for n in args.only}
    scripts = [s for s in sorted(HERE.glob("bench_*.py")) if not wanted or s.stem in wanted]
    if not scripts:
        print("no benchmarks found", file=sys.stderr)
        return 1
    failed: set[str] = set()
    outputs: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="bench-figures-") as tmp:
        figures = Path(tmp) / "figures.jsonl"
        env = dict(os.environ, BENCH_FIGURES=str(figures))
        for script in scripts:
            print(f"=== {script.name}", flush=True)
            started = time.perf_counter()
            code, outputs[script.name] = run(script, env)
            elapsed = time.perf_counter() - started
            status = "ok" if code == 0 else f"FAILED (exit {code})"
            print(f"=== {script.name}: {status} in {elapsed:.1f} s\n", flush=True)
            if code != 0:
                failed.add(script.name)
        found = goals.rows(outputs, goals.read_figures(figures), failed)
    load = os.getloadavg()
    print(f"Issue #13 goals (load average {load[0]:.1f} / {load[2]:.1f} on {os.cpu_count()} cores)")
    print(goals.table(found))
    if failed:
        print(f"failed: {', '.join(sorted(failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
