"""The offline Debian package repositories the servers install from, one per architecture.

Dependencies are resolved inside a throwaway overlay of the lab's base root filesystem of
that architecture (emulated where it is not this machine's), which is the servers' own
release, so the repository holds exactly what a bare server lacks. Then
`dpkg-scanpackages` indexes it and one tar file carries it to each server. The packages
asked for are pinned to the versions the first architecture resolved, where the archive
has them for the others too. Kolibri's wheel (one file for every architecture) travels in
the same tar, under `wheels/`: whatever carries the repository carries Kolibri.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tarfile
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lpdeploy import kolibri
from lpdeploy.lab.base import ensure_base
from lpdeploy.lab.emulation import emulated, machine_arch
from lpdeploy.lab.system import LabError, require_lab_tools, run
from lpdeploy.output import canonical_json, write_atomic

PACKAGES = (
    "nginx-light", "kiwix-tools", "rsync", "hostapd", "dnsmasq", "sudo", "tzdata", "logrotate",
    "python3-venv",  # for a hub (`lpdeploy hub prepare`); centres do not install it
)  # fmt: skip
MANIFEST = "lpdeploy-repo.json"
UPDATE_TRIES = 3
UPDATE_PAUSE = 10.0
"""Seconds before the second `apt-get update`; twice that before the third."""


@dataclass(frozen=True)
class PackageRepo:
    folder: Path
    key: str
    archive: Path
    packages: tuple[str, ...]
    arch: str = "amd64"
    versions: dict[str, str] = field(default_factory=dict)
    """The version of each package asked for, as resolved."""


def package_repos(
    out: Path, cache: Path, arches: Iterable[str], packages: tuple[str, ...] = PACKAGES
) -> dict[str, PackageRepo]:
    """A repository per architecture in `out/<arch>`; this machine's is resolved first and
    the others pinned to its versions of `packages` where the archive has them."""
    wanted = sorted(set(arches), key=lambda arch: (arch != machine_arch(), arch))
    repos: dict[str, PackageRepo] = {}
    for arch in wanted:
        first = next(iter(repos.values()), None)
        repos[arch] = package_repo(
            out / arch, cache, arch, packages, first.versions if first else {}
        )
    return dict(sorted(repos.items()))


def package_repo(
    out: Path,
    cache: Path,
    arch: str | None = None,
    packages: tuple[str, ...] = PACKAGES,
    pins: dict[str, str] | None = None,
) -> PackageRepo:
    """The repository of `arch` (default: this machine's) in `out`, built unless it already
    holds these packages for this base (and pins)."""
    require_lab_tools()
    arch = arch or machine_arch()
    base = ensure_base(cache, arch)
    pins = pins or {}
    wheels = [kolibri.wheel_name()]
    recipe = [base.name, sorted(packages), *([sorted(pins.items())] if pins else []), wheels]
    key = hashlib.sha256(json.dumps(recipe).encode()).hexdigest()[:16]
    manifest = out / MANIFEST
    archive = out / f"packages-{key}.tar"
    if manifest.exists() and archive.exists():
        said = json.loads(manifest.read_text())
        if said.get("key") == key:
            return PackageRepo(out, key, archive, packages, arch, said.get("versions", {}))
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.deb"), *out.glob("packages-*.tar"), *out.glob("wheels/*")]:
        old.unlink()
    with tempfile.TemporaryDirectory(dir=cache) as tmp, emulated(arch, "package-repo"):
        _download(base, Path(tmp), packages, out, pins)
    kolibri.fetch_wheel(cache / "wheels")
    (out / "wheels").mkdir(exist_ok=True)
    for wheel in wheels:
        shutil.copyfile(cache / "wheels" / wheel, out / "wheels" / wheel)
    run(["sh", "-c", "dpkg-scanpackages --multiversion . /dev/null > Packages"], cwd=out)
    _tar(out, archive)
    versions = _versions(out, packages)
    write_atomic(
        manifest,
        canonical_json(
            {"key": key, "arch": arch, "packages": sorted(packages), "versions": versions}
        ),
    )
    return PackageRepo(out, key, archive, packages, arch, versions)


def _versions(folder: Path, packages: tuple[str, ...]) -> dict[str, str]:
    """The version of each package asked for, from the repository's index."""
    found: dict[str, str] = {}
    for stanza in (folder / "Packages").read_text().split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.MULTILINE))
        if fields.get("Package") in packages:
            found[fields["Package"]] = fields["Version"]
    return dict(sorted(found.items()))


