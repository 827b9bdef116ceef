"""Start and stop an emulator in a background thread: the Python API that tests use."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from maggot_zenodo.emulator.faults import FaultSpec, parse_spec
from maggot_zenodo.emulator.ratelimit import parse_rate
from maggot_zenodo.emulator.server import EmulatorServer
from maggot_zenodo.emulator.store import Store


class EmulatorHandle:
    """A running emulator: ``base_url``, ``api_url``, ``state()``, ``set_faults()``,
    ``reset()``, ``stop()``; also a context manager."""

    def __init__(self, server: EmulatorServer, data_dir: Path) -> None:
        self.server = server
        self.data_dir = data_dir
        self.base_url = server.base_url
        self.api_url = f"{self.base_url}/api"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"zenodo-emulator-{server.server_address[1]}",
        )
        self._thread.start()
        self._stopped = False

    def url(self, path: str) -> str:
        """``handle.url("/api/deposit/depositions")`` → absolute URL."""
        return self.base_url + path

    def state(self) -> dict[str, Any]:
        """What ``GET /_emulator/state`` answers, without a request."""
        return self.server.state()

    def set_faults(self, spec: str | dict[str, Any] | FaultSpec | None = None, **kw: Any) -> None:
        """``set_faults(rate=1, kinds=["502"], count=1)`` or a spec; no argument clears."""
        self.server.faults.configure(parse_spec(spec if spec is not None else (kw or {"rate": 0})))

    def reset(self) -> None:
        self.server.reset()

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.server.shutdown()
        self.server.close_connections()
        self.server.server_close()
        self._thread.join(timeout=10)
        self.server.store.close()

    def __enter__(self) -> EmulatorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_emulator(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    tokens: tuple[str, ...] | list[str] = (),
    rate_limit: int | str | None = None,
    faults: str | dict[str, Any] | FaultSpec | None = None,
    seed: int | None = None,
    max_files: int = 100,
    max_file_size: int = 50_000_000_000,
    quota: int = 50_000_000_000,
    latency: float = 0.0,
    index_delay: float = 0.0,
    curators: tuple[str, ...] | list[str] = (),
    communities: tuple[str, ...] | list[str] = (),
    quiet: bool = True,
) -> EmulatorHandle:
    """Run the real HTTP server on ``host:port`` (0 = a free port) in a daemon thread.

    ``latency``: seconds added to every ``/api/`` request; ``index_delay``: seconds during
    which a new deposition is missing from listings (Zenodo's search index lags);
    ``curators``: community slugs that every user curates (inclusions accepted at once);
    ``communities``: slugs that exist with no curator among the API's users (requests wait)."""
    if latency < 0 or index_delay < 0:
        raise ValueError("latency and index delay must be >= 0 seconds")
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data, max_files=max_files, max_file_size=max_file_size, quota=quota)
    server = EmulatorServer(
        (host, port),
        store,
        tokens=frozenset(tokens),
        rate_limit=parse_rate(rate_limit),
        faults=parse_spec(faults, seed),
        latency=latency,
        index_delay=index_delay,
        quiet=quiet,
    )
    for slug in communities:
        store.set_community(slug, [])
    for slug in curators:
        store.set_community(slug, "all")
    return EmulatorHandle(server, data)
