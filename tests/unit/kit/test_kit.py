"""The field kit: written from a plan, verified file by file, rebuilt from a base."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path

import pytest

from lpdeploy.apply.rollout import check_bundles
from lpdeploy.bundle.keys import generate_keys, load_public_key
from lpdeploy.catalog import load_catalog
from lpdeploy.cli.kit import _bytes, _fits, _writable_kit_folder
from lpdeploy.errors import InputError, NotRightError
from lpdeploy.kit.build import (
    KitBuild,
    add_wheels,
    kit_sources,
    plan_kit,
    wheel_machines,
    write_kit,
)
from lpdeploy.kit.packages import PACKAGES, PackageRepo
from lpdeploy.kit.verify import open_kit, verify_kit
from lpdeploy.plan import build_plan
from lpdeploy.plan.model import Plan
from lpdeploy.profile import load_profile

REPO = Path(__file__).parents[3]
KEY = "0123456789abcdef"


@pytest.fixture(name="parts")
def fixture_parts(tmp_path: Path) -> tuple[Path, Plan, PackageRepo, Path]:
    plan = build_plan(load_profile(REPO / "tests/fixtures/profiles/lab3.yaml"),
                      load_catalog(REPO / "bundles"))  # fmt: skip
    plan_path = tmp_path / "plan.json"
    plan_path.write_text(plan.model_dump_json())
    archive = tmp_path / "repo" / f"packages-{KEY}.tar"
    archive.parent.mkdir()
    archive.write_bytes(b"not really a tar, but bytes to carry" * 100)
    repo = PackageRepo(folder=archive.parent, key=KEY, archive=archive, packages=PACKAGES)
    _, public, _ = generate_keys(tmp_path / "keys", "kit")
    return plan_path, plan, repo, public


def make_kit(parts: tuple[Path, Plan, PackageRepo, Path], out: Path, base: Path | None = None
             ) -> KitBuild:  # fmt: skip
    return make_mixed_kit(parts, out, {"amd64": parts[2]}, base)


def make_mixed_kit(
    parts: tuple[Path, Plan, PackageRepo, Path],
    out: Path,
    repos: dict[str, PackageRepo],
    base: Path | None = None,
) -> KitBuild:
    plan_path, plan, _, public = parts
    sources = kit_sources(plan_path, plan, load_catalog(REPO / "bundles"), repos,
                          REPO / "playbooks", None)  # fmt: skip
    build = plan_kit(sources, out, base)
    write_kit(build, plan, {arch: repo.key for arch, repo in repos.items()},
              public.with_suffix(".key"))  # fmt: skip
    return build


def test_a_kit_holds_what_the_rollout_needs_and_verifies(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    kit = tmp_path / "kit"
    build = make_kit(parts, kit)
    names = {f.path for f in build.files}
    assert "plan.json" in names and f"packages/packages-{KEY}.tar" in names
    assert "playbooks/site.yml" in names
    assert "bundles/compter-fr-1.0.0/bundle.json" in names
    verdict, manifest = verify_kit(kit, [load_public_key(parts[3])])
    assert verdict.ok, verdict.problems
    assert verdict.signature.startswith("valid")
    assert manifest.bytes == build.total == sum(f.size for f in manifest.files)


def test_every_kind_of_damage_is_found(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    kit = tmp_path / "kit"
    make_kit(parts, kit)
    zim = next((kit / "bundles").rglob("*.zim"))
    zim.write_bytes(zim.read_bytes()[:-1] + b"X")
    (kit / "playbooks" / "site.yml").unlink()
    (kit / "bundles" / "stowaway.sh").write_text("echo hi\n")
    verdict, _ = verify_kit(kit, [load_public_key(parts[3])])
    found = {p.path: p.problem for p in verdict.problems}
    assert found == {
        zim.relative_to(kit).as_posix(): "sha256 does not match the kit",
        "playbooks/site.yml": "missing",
        "bundles/stowaway.sh": "not in the kit's manifest",
    }


def test_a_changed_manifest_or_another_key_is_refused(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    kit = tmp_path / "kit"
    make_kit(parts, kit)
    _, other, _ = generate_keys(tmp_path / "other", "other")
    verdict, _ = verify_kit(kit, [load_public_key(other)])
    assert verdict.signature == "untrusted"
    manifest = json.loads((kit / "kit.json").read_text())
    manifest["bytes"] += 1
    (kit / "kit.json").write_text(json.dumps(manifest))
    verdict, _ = verify_kit(kit, [load_public_key(parts[3])])
    assert verdict.signature == "invalid" and not verdict.ok


def test_a_malformed_manifest_is_an_input_error(tmp_path: Path) -> None:
    (tmp_path / "kit.json").write_text('{"schema_version": 1, "files": []}')
    with pytest.raises(InputError) as caught:
        verify_kit(tmp_path, [])
    assert "kit.json" in str(caught.value) and "plan" in str(caught.value)


def test_a_kit_from_a_base_writes_only_what_changed(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    old = tmp_path / "old"
    make_kit(parts, old)
    plan_path, public = parts[0], parts[3]
    plan_path.write_text(plan_path.read_text() + "\n")  # a new plan file; all else shared
    new = tmp_path / "new"
    build = make_kit(parts, new, base=old)
    assert build.new_bytes == plan_path.stat().st_size
    shared = new / "packages" / f"packages-{KEY}.tar"
    assert shared.stat().st_ino == (old / "packages" / f"packages-{KEY}.tar").stat().st_ino
    assert verify_kit(new, [load_public_key(public)])[0].ok


def test_a_tampered_base_is_not_reused(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    old = tmp_path / "old"
    make_kit(parts, old)
    tar = old / "packages" / f"packages-{KEY}.tar"
    tar.write_bytes(b"evil" + tar.read_bytes()[4:])
    new = tmp_path / "new"
    make_kit(parts, new, base=old)
    assert verify_kit(new, [load_public_key(parts[3])])[0].ok


def test_bundles_are_verified_on_the_way_in(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    catalog = load_catalog(REPO / "bundles")
    check_bundles(parts[1], catalog, [load_public_key(REPO / "bundles/keys/lpdeploy-demo.pub")])
    with pytest.raises(NotRightError, match="not among the trusted keys"):
        check_bundles(parts[1], catalog, [load_public_key(parts[3])])


def test_sizes_and_drive_limits(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    assert _bytes("32G") == 32 * 10**9 and _bytes("500 MB") == 500 * 10**6 and _bytes("7") == 7
    with pytest.raises(InputError):
        _bytes("big")
    build = make_kit(parts, tmp_path / "kit")
    _fits(build, build.total)
    with pytest.raises(NotRightError, match="cannot hold it"):
        _fits(build, build.total - 1)


def test_a_kit_is_never_written_over_other_files(tmp_path: Path) -> None:
    _writable_kit_folder(tmp_path / "new")
    (tmp_path / "holiday.jpg").write_bytes(b"")
    with pytest.raises(InputError, match="holds other files"):
        _writable_kit_folder(tmp_path)
    (tmp_path / "kit.json").write_text("{}")
    _writable_kit_folder(tmp_path)  # an older kit: updated in place


def test_apply_takes_only_the_kits_own_plan(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    kit = tmp_path / "kit"
    make_kit(parts, kit)
    trusted = [load_public_key(parts[3])]
    repos, bundles, playbooks = open_kit(kit, kit / "plan.json", trusted, {"amd64"})
    assert repos["amd64"].archive.is_file()
    assert (playbooks / "site.yml").is_file() and bundles.is_dir()
    other = tmp_path / "other.json"
    other.write_text("{}")
    with pytest.raises(InputError, match="not the plan of the kit"):
        open_kit(kit, other, trusted, {"amd64"})
    manifest = json.loads((kit / "kit.json").read_text())
    manifest["files"] = [f for f in manifest["files"] if f["path"] != "plan.json"]
    (kit / "kit.json").write_text(json.dumps(manifest))
    (kit / "kit.json.sig").unlink()
    (kit / "plan.json").rename(other)
    with pytest.raises(InputError, match="not the plan of the kit"):
        open_kit(kit, other, [], {"amd64"})  # a kit that lists no plan at all


def test_a_mixed_kit_holds_a_repository_per_architecture(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    amd64 = parts[2]
    archive = tmp_path / "repo-arm64" / "packages-fedcba9876543210.tar"
    archive.parent.mkdir()
    archive.write_bytes(b"arm64 debs" * 100)
    arm64 = PackageRepo(archive.parent, "fedcba9876543210", archive, PACKAGES, "arm64")
    kit = tmp_path / "kit"
    build = make_mixed_kit(parts, kit, {"amd64": amd64, "arm64": arm64})
    names = {f.path for f in build.files}
    assert {f"packages/packages-{KEY}.tar", "packages/packages-fedcba9876543210.tar"} <= names
    trusted = [load_public_key(parts[3])]
    manifest = json.loads((kit / "kit.json").read_text())
    assert manifest["packages"] == {"amd64": KEY, "arm64": "fedcba9876543210"}
    repos, _, _ = open_kit(kit, kit / "plan.json", trusted, {"amd64", "arm64"})
    assert repos["arm64"].archive.read_bytes() == archive.read_bytes()
    assert repos["arm64"].arch == "arm64"

    only_amd64 = tmp_path / "only-amd64"
    make_kit(parts, only_amd64)
    with pytest.raises(InputError, match="no package repository for arm64"):
        open_kit(only_amd64, only_amd64 / "plan.json", trusted, {"amd64", "arm64"})


def test_a_kit_from_before_architectures_is_amd64(
    parts: tuple[Path, Plan, PackageRepo, Path], tmp_path: Path
) -> None:
    kit = tmp_path / "kit"
    make_kit(parts, kit)
    manifest = json.loads((kit / "kit.json").read_text())
    del manifest["packages"]
    (kit / "kit.json").write_text(json.dumps(manifest))
    (kit / "kit.json.sig").unlink()
    repos, _, _ = open_kit(kit, kit / "plan.json", [], {"amd64"})
    assert repos["amd64"].key == KEY


def test_a_hub_of_another_architecture_gets_its_compiled_wheels(tmp_path: Path) -> None:
    """Downloads one wheel from the package registry, as `kit build --hub-arch` does."""
    version = importlib.metadata.version("pyyaml")
    native = tmp_path / f"pyyaml-{version}-cp311-cp311-manylinux_2_17_x86_64.whl"
    native.write_bytes(b"")
    (tmp_path / "lpdeploy-0.1.0-py3-none-any.whl").write_bytes(b"")
    assert wheel_machines(tmp_path) == {"x86_64"}
    add_wheels(tmp_path, "arm64")
    assert wheel_machines(tmp_path) == {"x86_64", "aarch64"}
    fetched = [w.name for w in tmp_path.glob("*aarch64*.whl")]
    assert len(fetched) == 1 and fetched[0].startswith(f"pyyaml-{version}-cp311-")
