"""`lpdeploy kit build`: one folder with everything a rollout needs offline.

Every file is hashed once on the way in. With a base kit (an older kit, or the folder
being updated), a file whose content the base already holds is linked or left in place,
so only what changed is written to the drive.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.bundle.hashing import sha256_files
from lpdeploy.bundle.keys import load_private_key, sign
from lpdeploy.catalog import Catalog
from lpdeploy.document import load_json, validate
from lpdeploy.errors import InputError, MissingToolError, NotRightError
from lpdeploy.kit import manifest as m
from lpdeploy.kit.packages import PackageRepo
from lpdeploy.lab.emulation import QEMU
from lpdeploy.output import canonical_json, write_atomic
from lpdeploy.plan.model import Plan
from lpdeploy.settings import PACKAGE_ROOT


@dataclass(frozen=True)
class Planned:
    """A file of the kit to be: where it comes from, and whether the base holds it."""

    path: str
    source: Path
    size: int
    sha256: str
    reuse: Path | None


@dataclass(frozen=True)
class KitBuild:
    out: Path
    files: list[Planned]

    @property
    def total(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def new_bytes(self) -> int:
        return sum(f.size for f in self.files if f.reuse is None)


def kit_sources(
    plan_path: Path,
    plan: Plan,
    catalog: Catalog,
    repos: dict[str, PackageRepo],
    playbooks: Path,
    wheels: Path | None,
) -> dict[str, Path]:
    """Each path in the kit and the file it is copied from."""
    files = {m.PLAN: plan_path}
    for key in sorted({(b.id, b.version) for c in plan.centres for b in c.bundles}):
        folder = catalog.folders[key]
        for path in _files_under(folder):
            files[f"{m.BUNDLES}/{key[0]}-{key[1]}/{path.relative_to(folder)}"] = path
    for repo in repos.values():
        files[f"{m.PACKAGES}/{repo.archive.name}"] = repo.archive
    for path in _files_under(playbooks):
        files[f"{m.PLAYBOOKS}/{path.relative_to(playbooks)}"] = path
    for path in sorted(wheels.glob("*.whl")) if wheels else []:
        files[f"{m.WHEELS}/{path.name}"] = path
    return files


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def plan_kit(sources: dict[str, Path], out: Path, base: Path | None) -> KitBuild:
    """Hash every source; find what the base kit (or `out` itself) already holds."""
    names = sorted(sources)
    hashed = sha256_files([sources[n] for n in names])
    held = _held(base) if base is not None else {}
    if out != base and (out / m.MANIFEST).exists():
        with contextlib.suppress(InputError):  # a damaged kit there is simply rewritten
            held = {**_held(out), **held}
    files = []
    for name, result in zip(names, hashed, strict=True):
        if isinstance(result, OSError):
            raise NotRightError(f"{sources[name]}: cannot be read: {result.strerror}")
        size, digest = result
        files.append(Planned(name, sources[name], size, digest, held.get(digest)))
    return KitBuild(out=out, files=files)


def _held(kit: Path) -> dict[str, Path]:
    """Content the kit at `kit` holds, by sha256 (as its manifest says; checked when used)."""
    manifest: m.KitManifest = validate(m.KitManifest, load_json(kit / m.MANIFEST))
    return {f.sha256: kit / f.path for f in manifest.files if (kit / f.path).is_file()}


def write_kit(
    build: KitBuild, plan: Plan, packages: dict[str, str], sign_key: Path | None
) -> m.KitManifest:
    """Write the kit: reused files linked (or left), the rest copied, stale files removed,
    then the manifest and its signature last, so a half-written kit never verifies."""
    out = build.out
    signer = load_private_key(sign_key) if sign_key is not None else None  # fail before writing
    out.mkdir(parents=True, exist_ok=True)
    (out / m.SIGNATURE).unlink(missing_ok=True)
    (out / m.MANIFEST).unlink(missing_ok=True)
    for f in build.files:
        _place(f, out / f.path)
    wanted = {out / f.path for f in build.files}
    for path in sorted(out.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    manifest = m.KitManifest(
        plan=m.KitPlan(name=plan.profile.name, sha256=plan.profile.sha256),
        packages_key=next(iter(packages.values())),
        packages=packages,
        files=[m.KitFile(path=f.path, size=f.size, sha256=f.sha256) for f in build.files],
        bytes=build.total,
    )
    data = canonical_json(manifest.model_dump())
    write_atomic(out / m.MANIFEST, data)
    if signer is not None:
        write_atomic(out / m.SIGNATURE, sign(signer, data))
    return manifest


def _place(planned: Planned, dest: Path) -> None:
    if planned.reuse is not None and _same(planned.reuse, planned):
        if planned.reuse == dest:
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(planned.reuse, tmp)
        except OSError:
            shutil.copyfile(planned.reuse, tmp)
        tmp.replace(dest)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    written = Path(name)
    with os.fdopen(fd, "wb") as target, planned.source.open("rb") as source:
        digest = hashlib.sha256()
        while block := source.read(1 << 20):
            digest.update(block)
            target.write(block)
        target.flush()
        os.fsync(target.fileno())
    if digest.hexdigest() != planned.sha256:
        written.unlink()
        raise NotRightError(f"{planned.source}: changed while the kit was being written")
    written.chmod(planned.source.stat().st_mode & 0o755)  # scripts stay executable
    written.replace(dest)


def _same(path: Path, planned: Planned) -> bool:
    """The base's copy is what the manifest said (a tampered base is not reused)."""
    try:
        if path.stat().st_size != planned.size:
            return False
        with path.open("rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == planned.sha256
    except OSError:
        return False


HUB_PYTHON = "3.11"
"""The python3 of the servers' Debian release (bookworm), which a hub's environment runs."""


def wheel_machines(folder: Path) -> set[str]:
    """The machines (x86_64, aarch64) the folder's compiled wheels are for."""
    return {
        machine
        for wheel in folder.glob("*.whl")
        if not wheel.name.endswith("-none-any.whl")
        for machine in QEMU.values()
        if wheel.name.endswith(f"_{machine}.whl")
    }


def add_wheels(folder: Path, arch: str) -> None:
    """Beside this machine's wheels, each compiled one's same version for `arch`, for a hub
    of that architecture (pure-Python wheels serve every architecture)."""
    machine = QEMU[arch]
    if machine in wheel_machines(folder):
        return
    pinned = sorted(
        "{}=={}".format(*wheel.name.split("-")[:2])
        for wheel in folder.glob("*.whl")
        if not wheel.name.endswith("-none-any.whl")
    )
    platforms = [f"manylinux_2_{minor}_{machine}" for minor in (36, 34, 28, 17)]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         *(f"--platform={p}" for p in [*platforms, f"manylinux2014_{machine}"]),
         f"--python-version={HUB_PYTHON}", "--implementation=cp", "--dest", str(folder), *pinned],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise MissingToolError(f"pip could not fetch the {arch} wheels a hub needs: {said}")


def build_wheels(cache: Path) -> Path:
    """Wheels of lpdeploy and every dependency, for an offline `pip install --no-index`."""
    source = PACKAGE_ROOT.parent
    if not (source / "pyproject.toml").is_file():
        raise MissingToolError(
            f"building the kit's wheels needs lpdeploy's source (no pyproject.toml in "
            f"{source}); use --no-wheels, or build the kit from a checkout"
        )
    folder = cache / "wheels"
    shutil.rmtree(folder, ignore_errors=True)  # pip's own cache makes a rebuild quick
    folder.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:  # a copy: the build writes beside its source
        copy = Path(tmp) / "lpdeploy-src"
        copy.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(source / name, copy / name)
        shutil.copytree(
            PACKAGE_ROOT, copy / "lpdeploy", ignore=shutil.ignore_patterns("__pycache__")
        )
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(folder),
             str(copy)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise MissingToolError(f"pip wheel failed: {said}")
    return folder
