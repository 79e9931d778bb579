from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lpdeploy.bundle.manifest import BundleManifest
from lpdeploy.catalog import Catalog, load_catalog
from lpdeploy.output import canonical_json
from lpdeploy.plan import Plan, build_plan
from lpdeploy.plan.build import _waves, footprint
from lpdeploy.plan.diff import diff_plans
from lpdeploy.plan.rehearsal import rehearsal_plan
from lpdeploy.profile import HardwareModel, LoadedProfile, Profile, load_profile

GOLDEN = Path(__file__).parents[2] / "fixtures" / "golden" / "small-plan.json"


@pytest.fixture(name="plan")
def fixture_plan(fixtures: Path) -> Plan:
    profile = load_profile(fixtures / "profiles" / "small.yaml")
    return build_plan(profile, load_catalog(fixtures / "catalog.json"))


def test_golden_plan(plan: Plan) -> None:
    """Regenerate with: lpdeploy plan tests/fixtures/profiles/small.yaml
    --catalog tests/fixtures/catalog.json --out tests/fixtures/golden/small-plan.json"""
    assert canonical_json(plan) == GOLDEN.read_bytes()


def test_plan_is_deterministic(fixtures: Path, plan: Plan) -> None:
    again = build_plan(
        load_profile(fixtures / "profiles" / "small.yaml"), load_catalog(fixtures / "catalog.json")
    )
    assert canonical_json(again) == canonical_json(plan)


def test_every_warning_code_is_produced(plan: Plan) -> None:
    codes = {w.code for w in plan.warnings}
    assert codes == {"coverage-gap", "storage-short", "wifi-capacity", "unreachable-language"}
    unreachable = [w for w in plan.warnings if w.code == "unreachable-language"]
    assert [w.language for w in unreachable] == ["ckb"]
    gaps = {(w.language, w.subject) for w in plan.warnings if w.code == "coverage-gap"}
    assert gaps == {("rhg", "wellbeing"), ("my", "literacy"), ("my", "wellbeing")}
    wifi = {w.centre: w.message for w in plan.warnings if w.code == "wifi-capacity"}
    assert "needs 3 access points" in wifi["lc-01"]
    assert "lc-03" not in wifi


def test_budget_never_exceeded(plan: Plan, fixtures: Path) -> None:
    manifests = {b.id: b for b in load_catalog(fixtures / "catalog.json").bundles}
    for centre in plan.centres:
        assert centre.bytes_total == sum(footprint(manifests[b.id]) for b in centre.bundles)
        assert centre.bytes_total <= centre.storage_budget_bytes


def test_ranked_by_language_priority_then_subject(plan: Plan) -> None:
    first = plan.centres[0]
    assert [b.id for b in first.bundles][:3] == [
        "rhg-literacy-basics",
        "rhg-numeracy-1",
        "my-numeracy",
    ]


def test_only_latest_version_and_age_band_filter(plan: Plan) -> None:
    ids = [(b.id, b.version) for c in plan.centres for b in c.bundles]
    assert ("my-numeracy", "0.9.0") not in ids
    assert all(bid != "en-adult-literacy" for bid, _ in ids)


def test_hardware_that_cannot_run_a_service_skips_its_bundles(plan: Plan) -> None:
    tiny = next(c for c in plan.centres if c.id == "lc-02")
    reasons = {s.id: s.reason for s in tiny.skipped}
    assert "kolibri" in reasons["en-khan-maths"]
    assert reasons["en-wikipedia-schools"].startswith("does not fit")
    assert "kolibri" not in tiny.services


def test_centre_language_override(plan: Plan) -> None:
    third = next(c for c in plan.centres if c.id == "lc-03")
    assert not any(b.id.startswith("rhg") for b in third.bundles)
    assert third.languages == ["my", "en"]


def test_transfer_estimate(plan: Plan) -> None:
    transfer = plan.summary.transfer
    assert transfer.method == "network"
    assert transfer.seconds == pytest.approx(transfer.bytes * 8 / 1_000_000, rel=1e-3)


