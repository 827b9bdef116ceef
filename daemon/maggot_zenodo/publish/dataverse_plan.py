"""The local half of a Dataverse deposit: the site's blocks, the converted version, the files.

Nothing here writes to Dataverse. The site's metadata blocks and licences are read from the
server once per process (an hour at most) and saved in ``<state dir>/dataverse-cache/<host>``
for ``check``; the converted version is validated against them before any request.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from maggot_zenodo.config import Config
from maggot_zenodo.convert import maggot
from maggot_zenodo.convert.dataverse import BlockSet, DataverseConversion, load_cached, to_dataverse
from maggot_zenodo.convert.dataverse.blocks import block_set, save_cache
from maggot_zenodo.convert.dataverse.definition import DvRow, load_definition
from maggot_zenodo.convert.problems import DatasetError
from maggot_zenodo.dataverse.client import DataverseClient
from maggot_zenodo.logs import get_logger
from maggot_zenodo.publish import datafiles
from maggot_zenodo.publish.dataverse_repository import explained
from maggot_zenodo.publish.explain import Failure, problems_failure
from maggot_zenodo.publish.prepare import Md5Cache, Plan, md5s, relative_key

BLOCKS_TTL = 3600.0
#: What Dataverse refuses in a file's label and in its directoryLabel (FileMetadata.java).
_BAD_LABEL = re.compile(r'[:<>;#/"*|?\\]')
_DIRECTORY = re.compile(r"^[\w/. -]*$")
_blocks: dict[str, tuple[float, BlockSet]] = {}
_blocks_lock = threading.Lock()
log = get_logger("maggot_zenodo.publish.dataverse")


def cache_dir(config: Config) -> Path:
    """Where the site's blocks are saved, per Dataverse host."""
    assert config.dataverse is not None
    host = urlsplit(config.dataverse.url).netloc.replace(":", "_") or "dataverse"
    return Path(config.state).parent / "dataverse-cache" / host


def site_blocks(client: DataverseClient, config: Config, rows: Sequence[DvRow]) -> BlockSet:
    """The blocks the definition uses (citation at least) and the licences, from the server."""
    with _blocks_lock:
        cached = _blocks.get(client.base_url)
        if cached and time.monotonic() - cached[0] < BLOCKS_TTL:
            return cached[1]
    names = sorted({"citation", *(row.block for row in rows)})
    with explained():
        version = client.server_version()
        blocks = {name: client.metadata_block(name) for name in names}
        licences = client.licenses()
    log.info("dataverse site", url=client.base_url, version=version, blocks=names)
    found = block_set(list(blocks.values()), licences, f"{client.base_url} (Dataverse {version})")
    try:
        save_cache(cache_dir(config), blocks, licences)
    except OSError as exc:
        log.warning("cannot save the Dataverse blocks for check", error=str(exc))
    with _blocks_lock:
        _blocks[client.base_url] = (time.monotonic(), found)
    return found


def convert(
    config: Config,
    site: maggot.Site,
    folder: Path,
    blocks: BlockSet,
    marker: str,
    today: dt.date | None = None,
) -> tuple[maggot.Dataset, DataverseConversion]:
    """Read and convert one dataset; a Failure naming every problem."""
    assert config.dataverse is not None
    try:
        rows, _origin = load_definition(config.maggot.conf_dir)
        dataset = maggot.read_dataset(
            folder,
            site=site,
            max_size=config.maggot.max_metadata_size,
            semaphore=config.storage.semaphore,
        )
    except DatasetError as exc:
        raise problems_failure("The dataset's metadata cannot be read", exc.problems) from None
    conversion = to_dataverse(
        dataset.record,
        site,
        marker=marker,
        today=today or dt.date.today(),
        blocks=blocks,
        definition=rows,
        metadata_language=config.dataverse.metadata_language,
        require_licence=config.dataverse.publish,
    )
    if not conversion.ok:
        raise problems_failure("The metadata cannot go to Dataverse", conversion.problems)
    return dataset, conversion


def _files(config: Config, dataset: maggot.Dataset, with_files: bool) -> list[datafiles.LocalFile]:
    """Each declared file vetted alone (Dataverse keeps folders: the key is the path)."""
    assert config.dataverse is not None
    dv, folder = config.dataverse, dataset.folder
    found: list[datafiles.LocalFile] = []
    try:
        if dv.include_metadata_file:
            found += datafiles.resolve(folder, [], metadata_file=dataset.metadata_file)
        for location in datafiles.local_locations(dataset.record) if with_files else []:
            for f in datafiles.resolve(
                folder, [location], metadata_file=None, max_file_size=dv.max_file_size
            ):
                key = str(PurePosixPath(location.strip()))
                found.append(dataclasses.replace(f, key=key))
    except datafiles.DataFilesError as exc:
        raise Failure(exc.message, exc.hint, retryable=exc.retryable) from None
    unique = list({f.key: f for f in found}.values())
    bad = [
        f.location
        for f in unique
        if _BAD_LABEL.search(PurePosixPath(f.key).name)
        or not _DIRECTORY.match(str(PurePosixPath(f.key).parent).removeprefix("."))
    ]
    if bad:
        raise Failure(
            f"Dataverse does not accept these file names: {', '.join(bad)} (no "
            ': < > ; # " * | ? \\ in a name; folders only of letters, digits, '
            "'_', '-', '.', ' ').",
            "Rename the files and their resources in Maggot, then touch the semaphore again.",
        )
    if len(unique) > dv.max_files:
        raise Failure(
            f"{len(unique)} files are declared; this Dataverse takes {dv.max_files}.",
            "Declare fewer files (zip them), then touch the semaphore again.",
        )
    if sum(f.size for f in unique) > dv.max_record_size:
        raise Failure(
            "The files are larger together than dataverse.max_record_size allows.",
            "Reduce the files, then touch the semaphore again.",
        )
    return unique


def plan(
    config: Config,
    dataset: maggot.Dataset,
    conversion: DataverseConversion,
    *,
    with_files: bool,
    md5_cache: Md5Cache | None,
) -> Plan:
    files = _files(config, dataset, with_files)
    try:
        digests = md5s(files, md5_cache)
    except datafiles.DataFilesError as exc:
        raise Failure(exc.message, exc.hint, retryable=exc.retryable) from None
    assert conversion.version is not None
    warnings = tuple(p for p in conversion.problems if not p.is_error)
    return Plan(dataset.folder, conversion.version, tuple(files), digests, with_files, warnings)


def check_conversion(
    config: Config, folder: Path, today: dt.date | None = None
) -> DataverseConversion:
    """For ``check`` (no network): what would be sent to Dataverse, validated against the
    blocks a deposit cached (the stock ones when none is cached).

    Print ``json.dumps(c.create_body(), indent=2, ensure_ascii=False)`` when ``c.ok``, under a
    line naming ``c.blocks_origin``; else every problem, one a line; warnings either way.
    """
    assert config.dataverse is not None
    rows, _origin = load_definition(config.maggot.conf_dir)
    site = maggot.load_site(config.maggot.conf_dir, config.maggot.cvlist_dir)
    dataset = maggot.read_dataset(
        Path(folder),
        site=site,
        max_size=config.maggot.max_metadata_size,
        semaphore=config.storage.semaphore,
    )
    return to_dataverse(
        dataset.record,
        site,
        marker=relative_key(config.storage.root, Path(folder)),
        today=today or dt.date.today(),
        blocks=load_cached(cache_dir(config)),
        definition=rows,
        metadata_language=config.dataverse.metadata_language,
        require_licence=config.dataverse.publish,
    )
