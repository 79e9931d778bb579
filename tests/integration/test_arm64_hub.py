"""A hub of the other architecture: an arm64 hub (emulated) prepared from a kit built on
this amd64 machine, with the hub's packages and compiled wheels for arm64."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab

from .test_kit import kit_inputs, lpdeploy


@pytest.fixture(name="arm_hub")
def fixture_arm_hub() -> Iterator[Lab]:
    lab = Lab("armhub")
    lab.down()
    try:
        lab.up(["centre-01"], hub="hub", arches={"hub": "arm64"})
        yield lab
    finally:
        lab.down()


def test_an_arm64_hub_is_prepared_from_a_kit_that_carries_its_architecture(
    arm_hub: Lab, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    plan, sign = kit_inputs(home, tmp_path)
    prepare = ("hub", "prepare", "hub", "--inventory", str(arm_hub.inventory),
               "--trusted-key", str(tmp_path / "kit.pub"), "--json")  # fmt: skip

    amd64_only = tmp_path / "kit-amd64"
    first = lpdeploy(home, "kit", "build", str(plan), "--out", str(amd64_only), *sign)
    assert first.returncode == 0, first.stderr
    refused = lpdeploy(home, *prepare, "--kit", str(amd64_only))
    assert refused.returncode == 1
    assert "an arm64 server" in refused.stderr and "--hub-arch arm64" in refused.stderr

    kit = tmp_path / "kit"
    built = lpdeploy(home, "kit", "build", str(plan), "--out", str(kit), *sign, "--hub-arch",
                     "arm64", "--base", str(amd64_only), "--json")  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert set(json.loads(built.stdout)["packages"]) == {"amd64", "arm64"}
    assert any((kit / "wheels").glob("cryptography-*_aarch64.whl"))
    prepared = lpdeploy(home, *prepare, "--kit", str(kit))
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    assert json.loads(prepared.stdout)["ok"] is True

    state = arm_hub.status()
    hub = state.host("hub") if state else None
    assert hub is not None
    probe = (
        "uname -m; /opt/lpdeploy-hub/bin/python -c "
        "'import cryptography.hazmat.bindings._rust, pydantic_core; print(\"imports\")'"
    )
    said = subprocess.run(arm_hub.ssh_command(hub, probe), capture_output=True, text=True,
                          timeout=300, check=False).stdout.split()  # fmt: skip
    assert said == ["aarch64", "imports"]
