"""Verify on the applied lab: a healthy fleet is ready; each fault fails the right check."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState

from .test_apply import PROFILE
from .test_lab import hosts, ssh


@pytest.fixture(name="applied", scope="module")
def fixture_applied(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The lab applied with the lab3 plan (a no-op when test_apply ran before)."""
    home = tmp_path_factory.mktemp("lpdeploy-verify")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPDEPLOY_HOME", str(home))
        plan = home / "plan.json"
        assert CliRunner().invoke(app, ["plan", str(PROFILE), "--out", str(plan)]).exit_code == 0
        result = CliRunner().invoke(
            app, ["apply", str(plan), "--inventory", str(lab.inventory), "--json"]
        )
        assert result.exit_code == 0, result.stdout + result.stderr
        yield plan


def verify(lab: Lab, plan: Path, *more: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["verify", str(plan), "--inventory", str(lab.inventory), "--json", *more]
    )
    return result.exit_code, json.loads(result.stdout)


def failing(report: dict[str, Any]) -> dict[str, set[str]]:
    return {c["id"]: {k["name"] for k in c["checks"] if not k["ok"]} for c in report["centres"]}


def host(lab: Lab, centre: str) -> HostState:
    return next(h for h in hosts(lab) if h.id == centre)


def test_a_healthy_fleet_is_ready(lab: Lab, applied: Path, tmp_path: Path) -> None:
    junit, page = tmp_path / "verify.xml", tmp_path / "verify.html"
    code, report = verify(lab, applied, "--junit", str(junit), "--html", str(page))
    assert code == 0, failing(report)
    assert report["ready"] is True
    names = {k["name"] for k in report["centres"][0]["checks"]}
    assert names == {"reachable", "system", "platform", "disk", "clock", "services", "portal",
                     "content", "bundles", "unexpected", "packages"}  # fmt: skip
    cases = ET.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == 3 * len(names)
    assert not ET.parse(junit).getroot().findall(".//failure")
    assert all(f"{c}: ready" in page.read_text() for c in ("centre-01", "centre-02", "centre-03"))


CALM = "/srv/lpdeploy/bundles/calm-breathing-en/current/content"
FEELINGS = "/srv/lpdeploy/bundles/feelings-ar"
FAULTS = [
    ("kiwix-stopped", "centre-01", "systemctl stop kiwix-serve", "systemctl start kiwix-serve",
     {"services", "content"}, ()),
    ("nginx-stopped", "centre-02", "systemctl stop nginx", "systemctl start nginx",
     {"services", "portal", "content"}, ()),
    ("file-deleted", "centre-03", f"mv {CALM}/style.css /root/", f"mv /root/style.css {CALM}/",
     {"bundles"}, ()),
    ("byte-flipped", "centre-01",
     f"cd {CALM} && cp index.html /root/keep && "
     "python3 -c \"import pathlib; p = pathlib.Path('index.html'); b = bytearray(p.read_bytes()); "
     "b[20] ^= 1; p.write_bytes(bytes(b))\"",
     f"cp /root/keep {CALM}/index.html",
     {"bundles"}, ("--deep",)),
    ("link-to-missing-version", "centre-02",
     f"cd {FEELINGS} && ln -sfn 9.9.9 current.new && mv -T current.new current",
     f"cd {FEELINGS} && ln -sfn 1.0.0 current.new && mv -T current.new current",
     {"bundles", "content"}, ()),
    ("disk-past-headroom", "centre-01",
     "fallocate -l $(( $(stat -f -c '%a * %S - %b * %S / 20' /srv) )) /srv/lpdeploy/filler",
     "rm /srv/lpdeploy/filler", {"disk"}, ()),
    ("unplanned-bundle", "centre-03", "mkdir -p /srv/lpdeploy/bundles/extra-course/1.0",
     "rm -rf /srv/lpdeploy/bundles/extra-course", {"unexpected"}, ()),
]  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "centre", "break_it", "mend", "checks", "flags"), FAULTS, ids=[f[0] for f in FAULTS]
)
def test_each_fault_fails_its_centre_and_check(
    lab: Lab,
    applied: Path,
    fault: str,
    centre: str,
    break_it: str,
    mend: str,
    checks: set[str],
    flags: tuple[str, ...],
) -> None:
    assert ssh(lab, host(lab, centre), break_it).returncode == 0, fault
    try:
        code, report = verify(lab, applied, *flags)
    finally:
        assert ssh(lab, host(lab, centre), mend).returncode == 0
    assert code == 1
    found = failing(report)
    assert found[centre] == checks, found
    assert all(not found[other] for other in found if other != centre), found


def test_a_clock_a_day_off_fails_only_that_centre(
    lab: Lab, applied: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its own home: fresh SSH connections, since the offset reaches new sessions only.
    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path))
    lab.clock("centre-02", -86400)
    try:
        code, report = verify(lab, applied)
    finally:
        lab.clock("centre-02", 0)
    assert code == 1
    assert failing(report) == {"centre-01": set(), "centre-02": {"clock"}, "centre-03": set()}
    detail = next(k["detail"] for k in report["centres"][1]["checks"] if k["name"] == "clock")
    assert detail == "clock 24.0 h behind the controller", detail


def test_a_byte_flip_needs_deep(lab: Lab, applied: Path) -> None:
    _, _, break_it, mend, _, _ = FAULTS[3]
    assert ssh(lab, host(lab, "centre-01"), break_it).returncode == 0
    try:
        code, _ = verify(lab, applied)
    finally:
        ssh(lab, host(lab, "centre-01"), mend)
    assert code == 0


def test_a_cut_centre_is_reported_not_left_out(lab: Lab, applied: Path) -> None:
    lab.cut("centre-03")
    try:
        code, report = verify(lab, applied)
    finally:
        lab.heal("centre-03")
    assert code == 1
    assert failing(report) == {"centre-01": set(), "centre-02": set(), "centre-03": {"reachable"}}
    assert [c["id"] for c in report["centres"]] == ["centre-01", "centre-02", "centre-03"]
