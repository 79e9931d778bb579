"""Kolibri bundles and channels: manifests, sizing, host variables, templates, verify."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from lpdeploy import kolibri
from lpdeploy.bundle.manifest import BundleManifest, BundleMeta
from lpdeploy.catalog import Catalog, load_catalog
from lpdeploy.inventory.render import centre_vars
from lpdeploy.plan import build_plan
from lpdeploy.plan.build import footprint
from lpdeploy.plan.model import BundleRef, PlanCentre
from lpdeploy.profile import HardwareModel, load_profile
from lpdeploy.readiness.check import _kolibri_check, planned_channels

from .playbooks.test_templates import render

REPO = Path(__file__).parents[2]
BUNDLES = REPO / "bundles"
SAMPLES = {
    "nauka-uk": "6c7f1e0a3b2d4e5f8a9b0c1d2e3f4a5b",
    "hisabati-sw": "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c0e",
}
META: dict[str, Any] = {
    "id": "maths", "version": "1", "title": "Maths", "languages": ["sw"], "licence": "CC0",
}  # fmt: skip


def test_a_kolibri_bundle_names_its_channel_and_others_do_not() -> None:
    channel = {"channel_id": "a" * 32, "channel_version": 3}
    made = BundleMeta(**META, kind="kolibri", kolibri=channel)
    assert made.kolibri is not None and made.kolibri.database == f"databases/{'a' * 32}.sqlite3"
    with pytest.raises(ValidationError, match="needs kolibri"):
        BundleMeta(**META, kind="kolibri")
    with pytest.raises(ValidationError, match="only for kolibri bundles"):
        BundleMeta(**META, kind="html", kolibri=channel)
    with pytest.raises(ValidationError, match="channel_id"):
        BundleMeta(**META, kind="kolibri", kolibri={"channel_id": "x", "channel_version": 1})
    assert "kolibri" not in BundleMeta(**META, kind="html").model_dump(mode="json")


def test_a_kolibri_bundle_without_its_channel_database_is_inconsistent() -> None:
    manifest = BundleManifest(
        **META, kind="kolibri", kolibri={"channel_id": "b" * 32, "channel_version": 1},
        schema_version=1, size_bytes=3, files=[{"path": "storage/x.pdf", "size": 3,
                                                "sha256": "0" * 64}],
    )  # fmt: skip
    assert any("databases/" + "b" * 32 in p for p in manifest.inconsistencies())


def test_the_sample_channels_are_real_kolibri_exports() -> None:
    catalog = load_catalog(BUNDLES)
    by_id = {b.id: b for b in catalog.bundles}
    languages = set()
    for bundle_id, channel_id in SAMPLES.items():
        manifest = by_id[bundle_id]
        assert manifest.kind == "kolibri" and manifest.services == ["kolibri"]
        assert manifest.kolibri is not None and manifest.kolibri.channel_id == channel_id
        languages |= set(manifest.languages)
        content = catalog.folders[(manifest.id, manifest.version)] / "content"
        assert kolibri.channel_resources(content, channel_id) == 3
        database = content / "databases" / f"{channel_id}.sqlite3"
        with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as db:
            kinds = sorted(r[0] for r in db.execute("SELECT kind FROM content_contentnode"))
            version = db.execute("SELECT version FROM content_channelmetadata").fetchone()[0]
        assert kinds == ["document", "exercise", "html5", "topic", "topic"]
        assert version == manifest.kolibri.channel_version
        written = json.loads((content / "manifest.json").read_text())  # Kolibri's export
        assert [c["id"] for c in written["channels"]] == [channel_id]
        extensions = {Path(f.path).suffix for f in manifest.files}
        assert {".sqlite3", ".zip", ".pdf", ".perseus"} <= extensions
    assert languages == {"uk", "sw"}


def test_a_channel_takes_its_size_twice_on_a_server(tmp_path: Path) -> None:
    channel = BundleManifest(
        **META, kind="kolibri", kolibri={"channel_id": "c" * 32, "channel_version": 1},
        schema_version=1, size_bytes=60_000_000_000, files=[], services=["kolibri"],
    )  # fmt: skip
    assert footprint(channel) == 120_000_000_000
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\nregion: {country: KE}\nlanguages: [sw]\nconnectivity: offline\n"
        "hardware: box\nhardware_models: {box: {storage_gb: 128, ram_gb: 4, wifi_clients: 9}}\n"
        "centres: [{id: c1, learners: 5}]\n"
    )
    catalog = Catalog(root=tmp_path, bundles=(channel,), sha256="0" * 64, folders={})
    plan = build_plan(load_profile(profile), catalog)
    assert plan.centres[0].bundles == []  # 60 GB fits a 128 GB budget once, not twice
    assert "does not fit" in plan.centres[0].skipped[0].reason


def test_interface_language_is_the_first_kolibri_speaks() -> None:
    assert kolibri.interface_language(["rhg", "my", "en"]) == "my"
    assert kolibri.interface_language(["sw"]) == "sw-tz"
    assert kolibri.interface_language(["fr", "ar"]) == "fr-fr"
    assert kolibri.interface_language(["ti"]) == "en"


def sample_catalog() -> Catalog:
    return load_catalog(BUNDLES)


def centre(*bundles: str, services: tuple[str, ...] = ("kolibri", "portal")) -> PlanCentre:
    catalog = sample_catalog()
    refs = [
        BundleRef(id=b.id, version=b.version, size_bytes=b.size_bytes)
        for b in catalog.bundles
        if b.id in bundles
    ]
    return PlanCentre(
        id="c1", host=None, wave=1, hardware="nuc-512g", storage_budget_bytes=10**12,
        services=list(services), bundles=refs, bytes_total=0, learners=5, languages=["sw", "uk"],
        timezone="UTC",
    )  # fmt: skip


def test_host_vars_name_the_planned_channels_only_where_kolibri_runs() -> None:
    catalog = sample_catalog()
    manifests = {(b.id, b.version): b for b in catalog.bundles}
    found = centre_vars(centre("nauka-uk", "first-letters-en"), manifests, catalog.folders)
    assert found["lpdeploy_kolibri_version"] == kolibri.VERSION
    assert found["lpdeploy_kolibri_language"] == "sw-tz"
    assert found["lpdeploy_kolibri_channels"] == [
        {"bundle": "nauka-uk", "channel_id": SAMPLES["nauka-uk"], "channel_version": 1}
    ]
    entry = next(b for b in found["lpdeploy_bundles"] if b["id"] == "nauka-uk")
    assert entry["channel_id"] == SAMPLES["nauka-uk"]
    bare = centre("first-letters-en", services=("kiwix", "portal"))
    assert "lpdeploy_kolibri_channels" not in centre_vars(bare, manifests, catalog.folders)


def test_the_portal_links_each_channel_into_kolibri() -> None:
    channel = {"id": "nauka-uk", "kind": "kolibri", "title": "Nauka", "languages": ["uk"],
               "entry": "", "channel_id": SAMPLES["nauka-uk"]}  # fmt: skip
    words = {"uk": {"title": "t", "intro": "i", "also": "a", "dir": "ltr"}}
    text = render(
        "portal", "index.html.j2", lpdeploy_centre="c1", lpdeploy_portal_text=words,
        lpdeploy_languages=[{"tag": "uk", "autonym": "українська"}], lpdeploy_bundles=[channel],
        portal_kiwix_url_root="/kiwix", portal_kolibri_url_root="/kolibri/",
        portal_kolibri_roots={SAMPLES["nauka-uk"]: "f" * 32},
    )  # fmt: skip
    assert f'href="/kolibri/learn/#/topics/t/{"f" * 32}"' in text
    unknown = render(
        "portal", "index.html.j2", lpdeploy_centre="c1", lpdeploy_portal_text=words,
        lpdeploy_languages=[{"tag": "uk", "autonym": "українська"}], lpdeploy_bundles=[channel],
        portal_kiwix_url_root="/kiwix", portal_kolibri_url_root="/kolibri/",
        portal_kolibri_roots={},
    )  # fmt: skip
    assert 'href="/kolibri/"' in unknown


@pytest.mark.parametrize("services", [["portal", "kolibri"], ["portal", "kiwix"]])
def test_nginx_proxies_kolibri_and_its_app_origin_only_where_it_runs(services: list[str]) -> None:
    values = {
        "portal_root": "/srv/lpdeploy/portal", "portal_bundle_root": "/srv/lpdeploy/bundles",
        "portal_kiwix_url_root": "/kiwix", "portal_kiwix_port": 8080,
        "portal_kolibri_url_root": "/kolibri/", "portal_kolibri_port": 8081,
        "portal_kolibri_zip_port": 8082, "portal_kolibri_zip_internal_port": 8083,
        "lpdeploy_services": services, "portal_usage_log": "/var/log/lpdeploy/usage.log",
    }  # fmt: skip
    text = render("portal", "lpdeploy.conf.j2", **values)
    runs = "kolibri" in services
    assert ("location /kolibri/ {\n        proxy_pass http://127.0.0.1:8081;" in text) is runs
    assert ("listen 8082;" in text and "proxy_pass http://127.0.0.1:8083;" in text) is runs


def channel_list(**changes: Any) -> str:
    found: list[dict[str, Any]] = [
        {"id": SAMPLES["nauka-uk"], "name": "Nauka", "version": 1, "total_resource_count": 3},
        {"id": SAMPLES["hisabati-sw"], "name": "Hisabati", "version": 1,
         "total_resource_count": 3},
    ]  # fmt: skip
    for channel in found:
        channel.update(changes.get(channel["id"], {}))
    return json.dumps(found + changes.get("extra", []))


def kolibri_check(answer: tuple[int | None, str]) -> tuple[bool, str]:
    seen = []

    def get(url: str) -> tuple[int | None, str]:
        seen.append(url)
        return answer

    planned = centre("nauka-uk", "hisabati-sw")
    channels = planned_channels([planned], sample_catalog())
    result = _kolibri_check(planned, "10.0.0.9", channels, get)
    assert seen == ["http://10.0.0.9/kolibri/api/public/v1/channels"]
    return result.ok, result.detail


def test_verify_reads_kolibri_s_own_channel_list() -> None:
    assert kolibri_check((200, channel_list())) == (
        True, "2 channels at the planned version, every resource available"
    )  # fmt: skip
    ok, detail = kolibri_check((200, channel_list(**{SAMPLES["nauka-uk"]: {"version": 0}})))
    assert not ok and detail == "nauka-uk: version 0, planned 1"
    short = {SAMPLES["hisabati-sw"]: {"total_resource_count": 1}}
    ok, detail = kolibri_check((200, channel_list(**short)))
    assert not ok and detail == "hisabati-sw: 1 resources available, the bundle has 3"
    extra = [{"id": "d" * 32, "name": "Stray", "version": 2, "total_resource_count": 9}]
    ok, detail = kolibri_check((200, channel_list(extra=extra)))
    assert not ok and detail == f"not in the plan: Stray ({'d' * 32})"
    ok, detail = kolibri_check((200, json.dumps([json.loads(channel_list())[0]])))
    assert not ok and detail == f"hisabati-sw: channel {SAMPLES['hisabati-sw']} missing"
    ok, detail = kolibri_check((502, ""))
    assert not ok and detail.endswith("answered 502")
    ok, detail = kolibri_check((None, ""))
    assert not ok and detail.endswith("answered nothing")


def test_hardware_below_2_gb_never_gets_kolibri() -> None:
    small = HardwareModel(storage_gb=64, ram_gb=1, wifi_clients=10)
    assert not small.can_run("kolibri") and small.can_run("kiwix")
