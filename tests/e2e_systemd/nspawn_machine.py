"""A Debian container booted with systemd-nspawn: a real systemd as PID 1 on a machine whose own
PID 1 is not systemd (see SYSTEMD-E2E.md in the team's shared notes).

The container shares the host's network (no --private-network), so 127.0.0.1 inside reaches a
server the host runs on loopback. ``systemctl -M`` works through a machine file written by hand
in /run/systemd/machines, which :meth:`Machine.stop` always removes.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from testkit import wait_for

T = TypeVar("T")
MACHINES = Path("/run/systemd/machines")
CLEAN_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class MachineError(RuntimeError):
    """The container could not be booted or a command in it failed."""


def boot_blockers() -> str | None:
    """Why this host cannot boot a container, or None. Root and the tools are needed."""
    if os.geteuid() != 0:
        return "not root"
    for tool in ("systemd-nspawn", "nsenter", "systemctl"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            return f"{tool} is not installed"
    return None


class Machine:
    """One booted container; use as a context manager so that it is always halted."""

    def __init__(self, root: Path, name: str, binds: Sequence[tuple[Path, str]] = ()) -> None:
        self.root, self.name, self.binds = root, name, list(binds)
        self.log_path = root.parent / f"{name}.nspawn.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.leader: int | None = None

    # -- life cycle ------------------------------------------------------------------------
    def start(self, timeout: float = 60.0) -> None:
        cmd = ["systemd-nspawn", "-D", str(self.root), "-M", self.name, "--boot"]
        cmd += ["--register=no", "--keep-unit", "--console=pipe"]
        cmd += [f"--bind={host}:{inside}" for host, inside in self.binds]
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.leader = wait_for(self._find_leader, 30, "systemd to start in the container", step=0.1)
        MACHINES.mkdir(parents=True, exist_ok=True)
        (MACHINES / self.name).write_text(
            f"NAME={self.name}\nLEADER={self.leader}\nCLASS=container\n", encoding="utf-8"
        )
        # Right after the leader appears, systemd may not answer on its socket yet: an empty
        # answer (connection refused) is retried; a real state ends the wait.
        deadline = time.monotonic() + timeout
        state = ""
        while not state and time.monotonic() < deadline:
            done = self.run(
                ["systemctl", "is-system-running", "--wait"], check=False, timeout=timeout
            )
            state = done.stdout.strip()
            if not state:
                time.sleep(0.2)
        if state not in ("running", "degraded"):
            raise MachineError(
                f"container booted into state {state!r} ({done.stderr.strip()}); "
                f"see {self.log_path}"
            )

    def _find_leader(self) -> int | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise MachineError(f"systemd-nspawn exited with {self.proc.returncode}:\n{tail}")
        out = subprocess.run(
            ["pgrep", "-P", str(self.proc.pid), "-x", "systemd"], capture_output=True, text=True
        ).stdout.split()
        return int(out[0]) if out else None

    def stop(self, timeout: float = 30.0) -> None:
        """Halt the container (SIGTERM to nspawn: a clean shutdown), kill it if it hangs."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(10)
        finally:
            (MACHINES / self.name).unlink(missing_ok=True)

    def __enter__(self) -> Machine:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- commands --------------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        check: bool = True,
        timeout: float = 60.0,
        input: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run a command inside the container, with a clean environment (not the host's)."""
        assert self.leader is not None
        cmd = ["nsenter", "-t", str(self.leader), "-a", "env", "-i", CLEAN_PATH, "LANG=C.UTF-8"]
        done = subprocess.run(
            [*cmd, *argv], capture_output=True, text=True, timeout=timeout, input=input
        )
        if check and done.returncode:
            raise MachineError(
                f"{' '.join(argv)} exited with {done.returncode}:\n{done.stdout}{done.stderr}"
            )
        return done

    def systemctl(self, *args: str, check: bool = True, timeout: float = 120.0):
        """``systemctl -M NAME ...`` from the host, as a sysadmin would type it."""
        done = subprocess.run(
            ["systemctl", "-M", self.name, *args], capture_output=True, text=True, timeout=timeout
        )
        if check and done.returncode:
            raise MachineError(
                f"systemctl {' '.join(args)} exited with {done.returncode}:\n"
                f"{done.stdout}{done.stderr}"
            )
        return done

    def show(self, unit: str, *props: str) -> dict[str, str]:
        out = self.systemctl("show", "-p", ",".join(props), unit).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def journal(self, *args: str) -> list[dict[str, object]]:
        """Journal entries as JSON objects (``journalctl -o json``), after a sync."""
        self.run(["journalctl", "--sync"], check=False)
        out = self.run(["journalctl", "-o", "json", "--no-pager", *args], check=False).stdout
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]

    def journal_text(self) -> str:
        """The whole journal, every field of every entry, as journalctl prints it."""
        self.run(["journalctl", "--sync"], check=False)
        done = self.run(["journalctl", "-o", "json", "--no-pager", "--all"], check=False)
        return done.stdout

    def write(self, path: str, text: str, mode: int = 0o644) -> None:
        """Write a file into the container's file system (from the host side)."""
        target = self.root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        os.chmod(target, mode)


def exposure(security_output: str, unit: str) -> float:
    """The overall exposure figure printed by ``systemd-analyze security UNIT``."""
    match = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+)", security_output)
    if not match:
        raise ValueError(f"no exposure figure in:\n{security_output[-500:]}")
    return float(match.group(1))
