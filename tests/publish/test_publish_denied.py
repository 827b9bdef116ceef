"""A token that may no longer see the dataset's deposition: the failure names the repository
and its token key (the Repository's ``label`` and ``auth_setting``), and is retried."""

from __future__ import annotations

from pathlib import Path

from testkit import OTHER_TOKEN, Emulator
from testkit.publishing import make_config, make_dataset, publisher, token_file

from maggot_zenodo.publish.dataverse_repository import DataverseRepository
from maggot_zenodo.publish.zenodo_repository import ZenodoRepository
from maggot_zenodo.state.journal import Journal


def test_another_accounts_token_is_refused_in_the_repositorys_words(
    tmp_path: Path, emulator_factory
) -> None:
    emu: Emulator = emulator_factory()
    root = tmp_path / "storage"
    root.mkdir()
    config = make_config(tmp_path, root, emu.base_url)
    journal = Journal(config.state)
    try:
        folder = make_dataset(root, "Soil", {"a.csv": "x,y\n1,2\n"})
        assert publisher(config, journal).publish(folder).status == "draft"
        token_file(tmp_path, OTHER_TOKEN)  # replaced by one of another account
        out = publisher(config, journal).publish(folder)
    finally:
        journal.close()
    assert out.status == "failed" and out.retryable
    assert out.error.startswith("Zenodo refused access to this dataset's deposition ")
    assert "site's Zenodo token" in out.error
    assert "renew the Zenodo token (zenodo.token)" in out.hint
    assert "Dataverse" not in out.error + out.hint


def test_each_repository_names_itself() -> None:
    assert (ZenodoRepository.label, ZenodoRepository.auth_setting) == ("Zenodo", "zenodo.token")
    assert (DataverseRepository.label, DataverseRepository.auth_setting) == (
        "Dataverse",
        "dataverse.token",
    )
