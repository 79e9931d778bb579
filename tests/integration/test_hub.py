"""The hub relay on the lab (issue 8, item 2): a hub server on this machine's network, three
centres on a second network behind it that this machine has no route to. A kit is built
here, the hub prepared from it, then apply and verify run through the hub; a Ctrl-C during a
relayed run stops the worker on the hub; a tampered kit is refused."""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState

from .test_arm64 import on
from .test_diagnose import diagnose_and_check

REPO = Path(__file__).parents[2]
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"
JOBS = "/var/lib/lpdeploy-hub/jobs"
PLAYBOOK = "/opt/lpdeploy-hub/bin/python3 /opt/lpdeploy-hub/bin/ansible-playbook"
LEFT = f"ps -eo args | grep -c '[{JOBS[0]}]{JOBS[1:]}' || true"
"""How many processes on the hub still name a job's folder (worker, Ansible, ssh-agent)."""


@pytest.fixture(name="hub_lab", scope="module")
def fixture_hub_lab() -> Iterator[Lab]:
    lab = Lab("hub")
    lab.down()
    try:
        lab.up([f"centre-{i:02d}" for i in range(1, 4)], hub="hub")
        yield lab
    finally:
        lab.down()


def lpdeploy(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lpdeploy", *args], capture_output=True, text=True, env=env(home),
        stdin=subprocess.DEVNULL, timeout=900, check=False,
    )  # fmt: skip


def env(home: Path) -> dict[str, str]:
    return {**os.environ, "LPDEPLOY_HOME": str(home), "NO_COLOR": "1"}


def on_hub(lab: Lab, hub: HostState, script: str) -> str:
    done = subprocess.run(lab.ssh_command(hub, script), capture_output=True, text=True, check=True)
    return done.stdout


def sent_to(host: HostState) -> int:
    """Bytes this machine's side of the hub's link has sent to it."""
    return int(Path(f"/sys/class/net/{host.veth}/statistics/tx_bytes").read_text())


