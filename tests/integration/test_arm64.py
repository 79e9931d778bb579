"""Raspberry Pi centres for real: a mixed lab of one arm64 server (emulated) and two amd64
servers, deployed from a field kit that holds a package repository per architecture."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.lab.emulation import BINFMT
from lpdeploy.lab.fleet import CGROUP_ROOTS, Lab
from lpdeploy.lab.state import HostState

from .test_kit import lpdeploy

REPO = Path(__file__).parents[2]
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"
PI = "pi-01"
PROFILE = """\
name: lab-mixed
region: {country: TD, timezone: Africa/Ndjamena}
languages: [fr, en]
connectivity: offline
hardware: nuc-512g
age_bands: [early-primary, primary]
subjects: [literacy, numeracy, wellbeing]
centres:  # the canary (wave 1) is nuc-01; the Raspberry Pi is in wave 2
  - {id: nuc-01, learners: 40}
  - {id: pi-01, learners: 40, hardware: rpi4-64g}
  - {id: nuc-02, learners: 30}
"""


def binfmt() -> str | None:
    """The machine's qemu-aarch64 rule, as the kernel shows it (None: none registered)."""
    rule = BINFMT / "qemu-aarch64"
    return rule.read_text() if rule.exists() else None


def rooted_in(root: tuple[int, int]) -> list[int]:
    """Processes whose root directory is `root` (device, inode): a lab server's, seen from
    any mount namespace, and even once its overlay is unmounted (a process there keeps it)."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                seen = (proc / "root").stat()
                if (seen.st_dev, seen.st_ino) == root:
                    found.append(int(proc.name))
    return found


@pytest.fixture(name="mixed", scope="module")
def fixture_mixed() -> Iterator[Lab]:
    lab = Lab("mixed")
    lab.down()
    before = binfmt()
    pi_root = (0, 0)
    try:
        started = time.monotonic()
        lab.up([PI, "nuc-01", "nuc-02"], arches={PI: "arm64"})
        print(f"mixed lab up in {time.monotonic() - started:.1f} s")
        seen = (lab.host_dir(PI) / "root").stat()
        pi_root = (seen.st_dev, seen.st_ino)
        assert len(rooted_in(pi_root)) > 3, "the arm64 server's processes are not found"
        yield lab
    finally:
        pi = host(lab, PI)
        cgroups = [root / "lpdeploy-mixed" for root in CGROUP_ROOTS]
        lab.down()
        assert not any(cgroup.exists() for cgroup in cgroups), "cgroups left behind"
        assert pi.pid is not None and not Path(f"/proc/{pi.pid}").exists()
        left = rooted_in(pi_root)
        assert not left, f"processes of the arm64 server outlived lab down: {left}"
        assert binfmt() == before, "lab down did not put the binfmt rule back"


def host(lab: Lab, name: str) -> HostState:
    state = lab.status()
    assert state is not None
    return next(h for h in state.hosts if h.id == name)


def on(lab: Lab, name: str, *command: str) -> str:
    done = subprocess.run(
        lab.ssh_command(host(lab, name), *command), capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    return done.stdout.strip()


def test_a_mixed_fleet_is_deployed_from_one_kit(mixed: Lab, tmp_path: Path) -> None:
    home = tmp_path / "home"
    profile = tmp_path / "mixed.yaml"
    profile.write_text(PROFILE)
    plan = tmp_path / "plan.json"
    assert lpdeploy(home, "plan", str(profile), "--out", str(plan)).returncode == 0
    arches = {c["id"]: c["arch"] for c in json.loads(plan.read_text())["centres"]}
    assert arches == {PI: "arm64", "nuc-01": "amd64", "nuc-02": "amd64"}

    assert lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "k").returncode == 0
    kit = tmp_path / "kit"
    started = time.monotonic()
    built = lpdeploy(home, "kit", "build", str(plan), "--out", str(kit), "--no-wheels",
                     "--sign-key", str(tmp_path / "k.key"), "--json")  # fmt: skip
    assert built.returncode == 0, built.stderr
    print(f"kit build (both repositories resolved) {time.monotonic() - started:.1f} s")
    sizes = json.loads(built.stdout)["packages"]
    assert set(sizes) == {"amd64", "arm64"}
    print("kit package repositories: " + ", ".join(f"{a} {s['bytes']} B" for a, s in sizes.items()))
    manifest = json.loads((kit / "kit.json").read_text())
    assert manifest["packages"] == {arch: sizes[arch]["key"] for arch in sizes}
    keys = ("--trusted-key", str(tmp_path / "k.pub"))
    assert lpdeploy(home, "kit", "verify", str(kit), *keys).returncode == 0

    started = time.monotonic()
    applied = lpdeploy(home, "apply", str(kit / "plan.json"), "--kit", str(kit), *keys,
                       "--trusted-key", str(DEMO_KEY), "--inventory", str(mixed.inventory),
                       "--json")  # fmt: skip
    assert applied.returncode == 0, applied.stdout + applied.stderr
    print(f"first apply, from the kit: {time.monotonic() - started:.1f} s")
    outcomes = {c["centre"]: c["outcome"] for c in json.loads(applied.stdout)["centres"]}
    assert outcomes == {PI: "changed", "nuc-01": "changed", "nuc-02": "changed"}
    # The servers of wave 2, fresh (no rsync yet), got their bundles by tar while the canary
    # ran: their own wave found every file there.
    sent = {c["centre"]: c["bundle_bytes"] for c in json.loads(applied.stdout)["centres"]}
    print(f"bundle bytes sent in each centre's wave: {sent}")
    assert sent[PI] < sent["nuc-01"] / 10 and sent["nuc-02"] < sent["nuc-01"] / 10, sent

    assert on(mixed, PI, "uname", "-m") == "aarch64"
    assert on(mixed, PI, "dpkg", "--print-architecture") == "arm64"
    assert on(mixed, PI, "dpkg-query -W -f='${Architecture}' kiwix-tools") == "arm64"
    assert on(mixed, PI, "cat", "/etc/apt/sources.list.d/lpdeploy.list").startswith("deb [trusted")
    address = host(mixed, PI).address
    with urllib.request.urlopen(f"http://{address}/", timeout=30) as page:
        assert "compter-fr" in page.read().decode()
    with urllib.request.urlopen(f"http://{address}/kiwix/", timeout=30) as page:
        assert page.status == 200

    ready = lpdeploy(home, "verify", str(plan), "--inventory", str(mixed.inventory), "--json")
    assert ready.returncode == 0, ready.stdout
    report = json.loads(ready.stdout)
    platform = {
        c["id"]: next(k["detail"] for k in c["checks"] if k["name"] == "platform")
        for c in report["centres"]
    }
    assert platform == {
        PI: "Debian bookworm on arm64", "nuc-01": "Debian bookworm on amd64",
        "nuc-02": "Debian bookworm on amd64",
    }  # fmt: skip

    started = time.monotonic()
    again = lpdeploy(home, "apply", str(plan), "--inventory", str(mixed.inventory), "--force",
                     "--json")  # fmt: skip
    assert again.returncode == 0, again.stdout + again.stderr
    print(f"second apply (--force) {time.monotonic() - started:.1f} s")
    assert {c["centre"]: c["changed"] for c in json.loads(again.stdout)["centres"]} == {
        PI: 0, "nuc-01": 0, "nuc-02": 0,
    }  # fmt: skip


def test_a_plan_that_says_amd64_for_the_pi_fails_it_alone(mixed: Lab, tmp_path: Path) -> None:
    home = tmp_path / "home"
    profile = tmp_path / "wrong.yaml"
    profile.write_text(
        PROFILE.replace(
            "hardware: nuc-512g\n",
            "hardware: nuc-512g\nhardware_models:\n"
            "  rpi4-64g: {storage_gb: 64, ram_gb: 4, wifi_clients: 20, arch: amd64}\n",
        )
    )
    plan = tmp_path / "plan.json"
    assert lpdeploy(home, "plan", str(profile), "--out", str(plan)).returncode == 0
    checked = lpdeploy(home, "preflight", str(plan), "--inventory", str(mixed.inventory), "--json")
    assert checked.returncode == 1
    failing = {
        c["id"]: [k["detail"] for k in c["checks"] if not k["ok"]]
        for c in json.loads(checked.stdout)["centres"]
    }
    assert failing[PI][0].startswith("plan: rpi4-64g, amd64; server: arm64")
    assert failing["nuc-01"] == failing["nuc-02"] == []
    applied = lpdeploy(home, "apply", str(plan), "--inventory", str(mixed.inventory), "--json")
    assert applied.returncode == 1
    by_id = {c["centre"]: c for c in json.loads(applied.stdout)["centres"]}
    assert by_id[PI]["outcome"] == "not-run"
    assert "plan: rpi4-64g, amd64; server: arm64" in by_id[PI]["message"]
    assert {by_id["nuc-01"]["outcome"], by_id["nuc-02"]["outcome"]} <= {"ok", "changed"}
