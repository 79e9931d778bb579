"""Apply on the lab: real Ansible through ansible-runner, over SSH, to real servers."""

from __future__ import annotations

import json
import re
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.lab.fleet import Lab
from lpdeploy.runner.spec import control_path_dir

from .test_lab import hosts, ssh

REPO = Path(__file__).parents[2]
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"


@pytest.fixture(name="home", scope="module")
def fixture_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("lpdeploy-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPDEPLOY_HOME", str(home))
        yield home


@pytest.fixture(name="plan", scope="module")
def fixture_plan(home: Path) -> Path:
    path = home / "plan.json"
    result = CliRunner().invoke(app, ["plan", str(PROFILE), "--out", str(path)])
    assert result.exit_code == 0, result.stderr
    return path


def apply(plan: Path, lab: Lab, *more: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        app, ["apply", str(plan), "--inventory", str(lab.inventory), "--json", *more]
    )
    document = json.loads(result.stdout) if result.stdout.strip() else {}
    return result.exit_code, document | {"stderr": result.stderr}


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode("utf-8")


def planned(plan: Path) -> dict[str, list[dict[str, Any]]]:
    return {c["id"]: c["bundles"] for c in json.loads(plan.read_text())["centres"]}


def test_apply_serves_every_centre(lab: Lab, plan: Path, home: Path) -> None:
    code, result = apply(plan, lab)
    assert code == 0, result
    runs = [run for run in home.glob("runs/*/*") if (run / "artifacts").is_dir()]
    assert any(run.name == "wave-1" for run in runs)
    # The apply's runs shared their SSH connections (a later server's staging and its own
    # wave), closed with their folder as the apply ended; no run kept one of its own.
    assert [run.name for run in runs if control_path_dir(run.resolve()).exists()] == []
    applies = {run.parent.resolve() for run in runs}
    assert applies and [a.name for a in applies if control_path_dir(a).exists()] == []
    assert {c["centre"]: c["outcome"] for c in result["centres"]} == dict.fromkeys(
        ["centre-01", "centre-02", "centre-03"], "changed"
    )
    addresses = {h.id: h.address for h in hosts(lab)}
    catalog = {p.name: p for p in (REPO / "bundles").iterdir()}
    for centre, bundles in planned(plan).items():
        status, page = fetch(f"http://{addresses[centre]}/")
        assert status == 200
        assert sorted(re.findall(r'data-bundle="([^"]+)"', page)) == sorted(
            b["id"] for b in bundles
        )
        for bundle in bundles:
            folder = catalog[f"{bundle['id']}-{bundle['version']}"]
            link = re.search(rf'data-bundle="{bundle["id"]}" href="([^"]+)"', page)
            assert link is not None
            status, body = fetch(f"http://{addresses[centre]}{link.group(1)}")
            assert status == 200 and len(body) > 100
            for zim in (folder / "content").glob("*.zim"):
                status, _ = fetch(f"http://{addresses[centre]}/kiwix/{zim.stem}/index.html")
                assert status == 200


def test_second_apply_changes_nothing(lab: Lab, plan: Path) -> None:
    code, result = apply(plan, lab)
    assert code == 0, result
    assert result["changed"] == 0
    assert {c["outcome"] for c in result["centres"]} == {"ok"}


def test_servers_use_only_the_local_repository_and_stay_offline(lab: Lab) -> None:
    for host in hosts(lab):
        assert ssh(lab, host, "ip route show default").stdout.strip() == ""
        sources = ssh(
            lab, host, "cat /etc/apt/sources.list.d/*.list; ls /etc/apt/sources.list.d"
        ).stdout
        assert "http" not in sources
        assert "file:/var/lib/lpdeploy/apt/" in sources


def test_a_tampered_bundle_is_refused_and_not_activated(
    lab: Lab, plan: Path, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "bundles", catalog, symlinks=True)
    page = catalog / "calm-breathing-en-1.0.0" / "content" / "index.html"
    page.write_text(page.read_text().replace("Calm breathing", "Harm breathing"))
    code, result = apply(plan, lab, "--catalog", str(catalog))
    assert code == 1
    assert "calm-breathing-en-1.0.0" in result["stderr"] and "sha256" in result["stderr"]
    served = ssh(
        lab, hosts(lab)[0], "cat /srv/lpdeploy/bundles/calm-breathing-en/current/content/index.html"
    )
    assert "Harm" not in served.stdout and "Calm breathing" in served.stdout


