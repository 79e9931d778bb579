"""The checks that run on a centre's server, run here on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from lpdeploy.lab.emulation import machine_arch
from lpdeploy.readiness.server_check import bundle_problems, platform, sha256


def test_platform_says_the_architecture_and_release() -> None:
    here = platform(machine_arch())
    assert here["ok"] is True
    assert here["detail"].startswith("Debian ") and here["detail"].endswith(machine_arch())
    other = "arm64" if machine_arch() == "amd64" else "amd64"
    there = platform(other)
    assert there["ok"] is False
    assert there["detail"].endswith(f"on {machine_arch()}; the plan says {other}")


def test_a_later_plans_staging_is_not_counted_and_this_ones_is(tmp_path: Path) -> None:
    folder = tmp_path / "big-en"
    (folder / "1.0.0").mkdir(parents=True)
    manifest = folder / "1.0.0" / "bundle.json"
    manifest.write_text(json.dumps({"files": []}))
    (folder / "current").symlink_to("1.0.0")
    planned = {"id": "big-en", "version": "1.0.0", "manifest_sha256": sha256(manifest)}
    (folder / ".staging-2.0.0" / "content").mkdir(parents=True)  # staged ahead, inactive
    assert bundle_problems(tmp_path, planned, deep=True) == []
    (folder / ".staging-1.0.0").mkdir()
    assert bundle_problems(tmp_path, planned, deep=True) == [
        "big-en: half-installed .staging-1.0.0"
    ]
