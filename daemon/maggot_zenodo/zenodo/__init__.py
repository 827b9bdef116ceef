"""Zenodo's deposit API: the HTTP client (one retry loop, overall deadlines, capped answers, a
shared rate limiter, Zenodo's passing 4xx faults told from true refusals), its typed entities and
errors, and the streamed upload hashed off the sending thread.

Imports only the bottom modules (`logs`, `tokens`, `backoff`) and `maggot_zenodo.__version__`.
"""
