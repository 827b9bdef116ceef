"""A local Zenodo: a real HTTP server that behaves as ``ZENODO-API.md`` describes.

Imports nothing from the rest of maggot_zenodo. Modules: ``server`` (HTTP plumbing, faults,
rate limits, counters), ``api`` (routes), ``store`` (depositions and files, persisted),
``validation`` and ``vocabularies`` (metadata rules), ``listing`` (search and paging),
``views`` (JSON shapes), ``faults``, ``ratelimit``, ``httpio`` (streamed bodies), ``runner``
(:func:`start_emulator`), ``main`` (the ``maggot-zenodo emulator`` command).

Modules added in 0.2: ``db`` (SQLite persistence), ``legacy`` (defaults and legacy read-back),
``licences`` (SPDX and legacy licence ids), ``control`` (``/_emulator/`` endpoints and HTML
pages), ``pages``, ``counters``, ``errors``. What it reproduces of Zenodo and where it chooses
is in ``docs/emulator.md``.
"""

from maggot_zenodo.emulator.runner import EmulatorHandle, start_emulator

__all__ = ["EmulatorHandle", "start_emulator"]
