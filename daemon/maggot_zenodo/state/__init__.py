"""What the daemon remembers and what it tells researchers: the SQLite journal of every step,
and the write-back file `META_zenodo.txt`.

Imports only the bottom modules (`logs`, `constants`, `errors`).
"""