def _download(
    base: Path, tmp: Path, packages: tuple[str, ...], out: Path, pins: dict[str, str]
) -> None:
    root = tmp / "root"
    for part in ("upper", "work", "root"):
        (tmp / part).mkdir()
    options = f"lowerdir={base},upperdir={tmp / 'upper'},workdir={tmp / 'work'}"
    run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)])
    mounted = [root]
    try:
        for source, target in ((Path("/dev"), root / "dev"), (Path("/proc"), root / "proc")):
            run(["mount", "--rbind", str(source), str(target)])
            mounted.append(target)
        _copy_apt_sources(root)
        chroot = ["chroot", str(root), "env", "DEBIAN_FRONTEND=noninteractive"]
        _update(chroot)
        offered = _offered(chroot, [p for p in packages if p in pins])
        asked = [f"{p}={pins[p]}" if pins.get(p) in offered.get(p, ()) else p for p in packages]
        run([*chroot, "apt-get", "-qq", "install", "-y", "--download-only",
             "--no-install-recommends", *asked], timeout=1800)  # fmt: skip
        debs = sorted((root / "var" / "cache" / "apt" / "archives").glob("*.deb"))
        if not debs:
            raise LabError("apt downloaded no package: are they all in the base already?")
        for deb in debs:
            shutil.copy2(deb, out / deb.name)
    finally:
        for target in reversed(mounted):
            run(["umount", "--recursive", "--lazy", str(target)], check=False)


def _update(chroot: list[str]) -> None:
    """`apt-get update`, tried again after a pause: a mirror caught mid-sync can answer, for a
    moment, an index that fails its check (seen in CI: "InRelease is not signed")."""
    for attempt in range(1, UPDATE_TRIES + 1):
        try:
            run([*chroot, "apt-get", "-qq", "-o", "Acquire::Retries=3", "update"], timeout=900)
            return
        except LabError:
            if attempt == UPDATE_TRIES:
                raise
            time.sleep(UPDATE_PAUSE * attempt)


def _offered(chroot: list[str], packages: list[str]) -> dict[str, set[str]]:
    """Each package's versions the archive offers for the root's architecture."""
    if not packages:
        return {}
    said = run([*chroot, "apt-cache", "madison", *packages], timeout=600)
    offered: dict[str, set[str]] = {}
    for line in said.splitlines():
        name, version, *_ = (part.strip() for part in line.split("|"))
        offered.setdefault(name, set()).add(version)
    return offered


def _copy_apt_sources(root: Path) -> None:
    """This machine's own apt sources and resolver, so the mirror is never written down."""
    apt = root / "etc" / "apt"
    for path in Path("/etc/apt/sources.list.d").glob("*.sources"):
        shutil.copy2(path, apt / "sources.list.d" / path.name)
    if Path("/etc/apt/sources.list").exists():
        shutil.copy2("/etc/apt/sources.list", apt / "sources.list")
    resolv = root / "etc" / "resolv.conf"
    resolv.unlink(missing_ok=True)
    shutil.copy2(Path("/etc/resolv.conf").resolve(), resolv)


def _tar(folder: Path, archive: Path) -> None:
    """An uncompressed tar (debs are compressed already) with fixed owners and times."""
    partial = archive.with_suffix(".partial")
    with tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted([*folder.glob("*.deb"), folder / "Packages", *folder.glob("wheels/*")]):
            info = tar.gettarinfo(str(path), arcname=path.relative_to(folder).as_posix())
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    partial.rename(archive)