def test_a_rollout_through_a_hub(hub_lab: Lab, tmp_path: Path) -> None:
    state = hub_lab.status()
    assert state is not None
    hub = state.host("hub")
    centres = [h for h in state.hosts if h.id != "hub"]
    assert hub is not None and len(centres) == 3
    for centre in centres:
        with pytest.raises(OSError):
            socket.create_connection((centre.address, 22), timeout=3).close()

    home = tmp_path / "home"
    plan = tmp_path / "plan.json"
    # centre-03 also speaks Swahili: it gets the hisabati-sw channel, so Kolibri (its wheel
    # in the package archive, its channel a bundle) goes through the hub too.
    profile = tmp_path / "lab3-sw.yaml"
    text = PROFILE.read_text().replace("languages: [fr, ar, en]", "languages: [fr, ar, en, sw]")
    text = text.replace("learners: 120", "learners: 120\n    languages: [fr, ar, en]")
    profile.write_text(text.replace("languages: [en]", "languages: [en, sw]"))
    assert lpdeploy(home, "plan", str(profile), "--out", str(plan)).returncode == 0
    services = {c["id"]: c["services"] for c in json.loads(plan.read_text())["centres"]}
    assert ["kolibri" in s for s in services.values()] == [False, False, True]
    made = lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "kit")
    assert made.returncode == 0, made.stderr
    kit = tmp_path / "kit"
    sign = ("--sign-key", str(tmp_path / "kit.key"), "--trusted-key", str(DEMO_KEY))
    built = lpdeploy(home, "kit", "build", str(plan), "--out", str(kit), *sign)
    assert built.returncode == 0, built.stderr
    keys = ("--trusted-key", str(tmp_path / "kit.pub"), "--trusted-key", str(DEMO_KEY))
    inventory = ("--inventory", str(hub_lab.inventory))

    prepared = lpdeploy(home, "hub", "prepare", "hub", "--kit", str(kit), *inventory, *keys,
                        "--json")  # fmt: skip
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    again = lpdeploy(home, "hub", "prepare", "hub", "--kit", str(kit), *inventory, *keys, "--json")
    assert json.loads(again.stdout)["changed"] == 0, again.stdout

    apply_args = ("apply", str(kit / "plan.json"), "--kit", str(kit), *keys, *inventory,
                  "--via", "hub", "--json")  # fmt: skip
    before = sent_to(hub)
    applied = lpdeploy(home, *apply_args)
    link = sent_to(hub) - before
    assert applied.returncode == 0, applied.stdout + applied.stderr
    result = json.loads(applied.stdout)
    assert [c["outcome"] for c in result["centres"]] == ["changed"] * 3
    # `hub prepare` left the package archive where apply looks for it: it does not cross the
    # link again. The bundles do, once each (bench/hub_link.py measures that at size).
    archive = sum(f.stat().st_size for f in (kit / "packages").glob("*.tar"))
    bundles = sum(f.stat().st_size for f in (kit / "bundles").rglob("*") if f.is_file())
    assert bundles < link < archive / 20, (link, bundles, archive)
    assert result["via"] == "hub" and 0 < result["sent_to_hub"] < link

    verify = ("verify", str(plan), "--catalog", str(kit / "bundles"), *inventory, "--via", "hub")
    ready = lpdeploy(home, *verify, "--json")
    assert ready.returncode == 0, ready.stdout + ready.stderr
    report = json.loads(ready.stdout)
    assert report["ready"] and len(report["centres"]) == 3
    kolibri = [c for r in report["centres"] for c in r["checks"] if c["name"] == "kolibri"]
    assert [c["detail"] for c in kolibri] == [
        "1 channel at the planned version, every resource available"
    ]
    assert all(c["host"].startswith(state.far_subnet) for c in report["centres"])

    # Ctrl-C during a relayed run: the worker on the hub stops, nothing of the job is left.
    running = subprocess.Popen(
        [sys.executable, "-m", "lpdeploy", *apply_args, "--force"], env=env(home),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and PLAYBOOK not in on_hub(hub_lab, hub, "ps -eo args"):
        time.sleep(0.5)
    time.sleep(3)
    running.send_signal(signal.SIGINT)
    stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 130, stderr
    assert json.loads(stdout)["stopped"] == "interrupted"
    left = ""
    deadline = time.monotonic() + 30  # ssh-agent notices its job ended within 10 s
    while time.monotonic() < deadline and (left := on_hub(hub_lab, hub, LEFT).strip()) != "0":
        time.sleep(1)
    assert left == "0", on_hub(hub_lab, hub, "ps -eo args")
    assert on_hub(hub_lab, hub, f"ls -A {JOBS}") == ""
    resumed = lpdeploy(home, *apply_args, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert lpdeploy(home, *verify).returncode == 0

    # Learning outcomes come back through the hub: verify's requests to each portal, and
    # known lines planted on centre-02 for a past day, counted exactly.
    zone = zoneinfo.ZoneInfo("Africa/Ndjamena")  # lab3's
    past = datetime.datetime.now(zone).date() - datetime.timedelta(days=4)
    noon = datetime.datetime.combine(past, datetime.time(12), zone).timestamp()
    course = "/courses/calm-breathing-en/current/content/index.html"
    lines = "".join(f"{noon + n:.3f} 10.181.99.{n % 3} 200 {course}\\n" for n in range(9))
    on(hub_lab, "centre-02", f"printf '{lines}' >> /var/log/lpdeploy/usage.log")
    usage = tmp_path / "usage"
    collected = lpdeploy(home, "usage", "collect", str(plan), *inventory, "--via", "hub",
                         "--out", str(usage), "--json")  # fmt: skip
    assert collected.returncode == 0, collected.stdout + collected.stderr
    assert json.loads(collected.stdout)["centres"] == [c.id for c in centres]
    assert lpdeploy(home, "usage", "import", str(usage)).returncode == 0
    reported = lpdeploy(home, "usage", "report", "--by", "centre", "--threshold", "1", "--json")
    groups = {g["group"]: g["requests"] for g in json.loads(reported.stdout)["groups"]}
    assert sorted(groups) == [c.id for c in centres] and min(groups.values()) > 0, groups
    day = ("--from", str(past), "--to", str(past), "--threshold", "1", "--json")
    reported = lpdeploy(home, "usage", "report", "--by", "bundle", *day)
    found = {
        g["group"]: (g["requests"], g["devices"]) for g in json.loads(reported.stdout)["groups"]
    }
    assert found == {"calm-breathing-en": (9, 3)}
    assert all(b"10.181.99." not in p.read_bytes() for p in usage.rglob("*") if p.is_file())

    # Diagnostics of a centre behind the hub, secrets planted on it: none is in the archive.
    behind = next(c for c in centres if c.id == "centre-03")
    (tmp_path / "diagnose").mkdir()
    diagnose_and_check(hub_lab, behind, tmp_path / "diagnose", "--via", "hub")

    # A tampered kit: refused by `kit verify`, by `apply --kit` through the hub, by `hub prepare`.
    page = sorted((kit / "bundles").rglob("content/index.html"))[0]
    original = page.read_bytes()
    page.write_bytes(original + b"<!-- tampered -->")
    assert lpdeploy(home, "kit", "verify", str(kit), *keys).returncode == 1
    refused = lpdeploy(home, *apply_args)
    assert refused.returncode == 1 and "refused, nothing was deployed" in refused.stderr
    refused = lpdeploy(home, "hub", "prepare", "hub", "--kit", str(kit), *inventory, *keys)
    assert refused.returncode == 1 and "refused, nothing was installed" in refused.stderr
    page.write_bytes(original)
