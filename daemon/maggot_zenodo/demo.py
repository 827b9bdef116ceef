"""``make demo``: the whole story on one machine, with a local Zenodo emulator.

It builds a small storage space of its own in ``./demo-run`` (three datasets, one with data
files), starts ``maggot-zenodo emulator``, writes a config and a token file, drops the
semaphore in two datasets, publishes them, shows the ``META_zenodo.txt`` each folder received
and the journal's ``status``, then stops everything it started.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

DEMO_TOKEN = "demo-token-not-a-secret-0123456789"  # noqa: S105 - the local emulator only
SEMAPHORE = "META_datafile_ok.txt"
STAMP = ".maggot-zenodo-demo"


def say(text: str = "") -> None:
    print(text, flush=True)


def step(n: int, text: str) -> None:
    say()
    say(f"== {n}. {text}")


def _person_list(*names: str) -> list[str]:
    return list(names)


DATASETS: dict[str, dict] = {
    "SoilMicrobiome2024": {
        "record": {
            "title": "SoilMicrobiome2024",
            "fulltitle": "Soil bacterial communities under three tillage regimes, 2024 campaign",
            "subject": ["Agricultural Sciences", "Medicine Health and Life Sciences"],
            "description": "16S rRNA amplicon counts and soil chemistry of 36 plots sampled in "
            "April and September 2024 under conventional, reduced and no tillage.",
            "status": "Processed",
            "access_rights": "Public",
            "language": ["English"],
            "license": "Creative Commons Attribution 4.0 International",
            "datestart": "2024-04-02",
            "dateend": "2024-09-27",
            "contacts": _person_list("Martin Claire"),
            "authors": _person_list("Martin Claire", "Nguyen Thi Lan", "van Delft Pierre"),
            "collectors": _person_list("Nguyen Thi Lan"),
            "depositor": "Martin Claire",
            "kindOfData": ["Dataset"],
            "keywords": ["soil microbiology", "tillage", "16S rRNA"],
            "resources": [
                {
                    "datatype": "Dataset",
                    "media": "text/csv",
                    "description": "OTU counts per plot",
                    "location": "otu_counts.csv",
                },
                {
                    "datatype": "Dataset",
                    "media": "text/csv",
                    "description": "Soil chemistry per plot",
                    "location": "chemistry/soil_chemistry.csv",
                },
                {
                    "datatype": "Report",
                    "media": "text/plain",
                    "description": "How the data were collected",
                    "location": "README.txt",
                },
            ],
        },
        "files": {
            "otu_counts.csv": "plot,otu,count\n"
            + "".join(
                f"P{p:02d},OTU{o:03d},{(p * 37 + o * 11) % 500}\n"
                for p in range(1, 37)
                for o in range(1, 21)
            ),
            "chemistry/soil_chemistry.csv": "plot,pH,N_total,C_org\n"
            + "".join(
                f"P{p:02d},{6 + p % 10 / 10:.1f},{1.2 + p / 100:.2f},{14 + p % 7}\n"
                for p in range(1, 37)
            ),
            "README.txt": "Soil samples (0-15 cm) were taken with an auger, sieved at 2 mm and "
            "frozen at -80 C before DNA extraction.\n",
        },
        "semaphore": True,
    },
    "LeafImaging": {
        "record": {
            "title": "LeafImaging",
            "fulltitle": "Hyperspectral images of tomato leaves under water deficit",
            "subject": ["Agricultural Sciences"],
            "description": "Index of a hyperspectral imaging campaign; the images themselves are "
            "kept on the institute's image server.",
            "status": "In progress",
            "access_rights": "Public",
            "language": ["English"],
            "license": "Etalab V2.0 license",
            "contacts": _person_list("Dupont Marie"),
            "authors": _person_list("Dupont Marie", "Rossi Luca"),
            "kindOfData": ["Image"],
            "keywords": ["phenotyping", "hyperspectral imaging"],
            "resources": [
                {
                    "datatype": "Collection",
                    "media": "text/html",
                    "description": "Image server",
                    "location": "https://images.example.org/leafimaging/",
                }
            ],
        },
        "files": {},
        "semaphore": True,
    },
    "GrapeBerryNMR": {
        "record": {
            "title": "GrapeBerryNMR",
            "fulltitle": "1H-NMR profiles of grape berries during ripening (not yet released)",
            "subject": ["Chemistry"],
            "description": "Polar metabolite profiles; the researchers have not asked for "
            "publication yet, so no semaphore file is dropped here.",
            "contacts": _person_list("Bernard Paul"),
            "authors": _person_list("Bernard Paul"),
            "kindOfData": ["Dataset"],
            "resources": [],
        },
        "files": {},
        "semaphore": False,
    },
}


def write_storage(root: Path) -> list[Path]:
    """The demo's storage space; returns the folders that get a semaphore."""
    to_publish = []
    for name, spec in DATASETS.items():
        folder = root / "2024" / name
        folder.mkdir(parents=True)
        record = {"profile": "https://example.org/maggot/conf/maggot-schema.json", **spec["record"]}
        (folder / f"META_{name}.json").write_text(
            json.dumps(record, indent=2, ensure_ascii=False), "utf-8"
        )
        for rel, text in spec["files"].items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(text, "utf-8")
        if spec["semaphore"]:
            to_publish.append(folder)
    return to_publish


