"""The ``metrics:`` section of the configuration (a bottom module, beside ``config``).

Kept apart so that ``config`` stays small; the section is checked by the JSON schema
(``data/config-schema.json``) before it is built here, so building it cannot fail.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class MetricsConfig:
    """Prometheus metrics: off unless ``textfile`` or ``listen`` (host, port) is set."""

    textfile: Path | None = None
    listen: tuple[str, int] | None = None
    interval: float = 15.0

    @property
    def enabled(self) -> bool:
        return self.textfile is not None or self.listen is not None

    @classmethod
    def from_section(
        cls, data: Mapping[str, Any], path: Callable[[str | None], Path | None]
    ) -> MetricsConfig:
        """Build from the schema-checked section; ``path`` resolves a relative file name."""
        listen = data.get("listen")
        address = None
        if listen:
            host, _, port = str(listen).rpartition(":")
            address = (host.removeprefix("[").removesuffix("]"), int(port))
        return cls(
            textfile=path(data.get("textfile")),
            listen=address,
            interval=float(data.get("interval", cls.interval)),
        )
