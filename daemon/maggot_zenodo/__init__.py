"""maggot-zenodo: publish Maggot datasets to Zenodo when a researcher drops a semaphore."""

__version__ = "0.1.0"
