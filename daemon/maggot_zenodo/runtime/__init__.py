"""The daemon: `run`, `run --once` and `scan`; the worker pool, signals, systemd notifications.

The top of the import graph below `cli`: may import `watch`, `publish`, `state` and the bottom
modules.
"""