@pytest.mark.parametrize(
    ("count", "size", "expected"),
    [
        (1, 20, [1]),
        (3, 20, [1, 2, 2]),
        (40, 20, [1, 1] + [2] * 20 + [3] * 18),
        (5, 2, [1, 2, 2, 3, 3]),
    ],
)
def test_waves(count: int, size: int, expected: list[int]) -> None:
    assert _waves(count, size) == expected


def _profile(storage_gb: float, centres: int) -> LoadedProfile:
    profile = Profile.model_validate(
        {
            "name": "prop",
            "region": {"country": "BD"},
            "languages": ["en", "fr"],
            "connectivity": "offline",
            "hardware": "box",
            "hardware_models": {
                "box": {"storage_gb": storage_gb, "ram_gb": 4, "wifi_clients": 20, "reserve_gb": 1}
            },
            "centres": [{"id": f"c-{i}", "learners": 10} for i in range(centres)],
        }
    )
    return LoadedProfile(profile=profile, path="prop.yaml", sha256="0" * 64)


def _bundle(
    index: int, size: int, language: str, version: str = "1", kind: str = "html"
) -> BundleManifest:
    return BundleManifest.model_validate(
        {
            "schema_version": 1,
            "id": f"b-{index}",
            "version": version,
            "title": "t",
            "kind": kind,
            **(
                {"kolibri": {"channel_id": "a" * 32, "channel_version": 1}}
                if kind == "kolibri"
                else {}
            ),
            "languages": [language],
            "licence": "CC0",
            "size_bytes": size,
            "files": [],
        }
    )


@settings(max_examples=60, deadline=None)
@given(
    storage=st.floats(min_value=1.5, max_value=50),
    sizes=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=20 * 10**9), st.sampled_from(["en", "fr", "ar"])
        ),
        max_size=30,
    ),
    centres=st.integers(min_value=1, max_value=5),
)
def test_property_budget_never_exceeded(
    storage: float, sizes: list[tuple[int, str]], centres: int
) -> None:
    bundles = tuple(_bundle(i, size, lang) for i, (size, lang) in enumerate(sizes))
    catalog = Catalog(root=Path(), bundles=bundles, sha256="c", folders={})
    model = HardwareModel(storage_gb=storage, ram_gb=4, wifi_clients=20, reserve_gb=1)
    plan = build_plan(_profile(storage, centres), catalog)
    for centre in plan.centres:
        assert centre.storage_budget_bytes == model.storage_budget_bytes()
        assert centre.bytes_total <= centre.storage_budget_bytes
        assert centre.keep == []  # one version of each: nothing older to keep
        planned = {b.id for b in centre.bundles} | {s.id for s in centre.skipped}
        eligible = {b.id for b in bundles if b.languages[0] in ("en", "fr")}
        assert planned == eligible


def test_previous_versions_are_kept_where_the_budget_holds_them() -> None:
    gb = 10**9
    bundles = (
        _bundle(1, 3 * gb, "en", "2.0"),
        _bundle(1, 2 * gb, "en", "1.0"),
        _bundle(1, 1 * gb, "en", "0.9"),
        _bundle(2, 1 * gb, "en", "2.0"),
        _bundle(2, 5 * gb, "en", "1.0"),
        _bundle(3, 1 * gb, "en", "2.0", "kolibri"),
        _bundle(3, 1 * gb, "en", "1.0", "kolibri"),
    )
    catalog = Catalog(root=Path(), bundles=bundles, sha256="c", folders={})
    # Budget 10 GB * 0.9 - 1 = 8 GB: the newest take 3 + 1 + 2 (Kolibri twice) = 6 GB.
    centre = build_plan(_profile(10, 1), catalog).centres[0]
    assert [(b.id, b.version) for b in centre.bundles] == [
        ("b-2", "2.0"), ("b-3", "2.0"), ("b-1", "2.0")
    ]  # fmt: skip
    # b-1 1.0 fits the 2 GB left; b-2 1.0 (5 GB) does not; a Kolibri channel is never kept.
    assert [(b.id, b.version) for b in centre.keep] == [("b-1", "1.0")]
    assert centre.bytes_total + sum(b.size_bytes for b in centre.keep) <= 8 * gb
    small = build_plan(_profile(8, 1), catalog).centres[0]  # 6.2 GB: nothing older fits
    assert small.keep == []
    assert "keep" not in small.model_dump()


