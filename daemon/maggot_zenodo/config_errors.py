"""The configuration's errors, in a sysadmin's words: which file, which key, what is wrong and
the fix. A schema error is explained without ever repeating a value written under a token key
(it may be the token itself). Imported by ``config``; imports only the bottom modules.
"""

from __future__ import annotations

import difflib
import urllib.parse
from typing import Any

import jsonschema

from maggot_zenodo.errors import UserError


class ConfigError(UserError):
    """A configuration problem naming the file, the key and the fix; the CLI exits 2."""

    def __init__(self, source: str, key: str, problem: str, fix: str) -> None:
        self.source, self.key, self.problem, self.fix = source, key, problem, fix
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {problem}. Fix: {fix}", fix)


#: What a user who may not read the configuration or the state is told to do.
ACCESS_HINT = "run as root or as a member of group maggot-zenodo"


class ConfigAccessDenied(ConfigError):
    """The configuration file exists but this user may not read it (an administrator's file)."""

    def __init__(self, source: str) -> None:
        super().__init__(source, "", "permission denied", ACCESS_HINT)
        self.message = f"{source}: permission denied: {ACCESS_HINT}"
        self.args = (self.message,)


def error_rank(error: jsonschema.ValidationError) -> tuple[int, int]:
    """Report unknown keys and missing keys before type errors deeper down."""
    order = {"additionalProperties": 0, "required": 1}
    return (order.get(error.validator, 2), len(error.absolute_path))  # type: ignore[arg-type]


def _dotted(parts: Any) -> str:
    return ".".join(str(p) for p in parts)


def _known_keys(schema: dict[str, Any], schema_path: list[Any]) -> list[str]:
    node: Any = schema
    for part in schema_path:
        if part in ("additionalProperties", "required"):
            break
        node = node[part]
        if isinstance(node, dict) and "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return list(node.get("properties", {})) if isinstance(node, dict) else []


def _unknown_key(
    error: jsonschema.ValidationError, source: str, where: str, schema: dict[str, Any]
) -> ConfigError:
    instance: Any = error.instance
    node: Any = error.schema
    extra = sorted(set(instance) - set(node.get("properties", {})))
    key = f"{where}.{extra[0]}" if where else extra[0]
    known = _known_keys(schema, list(error.absolute_schema_path))
    close = difflib.get_close_matches(extra[0], known, n=1)
    fix = f"did you mean '{close[0]}'? " if close else ""
    fix += "remove it; known keys here: " + ", ".join(known)
    return ConfigError(source, key, "unknown key", fix)


def _missing_key(error: jsonschema.ValidationError, source: str, where: str) -> ConfigError:
    missing = error.message.split("'")[1]
    key = f"{where}.{missing}" if where else missing
    hint = {
        "storage": "add a 'storage:' section with 'root: /path/to/maggot/storage'",
        "zenodo": "add a 'zenodo:' section with at least 'token:'",
        "root": "add 'root: /path/to/maggot/storage' under 'storage:'",
    }.get(missing, f"add '{missing}:'")
    return ConfigError(source, key, "missing required key", hint)


