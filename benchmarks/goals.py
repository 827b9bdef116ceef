"""Issue #13's goals table, filled from one ``run_all.py`` run.

Benchmarks report a figure either as a JSON line in ``$BENCH_FIGURES``
(:func:`benchstats.figure`) or, for the scripts that predate it, in their printed summary,
which the patterns below read. A goal whose figure did not come out says so (and why, when
its script failed) rather than vanishing from the table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Row:
    figure: str
    ours: str
    baseline: str
    ratio: str
    goal: str
    met: str


@dataclass(frozen=True)
class Goal:
    """One line of the issue's table: where its figure comes from."""

    figure: str
    goal: str
    script: str
    key: str  # a figure name prefix (JSON lines) or a pattern name (printed summary)


GOALS = (
    Goal("client upload vs curl --upload-file, to the emulator", ">= 0.95", "bench_upload.py",
         "upload-emulator"),
    Goal("client upload to the discarder vs min(curl, md5sum)", ">= 0.9", "bench_upload.py",
         "upload-discard"),
    Goal("publish of a new 1 GiB dataset vs curl --upload-file", ">= 0.9", "bench_publish.py",
         "publish of a new"),
    Goal("client peak RSS during a 1 GiB upload", "<= 60 MB, no growth", "bench_upload.py",
         "upload-rss"),
    Goal("200 x 100 KB at 0.3 s latency, concurrency 4 vs 1", ">= 3.5x faster",
         "bench_concurrency.py", "200 x 100 KB"),
    Goal("emulator p50 at 10 000 depositions vs at 100", "<= 1.5", "bench_emulator.py",
         "emulator-scale"),
    Goal("READY, 10 000 datasets / 100 000 folders: first start", "<= 1.5x find",
         "bench_watch_site.py", "ready-first"),
    Goal("READY, same site: restart", "<= 1.5x find", "bench_watch_site.py", "ready-restart"),
    Goal("status on 10 000 datasets", "<= 0.5 s", "bench_status.py", "status on 10000"),
    Goal("daemon RSS on that site (inotify)", "<= 120 MB", "bench_watch_site.py", "site-rss"),
)  # fmt: skip

_NUM = r"([0-9.]+)"


def _upload_emulator(text: str) -> Row | None:
    speeds = re.search(rf"to the emulator:\s+client\s+{_NUM} MB/s, curl\s+{_NUM}", text)
    ratio = re.search(rf"client/curl to the emulator, median of rounds: {_NUM}", text)
    if not (speeds and ratio):
        return None
    r = float(ratio.group(1))
    return Row("", f"{speeds.group(1)} MB/s", f"curl {speeds.group(2)} MB/s", f"{r:.2f}", "",
               _yes(r >= 0.95))  # fmt: skip


def _upload_discard(text: str) -> Row | None:
    speeds = re.search(
        rf"to the discarder: client\s+{_NUM} MB/s, curl\s+{_NUM}, md5sum\s+{_NUM} MB/s", text
    )
    ratio = re.search(rf"client/min\(curl, md5sum\) to the discarder, median: {_NUM}", text)
    if not (speeds and ratio):
        return None
    r = float(ratio.group(1))
    base = f"curl {speeds.group(2)}, md5sum {speeds.group(3)} MB/s"
    return Row("", f"{speeds.group(1)} MB/s", base, f"{r:.2f}", "", _yes(r >= 0.9))


def _upload_rss(text: str) -> Row | None:
    m = re.search(rf"client peak RSS {_NUM} MiB .*?growth during the upload\s+{_NUM} MiB", text)
    if not m:
        return None
    peak, growth = float(m.group(1)), float(m.group(2))
    mb = peak * 1.048576
    met = mb <= 60 and growth <= 1.0  # "no growth": within a MiB (allocator noise)
    ours = f"{peak:.1f} MiB, growth {growth:.1f} MiB"
    return Row("", ours, "goal 60 MB", f"{mb / 60:.2f}", "", _yes(met))


def _emulator_scale(text: str) -> Row | None:
    every = re.search(rf"\ball:\s+{_NUM} ms vs\s+{_NUM} ms", text)
    ratio = re.search(rf"scale ratio \(goal <= 1.5\): {_NUM}", text)
    if not ratio:
        return None
    r = float(ratio.group(1))
    ours = f"{every.group(1)} ms" if every else "?"
    base = f"{every.group(2)} ms at 100" if every else "?"
    return Row("", ours, base, f"{r:.2f}", "", _yes(r <= 1.5))


def _ready(label: str) -> Callable[[str], Row | None]:
    def parse(text: str) -> Row | None:
        m = re.search(rf"{label}\s+{_NUM} s\s+find\s+{_NUM} s\s+ratio\s+{_NUM}", text)
        if not m:
            return None
        r = float(m.group(3))
        return Row("", f"{m.group(1)} s", f"find {m.group(2)} s", f"{r:.2f}", "", _yes(r <= 1.5))

    return parse


def _site_rss(text: str) -> Row | None:
    m = re.search(rf"RSS at READY: first start {_NUM} MB; restart {_NUM} MB \(peak {_NUM}\)", text)
    if not m:
        return None
    worst = max(float(m.group(1)), float(m.group(2)), float(m.group(3)))
    ours = f"first {m.group(1)} MB, restart {m.group(2)} MB (peak {m.group(3)})"
    return Row("", ours, "120 MB", f"{worst / 120:.2f}", "", _yes(worst <= 120))


PATTERNS: dict[str, Callable[[str], Row | None]] = {
    "upload-emulator": _upload_emulator,
    "upload-discard": _upload_discard,
    "upload-rss": _upload_rss,
    "emulator-scale": _emulator_scale,
    "ready-first": _ready(r"first start \(baseline\) → READY"),
    "ready-restart": _ready(r"restart → READY"),
    "site-rss": _site_rss,
}


def _yes(met: bool) -> str:
    return "yes" if met else "NO"


def read_figures(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def rows(outputs: dict[str, str], figures: list[dict[str, object]], failed: set[str]) -> list[Row]:
    """One row per goal: the figure measured, or why there is none."""
    out = []
    for g in GOALS:
        row = _from_json(g, figures) or _from_text(g, outputs.get(g.script, ""))
        if row is None:
            why = "script failed" if g.script in failed else "not measured"
            if g.script not in outputs:
                why = "not run"
            row = Row("", f"— ({why}: {g.script})", "—", "—", "", "—")
        out.append(Row(g.figure, row.ours, row.baseline, row.ratio, g.goal, row.met))
    return out


def _from_json(g: Goal, figures: list[dict[str, object]]) -> Row | None:
    for f in figures:
        if str(f.get("figure", "")).startswith(g.key):
            ratio = float(f["ratio"])  # type: ignore[arg-type]  # JSON number
            return Row("", str(f["ours"]), str(f["baseline"]), f"{ratio:.2f}", "",
                       _yes(bool(f["met"])))  # fmt: skip
    return None


def _from_text(g: Goal, text: str) -> Row | None:
    parse = PATTERNS.get(g.key)
    return parse(text) if parse is not None else None


def table(found: list[Row]) -> str:
    head = ("figure", "ours", "baseline", "ratio", "goal", "met")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in found:
        lines.append(f"| {r.figure} | {r.ours} | {r.baseline} | {r.ratio} | {r.goal} | {r.met} |")
    return "\n".join(lines)
