"""The offline package repository of a foreign architecture, resolved on this machine."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from lpdeploy.kit.packages import PACKAGES, package_repos
from lpdeploy.lab.base import ensure_base
from lpdeploy.lab.emulation import emulated, interpreter, machine_arch
from lpdeploy.lab.fleet import CACHE

FOREIGN = "arm64" if machine_arch() == "amd64" else "amd64"
pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not interpreter(FOREIGN).exists(),
    reason="builds a lab base and mounts overlays: needs root and qemu-user-static (CI has both)",
)
ROLE_PACKAGES = ("nginx-light", "kiwix-tools", "rsync", "sudo", "tzdata")


def test_a_foreign_repository_serves_a_server_of_that_architecture(tmp_path: Path) -> None:
    repos = package_repos(tmp_path / "repos", CACHE, [FOREIGN, machine_arch()])
    repo = repos[FOREIGN]
    for name, version in repos[machine_arch()].versions.items():  # pinned where offered
        assert re.sub(r"\+b\d+$", "", repo.versions[name]) == re.sub(r"\+b\d+$", "", version)
    index = (repo.folder / "Packages").read_text()
    arches = set(re.findall(r"^Architecture: (\S+)$", index, re.MULTILINE))
    assert arches == {FOREIGN, "all"}
    assert set(repo.versions) == set(PACKAGES)

    base = ensure_base(CACHE, FOREIGN)
    for part in ("upper", "work", "root"):
        (tmp_path / part).mkdir()
    root = tmp_path / "root"
    options = f"lowerdir={base},upperdir={tmp_path / 'upper'},workdir={tmp_path / 'work'}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], check=True)
    try:
        with tarfile.open(repo.archive) as tar:
            tar.extractall(root / "srv" / "repo", filter="data")
        (root / "etc" / "apt" / "sources.list.d" / "lab.list").write_text(
            "deb [trusted=yes] file:/srv/repo ./\n"
        )
        chroot = ["chroot", str(root), "env", "DEBIAN_FRONTEND=noninteractive"]
        with emulated(FOREIGN, "test-packages"):
            machine = subprocess.run(
                ["chroot", str(root), "uname", "-m"], capture_output=True, text=True, check=True
            )
            assert machine.stdout.strip() != os.uname().machine
            subprocess.run([*chroot, "apt-get", "-qq", "update"], check=True, timeout=600)
            simulated = subprocess.run(
                [*chroot, "apt-get", "install", "--simulate", "--no-install-recommends", "-y",
                 *ROLE_PACKAGES], capture_output=True, text=True, timeout=600, check=False,
            )  # fmt: skip
        assert simulated.returncode == 0, simulated.stderr
        installs = re.findall(r"^Inst (\S+) .*\[(\S+)\]\)$", simulated.stdout, re.MULTILINE)
        assert {name for name, _ in installs} >= set(ROLE_PACKAGES) - {"tzdata", "sudo"}
        assert {arch for _, arch in installs} <= {FOREIGN, "all"}
    finally:
        subprocess.run(["umount", "--lazy", str(root)], check=False)
        shutil.rmtree(tmp_path / "upper", ignore_errors=True)
