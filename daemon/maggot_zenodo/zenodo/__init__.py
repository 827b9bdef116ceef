"""Zenodo's deposit API: the HTTP client (retries, shared rate limiter), its typed errors, and the
streamed, md5-checked upload.

Imports only the bottom modules (`logs`, `errors`, `constants`) and `maggot_zenodo.__version__`.
"""
