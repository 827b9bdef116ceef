"""``maggot-zenodo status`` and ``status --json`` on a journal of 10 000 datasets.

The journal is a real one (made by :class:`Journal`, then filled in one transaction with
10 000 rows in a site's mix of states, each with four files). Each command runs as a
subprocess, as an administrator types it (interpreter start-up included), ``--runs`` times;
figures are medians. Baseline in the same run: ``sqlite3`` printing the same rows. Goal
(issue #13 §5): ``status`` on 10 000 datasets <= 0.5 s.

    python benchmarks/bench_status.py [--datasets 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchstats import compile_package, figure
from maggot_zenodo.state.journal import Journal

URL = "http://127.0.0.1:9"
STATES = ("published", "published", "published", "draft", "failed", "queued")


def name(i: int) -> str:
    return f"team{i // 100:03d}/ds{i:05d}"


def fill(db: Path, n: int) -> None:
    Journal(db).close()  # the schema, as the daemon makes it
    files = json.dumps(
        [{"name": f"table{j}.csv", "size": 200_000, "md5": f"{j:032x}"} for j in range(4)]
    )
    rows = []
    for i in range(n):
        state = STATES[i % len(STATES)]
        done = state in ("published", "draft")
        rows.append(
            (
                URL, "site", name(i), f"/srv/maggot/{name(i)}",
                1000 + i if done else None, f"{URL}/deposit/{1000 + i}" if done else None,
                f"10.5281/zenodo.{1000 + i}" if state == "published" else None, state,
                "The licence is missing." if state == "failed" else None,
                files if done else "[]", time.time() - i,
            )
        )  # fmt: skip
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO datasets (zenodo_url, account, folder, abs_folder, deposition_id, "
            "deposit_url, doi, status, error, files, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )


def timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[-1]} failed ({done.returncode}): {done.stderr[-2000:]!r}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    compile_package()
    with tempfile.TemporaryDirectory(prefix="bench-status-") as tmp:
        work = Path(tmp)
        db = work / "state.db"
        fill(db, args.datasets)
        (work / "storage").mkdir()
        config = work / "config.yaml"
        settings = {
            "storage": {"root": str(work / "storage")},
            "zenodo": {"url": URL, "token": {"env": "ZENODO_TOKEN"}},
            "state": str(db),
        }
        config.write_text(json.dumps(settings))
        env = dict(os.environ, ZENODO_TOKEN="bench-token-not-used", COLUMNS="160")
        cmd = [sys.executable, "-m", "maggot_zenodo", "status", "--config", str(config)]
        query = "SELECT folder, status, deposition_id, deposit_url, doi, files, updated, error"
        sql = ["sqlite3", str(db), f"{query} FROM datasets ORDER BY folder"]
        table, js, base = [], [], []
        for _ in range(args.runs):
            table.append(timed(cmd, env))
            js.append(timed([*cmd, "--json"], env))
            base.append(timed(sql, env))
    t, j, b = (statistics.median(x) for x in (table, js, base))
    load = os.getloadavg()[0]
    print(
        f"bench_status: {args.datasets} datasets in the journal, {args.runs} runs (load {load:.1f})"
    )
    print(f"  status        {t:.3f} s   sqlite3 {b:.3f} s   ratio {t / b:.2f}   goal <= 0.5 s")
    print(f"  status --json {j:.3f} s   sqlite3 {b:.3f} s   ratio {j / b:.2f}")
    figure(
        f"status on {args.datasets} datasets",
        ours=f"{t:.3f} s (--json {j:.3f} s)",
        baseline=f"sqlite3 {b:.3f} s",
        ratio=t / b,
        goal="<= 0.5 s",
        met=t <= 0.5,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
