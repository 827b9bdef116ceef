"""The exactly-once workflow for one dataset: vet its files, convert it, and deposit it.

May import `zenodo`, `convert`, `state` and the bottom modules; never `watch`, `runtime` or
`commands`.
"""
