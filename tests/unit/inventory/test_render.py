from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from lpdeploy.bundle.manifest import BundleManifest
from lpdeploy.catalog import load_catalog
from lpdeploy.errors import InputError
from lpdeploy.inventory.render import GROUP, render_inventory
from lpdeploy.plan import Plan, build_plan
from lpdeploy.profile import load_profile

REPO = Path(__file__).parents[3]


Inputs = tuple[Plan, dict[tuple[str, str], BundleManifest], dict[tuple[str, str], Path]]


@pytest.fixture(name="inputs")
def fixture_inputs(fixtures: Path) -> Inputs:
    catalog = load_catalog(REPO / "bundles")
    plan = build_plan(load_profile(fixtures / "profiles" / "lab3.yaml"), catalog)
    manifests = {(b.id, b.version): b for b in catalog.bundles}
    return plan, manifests, catalog.folders


def test_host_vars_carry_what_the_roles_need(inputs: Inputs) -> None:
    plan, manifests, sources = inputs
    text, desired = render_inventory(
        plan,
        manifests,
        sources,
        {"lpdeploy_repo_key": "k"},
        {"centre-01", "centre-02", "centre-03"},
    )
    hosts = yaml.safe_load(text)[GROUP]["hosts"]
    first = hosts["centre-01"]
    assert first["lpdeploy_timezone"] == "Africa/Ndjamena"
    assert [language["tag"] for language in first["lpdeploy_languages"]] == ["fr", "ar", "en"]
    assert first["lpdeploy_portal_text"]["fr"]["title"] == "Centre d'apprentissage"
    assert first["lpdeploy_portal_text"]["ar"]["dir"] == "rtl"
    zim = next(b for b in first["lpdeploy_bundles"] if b["kind"] == "zim")
    assert zim["entry"].endswith("/") and Path(zim["source"]).is_dir()
    assert any(
        path.endswith(".zim") and "/current/content/" in path for path in first["lpdeploy_zims"]
    )
    assert "ansible_host" not in first
    assert yaml.safe_load(text)[GROUP]["vars"] == {"lpdeploy_repo_key": "k"}
    assert first["lpdeploy_desired_state"] == desired["centre-01"]
    assert len(set(desired.values())) == 3


def test_desired_state_changes_with_what_is_asked_not_where_files_are(inputs: Inputs) -> None:
    plan, manifests, sources = inputs
    hosts = {"centre-01", "centre-02", "centre-03"}
    _, before = render_inventory(plan, manifests, sources, {"lpdeploy_repo_key": "k"}, hosts)
    moved = {key: Path("/media/usb") / path.name for key, path in sources.items()}
    _, same = render_inventory(plan, manifests, moved, {"lpdeploy_repo_key": "k"}, hosts)
    assert same == before
    _, other_repo = render_inventory(plan, manifests, sources, {"lpdeploy_repo_key": "j"}, hosts)
    assert all(other_repo[c] != before[c] for c in hosts)
    _, other_roles = render_inventory(
        plan, manifests, sources, {"lpdeploy_repo_key": "k"}, hosts, "x"
    )
    assert all(other_roles[c] != before[c] for c in hosts)


def test_a_centre_without_a_server_is_named(inputs: Inputs) -> None:
    plan, manifests, sources = inputs
    with pytest.raises(InputError, match="centre-03") as caught:
        render_inventory(plan, manifests, sources, {}, {"centre-01", "centre-02"})
    assert caught.value.exit_code == 2
    with pytest.raises(InputError, match="centre-01, centre-02, centre-03"):
        render_inventory(plan, manifests, sources, {}, None)
