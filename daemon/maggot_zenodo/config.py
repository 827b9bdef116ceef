"""Load and check the YAML configuration.

The file is checked against a JSON schema (``data/config-schema.json``) so that a
sysadmin's typo is refused at start with one message naming the file, the key and
the fix, rather than discovered at the first semaphore.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import jsonschema
import yaml

from maggot_zenodo import constants
from maggot_zenodo.config_errors import (
    ACCESS_HINT,
    ConfigAccessDenied,
    ConfigError,
    check_zenodo_url,
    error_rank,
    explain,
    type_name,
)
from maggot_zenodo.metrics_config import MetricsConfig

_T = TypeVar("_T")

DEFAULT_CONFIG_PATH = Path(constants.DEFAULT_CONFIG_PATH)
CONFIG_ENV = constants.CONFIG_ENV


@dataclass(frozen=True)
class SecretSource:
    """Where a secret comes from: a ``file``, a systemd ``credential`` or an ``env`` variable."""

    kind: str
    value: str
    repository: str = "Zenodo"  # whose token: named in every message about it


@dataclass(frozen=True)
class StorageConfig:
    root: Path
    semaphore: str = constants.DEFAULT_SEMAPHORE
    watch: str = "auto"
    poll_interval: float = 30.0
    settle: float = 5.0
    rescan_interval: float = 3600.0
    # Added by the watch engineer (#9, #15): what is never looked into, what semaphores already
    # there at first start mean, and how often the storage's lease file is renewed.
    exclude: tuple[str, ...] = ()
    existing: str = "ignore"
    lease_interval: float = 30.0


@dataclass(frozen=True)
class ZenodoConfig:
    url: str = "https://zenodo.org"
    token: SecretSource | None = None
    publish: bool = False
    communities: tuple[str, ...] = ()
    include_metadata_file: bool = True
    adopt: str = "title"  # title | never: adopt a deposition Maggot's web publisher made
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    rate_limit: int = 90
    max_retries: int = 8
    min_upload_rate: int = 1_048_576
    upload_concurrency: int = 4  # a dataset's files sent at once (#13)
    max_files: int = 100
    max_file_size: int = 50_000_000_000
    max_record_size: int = 50_000_000_000


@dataclass(frozen=True)
class DataverseConfig:
    """The optional Dataverse repository (#14): a collection on one installation."""

    url: str = ""
    token: SecretSource | None = None
    collection: str = ""
    publish: bool = False
    release: str = "major"
    metadata_language: str | None = None
    include_metadata_file: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 300.0
    max_retries: int = 6
    lock_timeout: float = 600.0
    max_files: int = 1000
    max_file_size: int = 50_000_000_000
    max_record_size: int = 500_000_000_000


@dataclass(frozen=True)
class TokensConfig:
    owners_dir: Path | None = None


@dataclass(frozen=True)
class MaggotConfig:
    conf_dir: Path | None = None
    cvlist_dir: Path | None = None
    max_metadata_size: int = 5_000_000


@dataclass(frozen=True)
class Config:
    storage: StorageConfig
    zenodo: ZenodoConfig = field(default_factory=ZenodoConfig)
    tokens: TokensConfig = field(default_factory=TokensConfig)
    maggot: MaggotConfig = field(default_factory=MaggotConfig)
    state: Path = Path("/var/lib/maggot-zenodo/state.db")
    dataverse: DataverseConfig | None = None
    workers: int = 2
    shutdown_timeout: float = 30.0
    log_level: str = "info"
    source: Path | None = None
    metrics: MetricsConfig = field(default_factory=MetricsConfig)


@cache
def config_schema() -> dict[str, Any]:
    """The JSON schema every configuration file is checked against."""
    text = resources.files("maggot_zenodo").joinpath("data/config-schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def default_config_path() -> Path:
    """``$MAGGOT_ZENODO_CONFIG`` when set, else ``/etc/maggot-zenodo/config.yaml``."""
    env = os.environ.get(CONFIG_ENV)
    return Path(env) if env else DEFAULT_CONFIG_PATH


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read, check and return the configuration at ``path`` (or the default path)."""
    config_path = Path(path) if path is not None else default_config_path()
    source = str(config_path)
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            source,
            "",
            "the configuration file does not exist",
            f"create it (see etc/config.example.yaml) or point --config or ${CONFIG_ENV} at one",
        ) from None
    except PermissionError:
        raise ConfigAccessDenied(source) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            source,
            "",
            f"cannot be read ({exc.__class__.__name__}: {getattr(exc, 'strerror', None) or exc})",
            "make it a UTF-8 text file readable by the service user",
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        raise ConfigError(
            source,
            "",
            f"is not valid YAML ({where}: {getattr(exc, 'problem', exc)})",
            "correct the YAML syntax at that place",
        ) from None
    return parse_config(
        data if data is not None else {}, source=source, base_dir=config_path.parent
    )


def parse_config(data: Any, source: str = "<config>", base_dir: Path | None = None) -> Config:
    """Check a parsed YAML document and build a :class:`Config`.

    Relative paths are taken relative to ``base_dir`` (the configuration file's folder),
    so that a config file and the paths it names can be moved together.
    """
    if not isinstance(data, dict):
        raise ConfigError(
            source,
            "",
            f"the top level must be a mapping of keys, not {type_name(data)}",
            "start the file with keys such as 'storage:' and 'zenodo:'",
        )
    validator = jsonschema.Draft202012Validator(config_schema())
    errors = sorted(validator.iter_errors(data), key=error_rank)
    if errors:
        raise explain(errors[0], source, config_schema())
    return _build(data, source, base_dir or Path.cwd())


def _section(cls: type[_T], data: dict[str, Any], **fixed: Any) -> _T:
    """A config dataclass from one YAML section: the keys given (floats made float, lists
    made tuples), ``fixed`` values as they are, the dataclass's defaults for the rest (the
    schema's defaults equal them: tests/base/test_config_defaults.py holds them together)."""
    values: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]  # every _T is a dataclass
        if f.name in fixed:
            values[f.name] = fixed[f.name]
        elif f.name in data:
            value = data[f.name]
            if f.type == "float":
                value = float(value)
            elif isinstance(value, list):
                value = tuple(value)
            values[f.name] = value
    return cls(**values)


def _build(data: dict[str, Any], source: str, base_dir: Path) -> Config:
    def path(value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else (base_dir / p)

    st = data["storage"]
    zd = data.get("zenodo") or {}
    tk = data.get("tokens") or {}
    mg = data.get("maggot") or {}
    token = zd.get("token")
    token_source = SecretSource(*next(iter(token.items()))) if token else None
    if token_source and token_source.kind == "file":
        token_source = SecretSource("file", str(path(token_source.value)))
    owners_dir = path(tk.get("owners_dir"))
    dataverse = _dataverse(data, source, path)
    if "zenodo" not in data and dataverse is None:
        raise ConfigError(
            source,
            "zenodo",
            "missing required key",
            "add a 'zenodo:' section with at least 'token:' (or a 'dataverse:' section)",
        )
    if token_source is None and owners_dir is None and "zenodo" in data:
        raise ConfigError(
            source,
            "zenodo.token",
            "no Zenodo token is configured",
            "add 'zenodo.token: {credential: zenodo-token}' (systemd LoadCredential=), "
            "'{file: /etc/maggot-zenodo/token}' or '{env: ZENODO_TOKEN}', or set tokens.owners_dir",
        )
    url = check_zenodo_url(zd.get("url", ZenodoConfig.url), source)
    return _section(
        Config,
        data,
        storage=_section(StorageConfig, st, root=path(st["root"])),
        zenodo=_section(ZenodoConfig, zd, url=url, token=token_source),
        tokens=_section(TokensConfig, tk, owners_dir=owners_dir),
        maggot=_section(
            MaggotConfig,
            mg,
            conf_dir=path(mg.get("conf_dir")),
            cvlist_dir=path(mg.get("cvlist_dir")),
        ),
        state=path(data.get("state", str(Config.state))),
        dataverse=dataverse,
        source=Path(source) if source != "<config>" else None,
        metrics=MetricsConfig.from_section(data.get("metrics") or {}, path),
    )


def _dataverse(data: dict[str, Any], source: str, path: Any) -> DataverseConfig | None:
    """The ``dataverse:`` section, or None when the site has no Dataverse."""
    dv = data.get("dataverse")
    if dv is None:
        return None
    token = dv.get("token")
    if not token:
        raise ConfigError(
            source,
            "dataverse.token",
            "no Dataverse token is configured",
            "add 'dataverse.token: {credential: dataverse-token}' (systemd LoadCredential=), "
            "'{file: /etc/maggot-zenodo/dataverse-token}' or '{env: DATAVERSE_TOKEN}'",
        )
    kind, value = next(iter(token.items()))
    secret = SecretSource(kind, str(path(value)) if kind == "file" else value, "Dataverse")
    url = check_zenodo_url(dv["url"], source, "dataverse.url")
    return _section(DataverseConfig, dv, url=url, token=secret)


__all__ = [
    "ACCESS_HINT",
    "CONFIG_ENV",
    "DEFAULT_CONFIG_PATH",
    "Config",
    "ConfigAccessDenied",
    "ConfigError",
    "DataverseConfig",
    "MaggotConfig",
    "SecretSource",
    "StorageConfig",
    "TokensConfig",
    "ZenodoConfig",
    "check_zenodo_url",
    "config_schema",
    "default_config_path",
    "load_config",
    "parse_config",
]
