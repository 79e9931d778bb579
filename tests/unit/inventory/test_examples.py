"""The example inventories (inventories/<profile>/): Ansible reads each one and finds
exactly the centres of its example profile, plus its hub where it has one."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lpdeploy.errors import InputError
from lpdeploy.inventory.skeleton import refuse_placeholders
from lpdeploy.profile import load_profile
from lpdeploy.runner.inventory import inventory_connections

REPO = Path(__file__).parents[3]
PROFILES = sorted(p.stem for p in (REPO / "examples" / "profiles").glob("*.yaml"))
HUBS = {"coxs-bazar": {"cxb-hub", "cxb-hub-south"}}


def test_every_example_profile_has_an_inventory() -> None:
    folders = sorted(p.name for p in (REPO / "inventories").iterdir() if p.is_dir())
    assert folders == PROFILES


@pytest.mark.parametrize("name", PROFILES)
def test_inventory_lists_the_profile_centres(name: str) -> None:
    profile = load_profile(REPO / "examples" / "profiles" / f"{name}.yaml").profile
    connections = inventory_connections(REPO / "inventories" / name)
    hubs = HUBS.get(name, set())
    assert set(connections) == {c.id for c in profile.centres} | hubs
    assert all(c.user == "root" and c.address.count(".") == 3 for c in connections.values())
    with pytest.raises(InputError, match="ansible_ssh_private_key_file: still a FILL-IN"):
        refuse_placeholders(connections, name)


def test_reading_an_inventory_leaves_no_folder_with_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ansible-runner writes the whole environment (secrets from `env:` included) into an
    artifacts folder of each call; reading an inventory must not leave one behind."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("LPDEPLOY_SOME_SECRET", "do-not-keep-me")
    assert "cxb-hub" in inventory_connections(REPO / "inventories" / "coxs-bazar")
    left = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert left == []