@contextlib.contextmanager
def emulator(data_dir: Path) -> Iterator[str]:
    """Run ``maggot-zenodo emulator --port 0``; yield its base URL (its first stdout line)."""
    cmd = [
        sys.executable, "-m", "maggot_zenodo", "emulator",
        "--host", "127.0.0.1", "--port", "0", "--data", str(data_dir),
        "--token", DEMO_TOKEN, "--quiet",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://"):
            raise RuntimeError(f"the emulator did not start (exit code {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def emulator_writes(url: str) -> int:
    """How many write requests the emulator has received (its test-only state endpoint)."""
    with urllib.request.urlopen(f"{url}/_emulator/state", timeout=10) as answer:  # noqa: S310
        return int(json.load(answer)["requests"]["writes"])


def write_config(run_dir: Path, storage: Path, url: str) -> Path:
    token = run_dir / "token"
    fd = os.open(token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(DEMO_TOKEN + "\n")
    config = run_dir / "config.yaml"
    config.write_text(
        textwrap.dedent(
            f"""\
            # maggot-zenodo demo configuration (see etc/config.example.yaml)
            storage:
              root: {storage}
              settle: 0
            zenodo:
              url: {url}
              token: {{file: {token}}}
              publish: false        # leave drafts to review, as Maggot does
              rate_limit: 1000
            state: {run_dir / "state.db"}
            log_level: warning
            """
        ),
        "utf-8",
    )
    return config


def main() -> int:
    from maggot_zenodo.config import load_config
    from maggot_zenodo.journal import Journal
    from maggot_zenodo.logs import setup_logging
    from maggot_zenodo.publish import Publisher
    from maggot_zenodo.publishcmd import status

    run_dir = Path("demo-run").absolute()
    if run_dir.exists():
        if not (run_dir / STAMP).exists():
            say(f"{run_dir} exists and was not made by the demo; move it away first.")
            return 2
        shutil.rmtree(run_dir)
    run_dir.mkdir()
    (run_dir / STAMP).touch()
    storage = run_dir / "storage"

    say("maggot-zenodo demo: researchers drop a file, their dataset appears on Zenodo.")
    step(1, f"A small Maggot storage space in {storage}")
    to_publish = write_storage(storage)
    for meta in sorted(storage.rglob("META_*.json")):
        extra = sorted(p.name for p in meta.parent.rglob("*") if p.is_file() and p != meta)
        say(f"   {meta.relative_to(storage)}" + (f"  + {', '.join(extra)}" if extra else ""))

    step(2, "A local Zenodo emulator (maggot-zenodo emulator --port 0)")
    with emulator(run_dir / "emulator") as url:
        say(f"   listening on {url}")
        config_path = write_config(run_dir, storage, url)
        say(f"   configuration: {config_path}   token file: {run_dir / 'token'} (mode 600)")
        config = load_config(config_path)
        setup_logging(config.log_level)

        step(3, f"Researchers drop {SEMAPHORE} in {len(to_publish)} of the 3 datasets")
        for folder in to_publish:
            (folder / SEMAPHORE).touch()
            say(f"   touch {(folder / SEMAPHORE).relative_to(storage)}")

        step(4, "maggot-zenodo publishes them")
        journal = Journal(config.state)
        publisher = Publisher(config, journal)
        ok = True
        for folder in to_publish:
            started = time.monotonic()
            outcome = publisher.publish(folder)
            took = time.monotonic() - started
            rel = folder.relative_to(storage)
            if outcome.ok:
                say(f"   {rel}: {outcome.status} -> {outcome.deposit_url}  ({took:.2f} s)")
            else:
                ok = False
                say(f"   {rel}: FAILED: {outcome.error}\n      hint: {outcome.hint}")

        step(5, "Publishing again with nothing changed sends nothing to Zenodo")
        writes = emulator_writes(url)
        for folder in to_publish:
            outcome = publisher.publish(folder)
            say(
                f"   {folder.relative_to(storage)}: {outcome.status}, "
                f"deposition {outcome.deposition_id}"
            )
        say(f"   write requests Zenodo received meanwhile: {emulator_writes(url) - writes}")
        journal.close()

        first = to_publish[0]
        step(6, f"What the researcher finds in {first.relative_to(storage)}/META_zenodo.txt")
        status_file = first / "META_zenodo.txt"
        if status_file.exists():
            for line in status_file.read_text("utf-8").splitlines():
                say(f"   | {line}")
        else:
            say("   (no META_zenodo.txt: see the error above)")

        step(7, "What the sysadmin sees: maggot-zenodo status")
        status(config)

    step(8, "Done: the emulator is stopped")
    say(f"   Everything the demo made is in {run_dir} (make clean removes it).")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
