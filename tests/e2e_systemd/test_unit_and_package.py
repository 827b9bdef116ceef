"""Quick checks of what sysadmins get, without booting anything: the unit (systemd-analyze on
the host), the example configuration (every key, the schema's defaults) and the .deb's content.
The same unit is checked again, installed and running, by test_systemd_e2e.py."""

from __future__ import annotations

import gzip
import itertools
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from nspawn_machine import exposure

from maggot_zenodo.config import config_schema, load_config

PROJECT = Path(__file__).resolve().parents[2]
UNIT = PROJECT / "systemd" / "maggot-zenodo.service"
EXAMPLE = PROJECT / "etc" / "config.example.yaml"
MAX_EXPOSURE = 2.0
# One worker runs the e2e folder, one test after the other (containers, the .deb build).
pytestmark = pytest.mark.xdist_group("e2e")

needs_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed"
)


def unit_settings(text: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file, in order, ignoring comments and sections."""
    settings: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def test_unit_has_the_promised_settings() -> None:
    s = unit_settings(UNIT.read_text(encoding="utf-8"))
    expected = {
        "Type": "notify",
        "Restart": "on-failure",
        "User": "maggot-zenodo",
        "StateDirectory": "maggot-zenodo",
        "ConfigurationDirectory": "maggot-zenodo",
        "LoadCredential": "zenodo-token:/etc/maggot-zenodo/token",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "PrivateDevices": "yes",
        "NoNewPrivileges": "yes",
        "ProtectProc": "invisible",
        "ProcSubset": "pid",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
        "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native",
        "CapabilityBoundingSet": "",
        "AmbientCapabilities": "",
        "UMask": "0027",
        "DevicePolicy": "closed",
        "KillMode": "mixed",
    }
    assert {k: s.get(k, ["<missing>"])[-1] for k in expected} == expected
    assert s["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    assert "IPAddressDeny" not in s  # Zenodo must stay reachable
    # Errors a restart cannot fix stop it once: bad configuration (2), no token (243).
    assert s["RestartPreventExitStatus"] == ["2 243"]
    # A reload validates the file before it signals: a bad one fails the reload.
    assert s["ExecReload"] == [
        "/usr/bin/maggot-zenodo validate --config-only"
        " --config ${CONFIGURATION_DIRECTORY}/config.yaml",
        "/bin/kill -HUP $MAINPID",
    ]
    # The watchdog is on, and systemd waits longer at stop than the daemon's own grace period.
    assert int(s["WatchdogSec"][-1].rstrip("s")) > 0
    default_grace = config_schema()["properties"]["shutdown_timeout"]["default"]
    assert int(s["TimeoutStopSec"][-1].rstrip("s")) > default_grace
    # Every setting is explained: each Key= line follows a comment or another setting.
    lines = [ln for ln in UNIT.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for before, line in itertools.pairwise(lines):
        if re.match(r"^[A-Za-z]+=", line):
            assert before.startswith("#") or re.match(r"^[A-Za-z]+=", before), line


def _host_copy(tmp_path: Path) -> Path:
    """The unit with ExecStart= pointing at a program that exists on this host."""
    exe = shutil.which("maggot-zenodo") or str(PROJECT / ".venv" / "bin" / "maggot-zenodo")
    text = UNIT.read_text(encoding="utf-8").replace("/usr/bin/maggot-zenodo", exe)
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return copy


@needs_analyze
def test_unit_verifies_clean(tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(_host_copy(tmp_path))], capture_output=True, text=True
    )
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr


@needs_analyze
def test_unit_exposure_offline(tmp_path: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--no-pager", str(_host_copy(tmp_path))],
        capture_output=True,
        text=True,
    )
    figure = exposure(done.stdout, UNIT.name)
    print(f"systemd-analyze security --offline: exposure {figure}")
    assert figure <= MAX_EXPOSURE, done.stdout


def _schema_keys(node: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted key → schema default (or ``...`` when none), objects descended into."""
    keys: dict[str, Any] = {}
    for name, sub in node.get("properties", {}).items():
        dotted = f"{prefix}{name}"
        if sub.get("type") == "object" and "properties" in sub:
            keys.update(_schema_keys(sub, dotted + "."))
        else:
            keys[dotted] = sub.get("default", ...)
    return keys


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict) and key != "token":
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def test_config_example_is_valid_and_shows_every_key_with_its_default() -> None:
    config = load_config(EXAMPLE)
    assert config.zenodo.token is not None and config.zenodo.token.kind == "credential"
    shown = _flatten(yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")))
    schema = _schema_keys(config_schema())
    assert sorted(shown) == sorted(schema)
    differing = {
        k: (shown[k], default)
        for k, default in schema.items()
        if default is not ... and shown[k] != default
    }
    assert differing == {}
    # Every key is commented: the line above each key is a comment or another key's value.
    lines = [ln for ln in EXAMPLE.read_text(encoding="utf-8").splitlines() if ln.strip()]
    for before, line in itertools.pairwise(lines):
        if re.match(r"^\s*[a-z_]+:\s*\S", line):
            assert before.strip().startswith("#") or before.rstrip().endswith(":"), line


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path("/usr/bin/python3").exists() or shutil.which("dpkg-deb") is None:
        pytest.skip("needs Debian's /usr/bin/python3 and dpkg-deb")
    out = tmp_path_factory.mktemp("dist")
    # This host's release and its own python3, no chroot: the layout is the same for every
    # release (`make e2e` builds and installs the trixie package in a trixie container).
    subprocess.run(
        [str(PROJECT / "packaging" / "build-deb.sh"), "--release", "host", str(out)], check=True
    )
    (found,) = out.glob("maggot-zenodo_*.deb")
    return found


def test_deb_holds_the_app_unit_user_and_conffile(deb: Path, tmp_path: Path) -> None:
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True).stdout
    entries = {line.split()[5].lstrip("."): line for line in listing.splitlines()}
    for path in (
        "/usr/lib/systemd/system/maggot-zenodo.service",
        "/usr/share/man/man1/maggot-zenodo.1.gz",
        "/usr/share/bash-completion/completions/maggot-zenodo",
        "/usr/share/doc/maggot-zenodo/changelog.gz",
        "/usr/share/doc/maggot-zenodo/examples/proxy.conf",
        "/usr/share/lintian/overrides/maggot-zenodo",
        "/usr/lib/sysusers.d/maggot-zenodo.conf",
        "/usr/lib/tmpfiles.d/maggot-zenodo.conf",
        "/usr/share/doc/maggot-zenodo/README.Debian",
        "/usr/share/doc/maggot-zenodo/examples/storage.conf",
        "/opt/venvs/maggot-zenodo/bin/maggot-zenodo",
        "/opt/venvs/maggot-zenodo/pyvenv.cfg",
    ):
        assert path in entries, path
    assert entries["/etc/maggot-zenodo/config.yaml"].startswith("-rw-r----- root/root")
    assert "-> /opt/venvs/maggot-zenodo/bin/maggot-zenodo" in listing  # /usr/bin/maggot-zenodo
    assert not any(p.startswith("/lib/") for p in entries)  # merged /usr (trixie)
    info = subprocess.run(["dpkg-deb", "-f", str(deb)], capture_output=True, text=True).stdout
    # The venv is tied to the builder's python3 minor version, and says so.
    major, minor = (int(x) for x in _python3_version().split("."))
    assert f"python3 (>= {major}.{minor}), python3 (<< {major}.{minor + 1})" in info
    assert "python3-systemd" in info and "libc6 (>= " in info
    control = tmp_path / "control"
    subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True)
    assert (control / "conffiles").read_text().split() == ["/etc/maggot-zenodo/config.yaml"]
    # The venv was built in a staging folder: no path may still point there.
    tree = tmp_path / "tree"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
    venv = tree / "opt" / "venvs" / "maggot-zenodo"
    assert (
        (venv / "bin" / "maggot-zenodo")
        .read_text()
        .startswith("#!/opt/venvs/maggot-zenodo/bin/python")
    )
    leftovers = subprocess.run(
        ["grep", "-rlI", "build/deb/run.", str(venv)], capture_output=True, text=True
    ).stdout
    assert leftovers == ""
    pycs = list((venv / "lib").rglob("maggot_zenodo/__pycache__/cli.*.pyc"))
    assert pycs and b"/opt/venvs/maggot-zenodo/lib/" in pycs[0].read_bytes()
    # Compiled modules are stripped: no symbol table left (lintian: unstripped-binary).
    objects = list(venv.rglob("*.so"))
    assert objects
    for obj in objects:
        sections = subprocess.run(["readelf", "-S", str(obj)], capture_output=True, text=True)
        assert ".symtab" not in sections.stdout, obj
    # The changelog is the one in packaging/, and names the packaged version.
    changelog = gzip.decompress((tree / "usr/share/doc/maggot-zenodo/changelog.gz").read_bytes())
    assert changelog.decode().startswith(f"maggot-zenodo ({_version()}) ")
    assert b"@MAINTAINER@" not in changelog and b"localhost" not in changelog


def _python3_version() -> str:
    return subprocess.run(
        ["/usr/bin/python3", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _version() -> str:
    from maggot_zenodo import __version__

    return __version__


def test_proxy_dropin_example_names_the_proxy_and_the_ca_bundle() -> None:
    text = (PROJECT / "systemd/maggot-zenodo.service.d/proxy.conf.example").read_text()
    assert text.count("[Service]") == 1
    env = [v for k, vs in unit_settings(text).items() if k == "Environment" for v in vs]
    names = {v.split("=", 1)[0] for v in env}
    assert names == {"HTTPS_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE"}
    assert "REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt" in env
