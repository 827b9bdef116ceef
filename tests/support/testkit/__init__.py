"""The test suite's one support package (``tests/support`` is on pytest's pythonpath).

The core that every area shares is exported here: :data:`TOKEN` (and :data:`OTHER_TOKEN`, a
second user), :func:`wait_for`, and :class:`Emulator` (in-process or subprocess, one
interface). The fixtures are in :mod:`testkit.fixtures`; the daemon harness (a real
``maggot-zenodo run`` subprocess, its config, datasets, notify socket) in
:mod:`testkit.daemon`. Helpers of one area are in their own module: ``publishing`` (Publisher
in-process), ``watching`` (Watcher), ``zenodo_client``, ``dataverse``, ``emulator_http`` (a raw
HTTP client for the emulator's API), ``crosswalk_oracle``.
"""

from __future__ import annotations

from testkit.emulator import Emulator, spawned_emulator
from testkit.tokens import OTHER_TOKEN, TOKEN
from testkit.waiting import wait_for

__all__ = ["OTHER_TOKEN", "TOKEN", "Emulator", "spawned_emulator", "wait_for"]