def test_each_centre_carries_its_hardware_architecture(plan: Plan) -> None:
    by_id = {c.id: c for c in plan.centres}
    assert by_id["lc-01"].arch == "arm64"  # rpi4-128g, the profile's default
    assert by_id["lc-02"].arch == "amd64"  # tiny-box: a model of the profile's, arch unset
    assert by_id["lc-03"].arch == "amd64"  # nuc-1t


def test_a_profile_model_sets_its_architecture(fixtures: Path) -> None:
    loaded = load_profile(fixtures / "profiles" / "small.yaml")
    models = dict(loaded.profile.hardware_models)
    models["tiny-box"] = models["tiny-box"].model_copy(update={"arch": "arm64"})
    models["rpi4-128g"] = HardwareModel(storage_gb=128, ram_gb=4, wifi_clients=20, arch="amd64")
    profile = loaded.profile.model_copy(update={"hardware_models": models})
    plan = build_plan(
        LoadedProfile(profile=profile, path=loaded.path, sha256=loaded.sha256),
        load_catalog(fixtures / "catalog.json"),
    )
    assert {c.id: c.arch for c in plan.centres} == {
        "lc-01": "amd64", "lc-02": "arm64", "lc-03": "amd64",
    }  # fmt: skip


def test_a_plan_without_arch_is_amd64(fixtures: Path) -> None:
    document = json.loads(GOLDEN.read_text())
    for centre in document["centres"]:
        del centre["arch"]
    old = Plan.model_validate(document)
    assert {c.arch for c in old.centres} == {"amd64"}


def test_plan_diff_reports_a_changed_architecture(plan: Plan) -> None:
    moved = plan.centres[0].model_copy(update={"arch": "amd64"})
    other = plan.model_copy(update={"centres": [moved, *plan.centres[1:]]})
    diff = diff_plans(plan, other)
    assert [(c.id, c.moved) for c in diff.centres_changed] == [("lc-01", ["arch: arm64 -> amd64"])]


def test_a_rehearsal_emulates_at_most_so_many_foreign_centres(plan: Plan) -> None:
    both = plan.model_copy(
        update={"centres": [c.model_copy(update={"arch": "arm64"}) for c in plan.centres]}
    )
    same, moved = rehearsal_plan(both, "amd64", None)
    assert same is both and moved == []
    one, moved = rehearsal_plan(both, "amd64", 1)
    assert moved == ["lc-02", "lc-03"]
    assert [c.arch for c in one.centres] == ["arm64", "amd64", "amd64"]
    none, moved = rehearsal_plan(both, "amd64", 0)
    assert {c.arch for c in none.centres} == {"amd64"} and len(moved) == 3


def test_a_centre_given_to_a_hub_is_a_change(plan: Plan) -> None:
    moved = plan.centres[1].model_copy(update={"hub": "north-hub"})
    other = plan.model_copy(update={"centres": [plan.centres[0], moved, *plan.centres[2:]]})
    diff = diff_plans(plan, other)
    assert [(c.id, c.moved) for c in diff.centres_changed] == [
        ("lc-02", ["hub: None -> north-hub"])
    ]


def test_the_plan_gives_each_centre_its_hub_and_counts_them(fixtures: Path, tmp_path: Path) -> None:
    profile = tmp_path / "hubs.yaml"
    small = fixtures / "profiles" / "small.yaml"
    profile.write_text(small.read_text() + 'hubs:\n  - id: far-hub\n    centres: ["lc-0[23]"]\n')
    hubbed = build_plan(load_profile(profile), load_catalog(fixtures / "catalog.json"))
    assert [c.hub for c in hubbed.centres] == [None, "far-hub", "far-hub"]
    assert [(h.id, h.centres) for h in hubbed.hubs] == [("far-hub", 2)]
    rollout = hubbed.summary.rollout
    assert rollout is not None and [r.via for r in rollout.routes] == ["controller", "far-hub"]
    assert [r.centres for r in rollout.routes] == [1, 2]
    assert '"hub":"far-hub"' in canonical_json(hubbed).decode()
    plain = json.loads(GOLDEN.read_text())
    assert "hubs" not in plain and all("hub" not in c for c in plain["centres"])
