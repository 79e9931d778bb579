"""`lpdeploy kit verify`: every file of a kit against its signed manifest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel

from lpdeploy.bundle.hashing import sha256_files
from lpdeploy.bundle.keys import PublicKey
from lpdeploy.bundle.manifest import unsafe_path
from lpdeploy.bundle.verify import Problem, check_signature
from lpdeploy.document import load_json, validate
from lpdeploy.errors import InputError, NotRightError
from lpdeploy.kit import manifest as m
from lpdeploy.kit.packages import PACKAGES as SERVER_PACKAGES
from lpdeploy.kit.packages import PackageRepo


class KitVerdict(BaseModel):
    """The result of `kit verify` (its --json document)."""

    ok: bool
    kit: str
    plan: str
    signature: str
    files: int
    bytes: int
    problems: list[Problem]


def verify_kit(folder: Path, trusted: list[PublicKey]) -> tuple[KitVerdict, m.KitManifest]:
    """Check everything; raise InputError only when the manifest itself is malformed."""
    if not folder.is_dir():
        raise InputError.single(str(folder), "not a kit folder")
    doc = load_json(folder / m.MANIFEST)
    manifest: m.KitManifest = validate(m.KitManifest, doc)
    problems = [
        Problem(path=f.path, problem=why)
        for f in manifest.files
        if (why := unsafe_path(f.path)) is not None
    ]
    listed = [f for f in manifest.files if unsafe_path(f.path) is None]
    present = [
        f for f in listed if (folder / f.path).is_file() and not (folder / f.path).is_symlink()
    ]
    problems += [Problem(path=f.path, problem="missing") for f in listed if f not in present]
    for f, result in zip(present, sha256_files([folder / f.path for f in present]), strict=True):
        if isinstance(result, OSError):
            problems.append(Problem(path=f.path, problem=f"cannot be read: {result.strerror}"))
        elif result[0] != f.size:
            problems.append(Problem(path=f.path, problem=f"size {result[0]}, kit says {f.size}"))
        elif result[1] != f.sha256:
            problems.append(Problem(path=f.path, problem="sha256 does not match the kit"))
    known = {f.path for f in manifest.files} | {m.MANIFEST, m.SIGNATURE}
    for path in sorted(p for p in folder.rglob("*") if not p.is_dir()):
        name = path.relative_to(folder).as_posix()
        if name not in known:
            problems.append(Problem(path=name, problem="not in the kit's manifest"))
    signature, signed = check_signature(
        folder / m.SIGNATURE, doc.text.encode("utf-8"), trusted, m.MANIFEST
    )
    problems += signed
    verdict = KitVerdict(
        ok=not problems,
        kit=str(folder),
        plan=manifest.plan.name,
        signature=signature,
        files=len(manifest.files),
        bytes=manifest.bytes,
        problems=problems,
    )
    return verdict, manifest


def checked_kit(
    folder: Path, trusted: list[PublicKey], refused: str = "nothing was deployed"
) -> m.KitManifest:
    """The kit's manifest, once every file of the kit is verified; NotRightError if not."""
    verdict, manifest = verify_kit(folder, trusted)
    if not verdict.ok:
        lines = "".join(f"\n  {p.path}: {p.problem}" for p in verdict.problems[:20])
        raise NotRightError(f"kit {folder} refused, {refused}:{lines}")
    return manifest


def open_kit(
    folder: Path, plan: Path, trusted: list[PublicKey], arches: set[str]
) -> tuple[dict[str, PackageRepo], Path, Path]:
    """Verify a field kit in full before anything else; its repositories (one for each of
    `arches`, the plan's architectures), bundles and playbooks."""
    manifest = checked_kit(folder, trusted)
    kit_plan = next((f.sha256 for f in manifest.files if f.path == m.PLAN), None)
    if hashlib.sha256(plan.read_bytes()).hexdigest() != kit_plan:
        raise InputError.single(
            str(plan), f"not the plan of the kit {folder} (give {folder / m.PLAN})"
        )
    keys = manifest.repository_keys()
    lacking = sorted(arches - keys.keys())
    if lacking:
        raise InputError.single(
            str(folder / m.MANIFEST),
            f"the kit has no package repository for {', '.join(lacking)} (it holds "
            f"{', '.join(sorted(keys))}): build it again with this lpdeploy",
            "packages",
        )
    repos = {arch: kit_repo(folder, arch, key) for arch, key in keys.items()}
    return repos, folder / m.BUNDLES, folder / m.PLAYBOOKS


def kit_repo(folder: Path, arch: str, key: str) -> PackageRepo:
    archive = folder / m.PACKAGES / f"packages-{key}.tar"
    return PackageRepo(archive.parent, key, archive, SERVER_PACKAGES, arch)


def _regular(path: Path) -> bool:
    return path.is_file() and not path.is_symlink()
