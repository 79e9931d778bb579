"""Rollback on the real lab: plan A, then plan B with a new version of a bundle, then back
to A. Servers with room keep the old version and switch back to it without a transfer;
the one without room gets it again by transfer and the rollback says so."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState

from .test_hub import sent_to
from .test_lab import hosts, ssh
from .test_rollout import lpdeploy

SIZE = 32 * 10**6
"""The bundle's video: three times Ansible's own traffic in a run of site.yml (10 MB)."""
PROFILE = """\
name: lab-rollback
region: {country: TD, timezone: Africa/Ndjamena}
languages: [en]
connectivity: offline
hardware: nuc-512g
hardware_models:
  lean: {storage_gb: 0.05, ram_gb: 2, wifi_clients: 10, reserve_gb: 0}  # 45 MB: one version
centres:
  - {id: centre-01, learners: 50}
  - {id: centre-02, learners: 50}
  - {id: centre-03, learners: 50, hardware: lean}
"""


def build(home: Path, catalog: Path, version: str) -> None:
    source = home / f"src-{version}"
    (source / "content").mkdir(parents=True)
    (source / "bundle.yaml").write_text(
        f'id: lessons-en\nversion: "{version}"\ntitle: Lessons {version}\nkind: html\n'
        "languages: [en]\nsubjects: [literacy]\nlicence: CC0-1.0\nservices: [portal]\n"
    )
    (source / "content" / "index.html").write_text(f"<h1>Lessons {version}</h1>\n")
    with (source / "content" / "video.bin").open("wb") as handle:
        handle.write(subprocess.run(["head", "-c", str(SIZE), "/dev/urandom"],
                                    capture_output=True, check=True).stdout)  # fmt: skip
    done = lpdeploy(home, "bundle", "build", str(source), "--out", str(catalog),
                    "--sign-key", str(home / "keys" / "lpdeploy.key"))  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.fixture(name="setup", scope="module")
def fixture_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path, Path]:
    """Home, plan A (lessons-en 1.0.0), plan B (1.1.0, keeping 1.0.0 where it fits), and
    B's catalog (both versions)."""
    home = tmp_path_factory.mktemp("lpdeploy-rollback")
    assert lpdeploy(home, "keys", "generate", "--out", str(home / "keys")).returncode == 0
    only_old, both = home / "catalog-a", home / "catalog-b"
    build(home, only_old, "1.0.0")
    build(home, both, "1.1.0")
    subprocess.run(["cp", "-a", str(only_old / "lessons-en-1.0.0"), str(both)], check=True)
    (home / "profile.yaml").write_text(PROFILE)
    plans = []
    for name, catalog in (("a", only_old), ("b", both)):
        plans.append(home / f"{name}.json")
        done = lpdeploy(home, "plan", str(home / "profile.yaml"), "--catalog", str(catalog),
                        "--out", str(plans[-1]))  # fmt: skip
        assert done.returncode == 0, done.stderr
    return home, plans[0], plans[1], both


def run(home: Path, lab: Lab, *args: str) -> subprocess.CompletedProcess[str]:
    return lpdeploy(home, *args, "--inventory", str(lab.inventory),
                    "--trusted-key", str(home / "keys" / "lpdeploy.pub"))  # fmt: skip


def versions(lab: Lab, host: HostState) -> tuple[list[str], str]:
    """The versions of lessons-en a server holds, and the one `current` names."""
    done = ssh(lab, host, "ls /srv/lpdeploy/bundles/lessons-en; "
                          "readlink /srv/lpdeploy/bundles/lessons-en/current")  # fmt: skip
    assert done.returncode == 0, done.stderr
    *held, current = done.stdout.split()
    return sorted(h for h in held if h != "current"), current


def test_rollback_switches_kept_versions_back_and_sends_the_rest(
    lab: Lab, setup: tuple[Path, Path, Path, Path]
) -> None:
    home, plan_a, plan_b, catalog = setup
    keep = {c["id"]: c.get("keep", []) for c in json.loads(plan_b.read_text())["centres"]}
    assert [k["version"] for k in keep["centre-01"]] == ["1.0.0"] and keep["centre-03"] == []
    first = run(home, lab, "apply", str(plan_a), "--catalog", str(catalog), "--json")
    assert first.returncode == 0, first.stderr
    second = run(home, lab, "apply", str(plan_b), "--catalog", str(catalog), "--json")
    assert second.returncode == 0, second.stderr
    servers = {h.id: h for h in hosts(lab)}
    assert versions(lab, servers["centre-01"]) == (["1.0.0", "1.1.0"], "1.1.0")
    assert versions(lab, servers["centre-03"]) == (["1.1.0"], "1.1.0")

    before = {name: sent_to(host) for name, host in servers.items()}
    back = home / "back.json"
    done = run(home, lab, "rollback", str(plan_b), "--catalog", str(catalog), "--out", str(back),
               "--json")  # fmt: skip
    assert done.returncode == 0, done.stderr
    sent = {name: sent_to(host) - before[name] for name, host in servers.items()}
    document = json.loads(done.stdout)
    assert document["rollback"]["to_run"] == json.loads(first.stdout)["run_id"]
    assert document["rollback"]["switched"] == {
        "centre-01": ["lessons-en 1.0.0"], "centre-02": ["lessons-en 1.0.0"]
    }  # fmt: skip
    assert document["rollback"]["transferred"] == {"centre-03": ["lessons-en 1.0.0"]}
    print(f"bytes sent during the rollback: {sent}")
    assert sent["centre-01"] < SIZE / 2 and sent["centre-02"] < SIZE / 2
    assert sent["centre-03"] - max(sent["centre-01"], sent["centre-02"]) > 0.95 * SIZE
    for host in servers.values():
        assert versions(lab, host)[1] == "1.0.0"
    assert json.loads(back.read_text()) == json.loads(plan_a.read_text())

    checked = lpdeploy(home, "verify", str(plan_a), "--catalog", str(catalog), "--inventory",
                       str(lab.inventory), "--json")  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    status = json.loads(lpdeploy(home, "status", "--json").stdout)
    for centre in status["centres"]:
        assert centre["apply"]["kind"] == "rollback"
        assert centre["apply"]["rollback_to"] == document["rollback"]["to_run"]
    said = lpdeploy(home, "status").stdout
    assert f"rollback to run {document['rollback']['to_run']}" in said
