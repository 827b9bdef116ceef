"""A bug met at every attempt is retried a bounded number of times, then given up with a
message for the researcher (0.1.0 retried it forever)."""

from __future__ import annotations

import os

from testkit.publishing import make_config, make_dataset, publisher

from maggot_zenodo.publish.workflow import MAX_INTERNAL_ERRORS
from maggot_zenodo.state.journal import Journal


def test_an_internal_error_is_retried_then_given_up(tmp_path, emu):
    # A real misconfiguration the client refuses as a bug would be: the site is configured
    # as "localhost", but Zenodo's links name 127.0.0.1, so the upload target is refused
    # (the token only ever goes to the configured origin).
    root = tmp_path / "storage"
    root.mkdir()
    config = make_config(tmp_path, root, emu.base_url.replace("127.0.0.1", "localhost"))
    folder = make_dataset(root, "ds", {"a.csv": "1\n"})
    journal = Journal(config.state)
    try:
        pub = publisher(config, journal)
        outcomes = [pub.publish(folder) for _ in range(MAX_INTERNAL_ERRORS)]
        [row] = journal.rows()
    finally:
        journal.close()
    *early, last = outcomes
    assert all(o.retryable and "internal error" in o.error for o in early), early
    assert not last.retryable and f"{MAX_INTERNAL_ERRORS} times in a row" in last.error
    assert "administrator" in last.hint and last.detail and "ValueError" in last.detail
    assert row.handled_fingerprint is not None and row.internal_errors == 0
    assert len(emu.depositions()) == 1  # every attempt worked on the same deposition
    # a new request (the semaphore touched) starts the count again
    os.utime(folder / "META_datafile_ok.txt")
    journal = Journal(config.state)
    try:
        again = publisher(config, journal).publish(folder)
    finally:
        journal.close()
    assert again.retryable and "times in a row" not in again.error
