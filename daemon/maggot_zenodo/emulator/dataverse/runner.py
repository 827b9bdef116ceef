"""Start and stop a Dataverse emulator in a background thread (what tests and demos use)."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

from maggot_zenodo.emulator.dataverse.api import Api
from maggot_zenodo.emulator.dataverse.faults import FaultInjector, parse_spec
from maggot_zenodo.emulator.dataverse.messages import Timing
from maggot_zenodo.emulator.dataverse.schema import load_schema
from maggot_zenodo.emulator.dataverse.server import DataverseServer
from maggot_zenodo.emulator.dataverse.store import Store
from maggot_zenodo.emulator.ratelimit import RateLimiter, parse_rate


class DataverseHandle:
    """A running emulator: ``base_url``, ``state()``, ``set_faults()``, ``reset()``, ``stop()``."""

    def __init__(self, server: DataverseServer, data_dir: Path) -> None:
        self.server, self.data_dir = server, data_dir
        self.base_url = server.base_url
        self.api_url = self.base_url + "/api"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"dataverse-emulator-{server.server_address[1]}",
        )
        self._thread.start()
        self._stopped = False

    def state(self) -> dict[str, Any]:
        return self.server.state()

    def set_faults(self, spec: str | dict[str, Any] | None = None, **kw: Any) -> None:
        self.server.faults.configure(parse_spec(spec if spec is not None else (kw or {"rate": 0})))

    def reset(self) -> None:
        self.server.reset()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self.server.shutdown()
            self.server.server_close()
            self._thread.join(timeout=10)

    def __enter__(self) -> DataverseHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_dataverse(
    data_dir: Path | str,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    collection: str = "maggot",
    tokens: tuple[str, ...] | list[str] = (),
    faults: str | dict[str, Any] | None = None,
    seed: int | None = None,
    schema_dir: Path | None = None,
    metadata_languages: tuple[str, ...] = (),
    timing: Timing | None = None,
    rate_limit: str | int | None = None,
    quiet: bool = True,
) -> DataverseHandle:
    """Run the server on ``host:port`` (0: a free port) in a daemon thread."""
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    schema = replace(load_schema(schema_dir), metadata_languages=tuple(metadata_languages))
    api = Api(Store(data), schema, collection, timing or Timing())
    server = DataverseServer(
        (host, port), api, frozenset(tokens), FaultInjector(parse_spec(faults, seed))
    )
    server.quiet = quiet
    if rate_limit is not None:
        server.limiter = RateLimiter(parse_rate(rate_limit))
    return DataverseHandle(server, data)
