"""The offline Debian package repository the servers install from.

Dependencies are resolved inside a throwaway overlay of the lab's base root filesystem,
which is the servers' own release, so the repository holds exactly what a bare server
lacks. Then `dpkg-scanpackages` indexes it and one tar file carries it to each server.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.lab.base import ensure_base
from lpdeploy.lab.system import LabError, require_lab_tools, run
from lpdeploy.output import canonical_json, write_atomic

PACKAGES = (
    "nginx-light", "kiwix-tools", "rsync", "hostapd", "dnsmasq", "sudo", "tzdata",
    "python3-venv",  # for a hub (`lpdeploy hub prepare`); centres do not install it
)  # fmt: skip
MANIFEST = "lpdeploy-repo.json"


@dataclass(frozen=True)
class PackageRepo:
    folder: Path
    key: str
    archive: Path
    packages: tuple[str, ...]


def package_repo(out: Path, cache: Path, packages: tuple[str, ...] = PACKAGES) -> PackageRepo:
    """The repository in `out`, built unless it already holds these packages for this base."""
    require_lab_tools()
    base = ensure_base(cache)
    key = hashlib.sha256(json.dumps([base.name, sorted(packages)]).encode()).hexdigest()[:16]
    manifest = out / MANIFEST
    archive = out / f"packages-{key}.tar"
    if (
        manifest.exists()
        and json.loads(manifest.read_text()).get("key") == key
        and archive.exists()
    ):
        return PackageRepo(out, key, archive, packages)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.deb"), *out.glob("packages-*.tar")]:
        old.unlink()
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        _download(base, Path(tmp), packages, out)
    run(["sh", "-c", "dpkg-scanpackages --multiversion . /dev/null > Packages"], cwd=out)
    _tar(out, archive)
    write_atomic(manifest, canonical_json({"key": key, "packages": sorted(packages)}))
    return PackageRepo(out, key, archive, packages)


def _download(base: Path, tmp: Path, packages: tuple[str, ...], out: Path) -> None:
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
        run([*chroot, "apt-get", "-qq", "update"], timeout=600)
        run([*chroot, "apt-get", "-qq", "install", "-y", "--download-only",
             "--no-install-recommends", *packages], timeout=1200)  # fmt: skip
        debs = sorted((root / "var" / "cache" / "apt" / "archives").glob("*.deb"))
        if not debs:
            raise LabError("apt downloaded no package: are they all in the base already?")
        for deb in debs:
            shutil.copy2(deb, out / deb.name)
    finally:
        for target in reversed(mounted):
            run(["umount", "--recursive", "--lazy", str(target)], check=False)


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
        for path in sorted([*folder.glob("*.deb"), folder / "Packages"]):
            info = tar.gettarinfo(str(path), arcname=path.name)
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mtime = 0
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    partial.rename(archive)