def explain(error: jsonschema.ValidationError, source: str, schema: dict[str, Any]) -> ConfigError:
    """Turn a schema error into a sysadmin's message: which key, what is wrong, how to fix it."""
    where = _dotted(error.absolute_path)
    kind = error.validator
    wanted: Any = error.validator_value
    if where == "zenodo.token" or where.startswith("zenodo.token."):
        return _token_error(error, source)
    if where == "dataverse.token" or where.startswith("dataverse.token."):
        return _dataverse_token_error(error, source)
    if kind == "additionalProperties":
        return _unknown_key(error, source, where, schema)
    if kind == "required":
        return _missing_key(error, source, where)
    if kind == "type":
        wanted_s = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return ConfigError(
            source,
            where,
            f"expected {wanted_s}, got {type_name(error.instance)} {error.instance!r}",
            f"give {where} a value of type {wanted_s}",
        )
    if kind == "enum":
        allowed = ", ".join(repr(v) for v in wanted)
        return ConfigError(
            source, where, f"{error.instance!r} is not allowed", f"use one of {allowed}"
        )
    if kind in ("minProperties", "maxProperties") and where.endswith("token"):
        return ConfigError(
            source,
            where,
            "a token source needs exactly one of file, credential or env",
            "write e.g. 'token: {credential: zenodo-token}'",
        )
    if kind in ("minimum", "exclusiveMinimum", "maximum", "minLength"):
        return ConfigError(
            source,
            where,
            f"{error.instance!r} is out of range ({error.message})",
            f"choose a value within the range for {where}",
        )
    if kind == "pattern":
        fix = {
            "zenodo.url": "use an http:// or https:// URL such as https://zenodo.org",
            "storage.semaphore": "give a file name without '/'",
            "metrics.textfile": "give a file name ending in .prom (node exporter's kind)",
            "metrics.listen": "give HOST:PORT such as 127.0.0.1:9464 or [::1]:9464",
        }.get(where, f"give a value matching {wanted}")
        return ConfigError(source, where, f"{error.instance!r} has the wrong form", fix)
    return ConfigError(source, where, error.message, "see etc/config.example.yaml")


def _token_error(error: jsonschema.ValidationError, source: str) -> ConfigError:
    """A mistake under ``zenodo.token``, explained without ever repeating what was written
    there: it may be the token itself."""
    if _dotted(error.absolute_path) == "zenodo.token" and isinstance(error.instance, str):
        return ConfigError(
            source,
            "zenodo.token",
            "the token itself must not be written in the configuration file",
            "put it in a file only the service can read and write "
            "'token: {file: /etc/maggot-zenodo/token}', or use {credential: zenodo-token} "
            "(systemd LoadCredential=) or {env: ZENODO_TOKEN}",
        )
    return ConfigError(
        source,
        "zenodo.token",
        "a token source is exactly one of file, credential or env, each with a text value",
        "write e.g. 'token: {credential: zenodo-token}' or "
        "'token: {file: /etc/maggot-zenodo/token}'",
    )


def _dataverse_token_error(error: jsonschema.ValidationError, source: str) -> ConfigError:
    """A mistake under ``dataverse.token``, explained without repeating what was written."""
    if _dotted(error.absolute_path) == "dataverse.token" and isinstance(error.instance, str):
        return ConfigError(
            source,
            "dataverse.token",
            "the token itself must not be written in the configuration file",
            "put it in a file only the service can read: 'token: {file: /etc/maggot-zenodo/"
            "dataverse-token}', or use {credential: dataverse-token} or {env: DATAVERSE_TOKEN}",
        )
    return ConfigError(
        source,
        "dataverse.token",
        "a token source is exactly one of file, credential or env, each with a text value "
        "(never the token itself)",
        "write e.g. 'token: {credential: dataverse-token}'",
    )


def check_zenodo_url(url: str, source: str, key: str = "zenodo.url") -> str:
    """The Zenodo base URL without a trailing slash; refused when it could not be a site root
    (or could carry a secret: credentials and query strings are never echoed back)."""
    fix = "give the site's root, such as https://zenodo.org or https://sandbox.zenodo.org"
    try:
        parts = urllib.parse.urlsplit(url)
        port_ok = parts.port is None or parts.port > 0  # .port raises on a malformed port
    except ValueError:
        port_ok = False
    if not port_ok:
        raise ConfigError(source, key, "is not a valid URL", fix)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(source, key, "needs http:// or https:// and a host name", fix)
    if parts.username is not None or parts.password is not None:
        raise ConfigError(
            source,
            key,
            "must not hold a user name or password",
            fix + f"; the token goes in {key.split('.')[0]}.token",
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ConfigError(
            source,
            key,
            "must not have a query string or fragment (?… or #…)",
            fix + f"; never put the token in a URL, it goes in {key.split('.')[0]}.token",
        )
    return url.rstrip("/")


def type_name(value: Any) -> str:
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        type(None): "nothing",
    }.get(type(value), type(value).__name__)
