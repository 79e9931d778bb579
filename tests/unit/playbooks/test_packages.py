"""Each role names its packages in its defaults; the kit's repository holds all of them and
site.yml installs them in one apt run."""

from __future__ import annotations

from pathlib import Path

import yaml

from lpdeploy.kit.packages import PACKAGES

PLAYBOOKS = Path(__file__).parents[3] / "playbooks"


def role_packages() -> dict[str, list[str]]:
    found = {}
    for defaults in sorted(PLAYBOOKS.glob("roles/*/defaults/main.yml")):
        role = defaults.parents[1].name
        values = yaml.safe_load(defaults.read_text()) or {}
        if f"{role}_packages" in values:
            found[role] = values[f"{role}_packages"]
    return found


def test_only_server_base_and_the_hotspot_run_apt() -> None:
    """Every other role's packages come in server_base's one apt run (site.yml composes
    them): an apt task a role cost seconds on every apply, a minute on an emulated server."""
    for tasks in PLAYBOOKS.glob("roles/*/tasks/*.yml"):
        role = tasks.parents[1].name
        for task in yaml.safe_load(tasks.read_text()) or []:
            apt = task.get("ansible.builtin.apt")
            if apt and "name" in apt:
                assert role in ("server_base", "hotspot"), tasks
                if role == "hotspot":
                    assert apt["name"] == "{{ hotspot_packages }}"


def test_the_kit_repository_holds_every_role_package() -> None:
    named = {p for packages in role_packages().values() for p in packages}
    assert named
    assert named <= set(PACKAGES)


def test_site_composes_the_roles_packages_into_one_apt_run() -> None:
    site = (PLAYBOOKS / "site.yml").read_text()
    for role in role_packages():
        if role not in ("server_base", "hotspot"):  # its own; only where there is Wi-Fi
            assert f"{role}_packages" in site, role
