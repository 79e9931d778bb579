"""The checks that run on a centre's server, run here on this machine."""

from __future__ import annotations

from lpdeploy.lab.emulation import machine_arch
from lpdeploy.readiness.server_check import platform


def test_platform_says_the_architecture_and_release() -> None:
    here = platform(machine_arch())
    assert here["ok"] is True
    assert here["detail"].startswith("Debian ") and here["detail"].endswith(machine_arch())
    other = "arm64" if machine_arch() == "amd64" else "amd64"
    there = platform(other)
    assert there["ok"] is False
    assert there["detail"].endswith(f"on {machine_arch()}; the plan says {other}")
