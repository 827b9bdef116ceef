"""Which repositories a site publishes to: Zenodo, Dataverse, or both (#14 §1). A bottom
module (configuration only), so the scan and the status table need not import the workflows."""

from __future__ import annotations

from maggot_zenodo.config import Config

ZENODO, DATAVERSE = "zenodo", "dataverse"


def zenodo_configured(config: Config) -> bool:
    return config.zenodo.token is not None or config.tokens.owners_dir is not None


def configured(config: Config) -> dict[str, str]:
    """``{name: base URL}`` of the repositories the site publishes to, Zenodo first. The URL
    is what the journal keys a repository's rows by."""
    names: dict[str, str] = {}
    if zenodo_configured(config):
        names[ZENODO] = config.zenodo.url
    if config.dataverse is not None:
        names[DATAVERSE] = config.dataverse.url
    return names


def name_of(config: Config, url: str) -> str:
    """The repository a journal row belongs to, by its URL (the URL itself when no longer
    configured)."""
    if config.dataverse is not None and url == config.dataverse.url:
        return DATAVERSE
    if url == config.zenodo.url:
        return ZENODO
    return url
