"""``make demo``: the whole story on one machine, with a local Zenodo emulator.

It builds a small storage space of its own in ``./demo-run`` (three datasets, one with data
files), starts ``maggot-zenodo emulator`` and then the daemon itself (``maggot-zenodo run``,
waiting for its READY=1 on a notification socket of its own, as systemd does), drops the
semaphore in two datasets while the daemon runs, shows each ``META_zenodo.txt`` change as the
researcher would see it, the journal's ``status``, then stops the daemon with SIGTERM and the
emulator. Every process it starts gets a session of its own and is killed, group and all,
whatever happens (an error, Ctrl-C).

``python -m maggot_zenodo.demo`` runs it. The package uses the command line only (it starts
``maggot-zenodo`` subprocesses) and reads the journal and the semaphore module to show what
happens; nothing of the package imports it.
"""
