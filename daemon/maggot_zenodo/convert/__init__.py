"""Maggot datasets and their conversion: reading `META_*.json`, the site's definition files and
dictionaries, and the pure Maggot → Zenodo crosswalk with Zenodo's metadata rules.

No I/O beyond reading the dataset's metadata and the site's files; no network. Imports only the
bottom modules (`logs`, `constants`, `errors`).
"""