ARCHIVE = "/var/lib/lpdeploy/apt/packages-*.tar"
"""The package archive install copies to a server (skipped where the same set is recorded)."""
# A package half configured in dpkg's journal, as a power cut in an install leaves it: apt
# then refuses to install anything until `dpkg --configure -a`.
HALF_DONE = (
    'python3 -c \'import re; s = open("/var/lib/dpkg/status").read(); '
    'e = re.search(r"^Package: sudo\\n.*?\\n\\n", s, re.M | re.S).group(0); '
    'open("/var/lib/dpkg/updates/0001", "w").write(e.replace('
    '"Status: install ok installed", "Status: install ok half-configured"))\''
)


def test_a_cut_server_fails_alone_and_a_rerun_finishes_it(lab: Lab, plan: Path) -> None:
    # centre-03 as a server whose last apply was cut short: no record, a bundle missing; its
    # packages were installed (the set is recorded): the rerun does not copy the archive again
    ssh(
        lab,
        hosts(lab)[2],
        "rm -rf /srv/lpdeploy/bundles/calm-breathing-en /var/lib/lpdeploy/desired-state " + ARCHIVE,
    )
    lab.cut("centre-03")
    try:
        code, result = apply(plan, lab)
    finally:
        lab.heal("centre-03")
    assert code == 1
    outcomes = {c["centre"]: c["outcome"] for c in result["centres"]}
    assert outcomes == {"centre-01": "ok", "centre-02": "ok", "centre-03": "not-run"}
    cut = next(c for c in result["centres"] if c["centre"] == "centre-03")
    assert cut["message"].startswith("preflight: reachable:"), cut  # found before Ansible
    code, result = apply(plan, lab)
    assert code == 0, result
    assert {c["centre"]: c["outcome"] for c in result["centres"]}["centre-03"] == "changed"
    assert (
        ssh(
            lab, hosts(lab)[2], "test -L /srv/lpdeploy/bundles/calm-breathing-en/current"
        ).returncode
        == 0
    )
    assert ssh(lab, hosts(lab)[2], "ls " + ARCHIVE).returncode != 0, "the archive was copied"


def test_same_desired_state_is_skipped_check_mode_changes_nothing_and_force_repairs_drift(
    lab: Lab, plan: Path
) -> None:
    second = hosts(lab)[1]
    ssh(lab, second, "rm -rf /srv/lpdeploy/bundles/feelings-ar " + ARCHIVE)
    assert ssh(lab, second, HALF_DONE).returncode == 0
    assert "half configured" in ssh(lab, second, "dpkg --audit").stdout
    code, result = apply(plan, lab, "--limit", "centre-02")
    assert code == 0, result
    [centre] = result["centres"]
    assert (centre["outcome"], centre["changed"]) == ("ok", 0)
    assert centre["message"].startswith("unchanged")
    code, result = apply(plan, lab, "--limit", "centre-02", "--force", "--check")
    assert code == 0, result
    assert result["centres"][0]["outcome"] in {"ok", "changed"}
    missing = ssh(lab, second, "test -e /srv/lpdeploy/bundles/feelings-ar")
    assert missing.returncode != 0, "check mode changed the server"
    code, result = apply(plan, lab, "--limit", "centre-02", "--force")
    assert code == 0, result
    assert result["centres"][0]["outcome"] == "changed"
    assert ssh(lab, second, "test -L /srv/lpdeploy/bundles/feelings-ar/current").returncode == 0
    # --force runs the package steps too: the archive is back, the half-done install finished
    assert ssh(lab, second, "ls " + ARCHIVE).returncode == 0
    audit = ssh(lab, second, "dpkg --audit; ls -A /var/lib/dpkg/updates")
    assert (audit.returncode, audit.stdout) == (0, ""), audit
