"""Maggot datasets and their conversion: reading `META_*.json` (`maggot`), the site's definition
files and dictionaries (`site`, `schema`), and the pure Maggot → Zenodo crosswalk (`crosswalk`,
with `relations`, `funding`, `licenses`, `languages`, `people`, `extras`, `tidy`) checked by
Zenodo's metadata rules (`zenodo_rules`).

No I/O beyond reading the dataset's metadata and the site's files; no network. Imports only the
bottom modules (`logs`, `constants`, `errors`).
"""
