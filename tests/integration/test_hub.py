"""The hub relay on the lab (issue 8, item 2): a hub server on this machine's network, three
centres on a second network behind it that this machine has no route to. A kit is built
here, the hub prepared from it, then apply and verify run through the hub; a Ctrl-C during a
relayed run stops the worker on the hub; a tampered kit is refused."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.apply.rollout import UNCHANGED
from lpdeploy.journal import Journal
from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState

from .test_arm64 import on
from .test_diagnose import diagnose_and_check
from .test_trust import lpdeploy as lpdeploy_own_ssh

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
        # Three centres behind `hub` (the relay tests), two behind `hub-2` and one reached
        # directly (with two of hub's: the many-hubs test).
        centres = [f"centre-{i:02d}" for i in range(1, 7)]
        lab.up(centres, hubs={"hub": centres[:3], "hub-2": centres[3:5]})
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
    centres = [h for h in state.hosts if h.behind == "hub"]
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
    # The runs' shared SSH connections from the hub to the centres closed as each ended.
    assert on_hub(hub_lab, hub, "ls -d /tmp/lpd-cp-* 2>/dev/null; true") == ""

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


HUBS_PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab-hubs.yaml"


def kit_for(home: Path, tmp_path: Path, profile: Path, name: str) -> tuple[Path, Path]:
    plan = tmp_path / f"{name}.json"
    assert lpdeploy(home, "plan", str(profile), "--out", str(plan)).returncode == 0
    kit = tmp_path / name
    sign = ("--sign-key", str(tmp_path / "kit.key"), "--trusted-key", str(DEMO_KEY))
    built = lpdeploy(home, "kit", "build", str(plan), "--out", str(kit), *sign)
    assert built.returncode == 0, built.stderr
    return plan, kit


def test_one_apply_through_two_hubs_and_directly(hub_lab: Lab, tmp_path: Path) -> None:
    """A plan with two hubs and a centre of its own: one apply runs both hubs' Ansible at
    the same time and the direct centre from here; a hub cut during a run fails only its
    own centres, and --resume finishes them after the link heals."""
    state = hub_lab.status()
    assert state is not None
    hub2 = state.host("hub-2")
    assert hub2 is not None and state.host("centre-06") is not None
    home = tmp_path / "home"
    assert (
        lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "kit").returncode == 0
    )
    plan, kit = kit_for(home, tmp_path, HUBS_PROFILE, "kit-a")
    planned = json.loads(plan.read_text())
    assert {c["id"]: c.get("hub") for c in planned["centres"]} == {
        "centre-06": None, "centre-01": "hub", "centre-02": "hub",
        "centre-04": "hub-2", "centre-05": "hub-2",
    }  # fmt: skip
    assert [r["via"] for r in planned["summary"]["rollout"]["routes"]] == [
        "controller", "hub", "hub-2"
    ]  # fmt: skip
    keys = ("--trusted-key", str(tmp_path / "kit.pub"), "--trusted-key", str(DEMO_KEY))
    inventory = ("--inventory", str(hub_lab.inventory))
    for hub in ("hub", "hub-2"):
        prepared = lpdeploy(home, "hub", "prepare", hub, "--kit", str(kit), *inventory, *keys)
        assert prepared.returncode == 0, prepared.stdout + prepared.stderr

    # stderr to a file, as in a scripted rollout's log: plain lines, one per centre, none cut.
    log = tmp_path / "apply.log"
    with log.open("w") as written:
        applied = subprocess.run(
            [sys.executable, "-m", "lpdeploy", "apply", str(plan), "--kit", str(kit), *keys,
             *inventory, "--json"], env=env(home), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=written, text=True, timeout=900, check=False,
        )  # fmt: skip
    assert applied.returncode == 0, applied.stdout + log.read_text()
    result = json.loads(applied.stdout)
    assert {c["centre"]: (c["outcome"], c["hub"]) for c in result["centres"]} == {
        "centre-06": ("changed", None), "centre-01": ("changed", "hub"),
        "centre-02": ("changed", "hub"), "centre-04": ("changed", "hub-2"),
        "centre-05": ("changed", "hub-2"),
    }  # fmt: skip
    assert set(result["hubs"]) == {"hub", "hub-2"} and min(result["hubs"].values()) > 0
    lines = log.read_text().splitlines()
    print("\n".join(lines))
    for centre in result["centres"]:
        said = [line for line in lines if f" {centre['centre']} " in line]
        assert len(said) == 1, lines
        assert f"{centre['hub'] or 'direct'} changed {centre['changed']} changes" in said[0]
    assert sum("wave 2 done: 4 centres, 4 changed, 0 failed" in line for line in lines) == 1
    # Both hubs' Ansible ran at the same time: each started before the other finished.
    journal = Journal(home / "journal.sqlite")
    try:
        timings = journal.timings(result["run_id"])
    finally:
        journal.close()
    spans = {
        hub: (min(t.started for t in timings if t.hub == hub),
              max(t.ended for t in timings if t.hub == hub))
        for hub in ("hub", "hub-2")
    }  # fmt: skip
    assert spans["hub"][0] < spans["hub-2"][1] and spans["hub-2"][0] < spans["hub"][1], spans
    print(f"hub ran {spans['hub']}, hub-2 ran {spans['hub-2']}")
    verify = ("verify", str(plan), "--catalog", str(kit / "bundles"), *inventory, "--json")
    ready = lpdeploy(home, *verify)
    assert ready.returncode == 0, ready.stdout + ready.stderr
    assert len(json.loads(ready.stdout)["centres"]) == 5

    # hub-2's centres lose their record of the desired state: the same apply has work there
    # again (only there). hub-2's link is cut while its Ansible runs.
    for centre in ("centre-04", "centre-05"):
        on(hub_lab, centre, "rm /var/lib/lpdeploy/desired-state")
    apply_b = ("apply", str(plan), "--kit", str(kit), *keys, *inventory, "--json")
    running = subprocess.Popen(
        [sys.executable, "-m", "lpdeploy", *apply_b], env=env(home), stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and PLAYBOOK not in on_hub(hub_lab, hub2, "ps -eo args"):
            assert running.poll() is None, running.communicate()
            time.sleep(0.5)
        hub_lab.cut("hub-2")
        stdout, stderr = running.communicate(timeout=300)
    finally:
        hub_lab.heal("hub-2")
    assert running.returncode == 1, stdout + stderr
    outcomes = {c["centre"]: c["outcome"] for c in json.loads(stdout)["centres"]}
    failed = sorted(c for c, outcome in outcomes.items() if outcome not in ("ok", "changed"))
    assert failed == ["centre-04", "centre-05"], outcomes
    resumed = lpdeploy(home, *apply_b, "--resume")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    finished = json.loads(resumed.stdout)
    assert finished["resumes"] == json.loads(stdout)["run_id"]
    assert {c["centre"] for c in finished["centres"] if c["message"] != UNCHANGED} <= {
        "centre-04", "centre-05"
    }  # fmt: skip
    ready = lpdeploy(home, *verify)
    assert ready.returncode == 0, ready.stdout + ready.stderr


AHEAD_PROFILE = """\
name: lab-ahead
region: {country: TD, timezone: Africa/Ndjamena}
languages: [en]
connectivity: offline
hardware: nuc-512g
centres:
  - {id: centre-01, learners: 50}
  - {id: centre-02, learners: 50}
  - {id: centre-03, learners: 50}
"""
AHEAD_SIZE = 4 * 6 * 2**20


def noise_bundle(home: Path, bundle: str, files: int, size: int, catalog: Path, key: Path) -> None:
    """Build into `catalog` an English html bundle of `files` files of `size` bytes of noise."""
    source = home / f"src-{bundle}"
    (source / "content").mkdir(parents=True)
    (source / "bundle.yaml").write_text(
        f'id: {bundle}\nversion: "1.0.0"\ntitle: Noise\nkind: html\nlanguages: [en]\n'
        "subjects: [literacy]\nlicence: CC0-1.0\nservices: [portal]\n"
    )
    (source / "content" / "index.html").write_text(f"<h1>{bundle}</h1>\n")
    for n in range(files):
        (source / "content" / f"part-{n}.bin").write_bytes(os.urandom(size))
    built = lpdeploy(home, "bundle", "build", str(source), "--out", str(catalog),
                     "--sign-key", str(key))  # fmt: skip
    assert built.returncode == 0, built.stderr


def test_the_later_waves_are_staged_ahead_through_a_hub(hub_lab: Lab, tmp_path: Path) -> None:
    """While the canary (centre-01) runs, the hub stages the new bundle on centre-02 and
    centre-03: their own wave, after it, finds every byte there and sends none."""
    home = tmp_path / "home"
    assert lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "k").returncode == 0
    catalog, kit, plan = tmp_path / "catalog", tmp_path / "kit", tmp_path / "plan.json"
    key = ("--sign-key", str(tmp_path / "k.key"))
    trusted = ("--trusted-key", str(tmp_path / "k.pub"))
    noise_bundle(home, "ahead-en", 4, AHEAD_SIZE // 4, catalog, tmp_path / "k.key")
    (tmp_path / "profile.yaml").write_text(AHEAD_PROFILE)
    planned = lpdeploy(home, "plan", str(tmp_path / "profile.yaml"), "--catalog", str(catalog),
                       "--out", str(plan))  # fmt: skip
    assert planned.returncode == 0, planned.stderr
    assert [c["wave"] for c in json.loads(plan.read_text())["centres"]] == [1, 2, 2]
    built = lpdeploy(home, "kit", "build", str(plan), "--out", str(kit), "--catalog",
                     str(catalog), *key, *trusted)  # fmt: skip
    assert built.returncode == 0, built.stderr
    inventory = ("--inventory", str(hub_lab.inventory))
    prepared = lpdeploy(home, "hub", "prepare", "hub", "--kit", str(kit), *inventory, *trusted)
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr
    apply_args = ("apply", str(kit / "plan.json"), "--kit", str(kit), *trusted, *inventory,
                  "--via", "hub", "--json")  # fmt: skip
    later = ("centre-02", "centre-03")
    ready = "test -x /usr/local/sbin/lpdeploy-bundle && command -v rsync >/dev/null && echo yes"
    if any(on(hub_lab, c, ready) != "yes" for c in later):
        # Run on its own: staging under a bandwidth limit needs rsync (a first apply's).
        given = lpdeploy(home, *apply_args, "--limit", ",".join(later))
        assert given.returncode == 0, given.stdout + given.stderr
    for name in ("centre-01", *later):  # the bundle and the record of it gone: all to send
        on(hub_lab, name, "rm -rf /srv/lpdeploy/bundles/ahead-en /var/lib/lpdeploy/desired-state")

    applied = lpdeploy(home, *apply_args, "--bwlimit", "16mbit")  # the canary: about 13 s
    assert applied.returncode == 0, applied.stdout + applied.stderr
    sent = {c["centre"]: c["bundle_bytes"] for c in json.loads(applied.stdout)["centres"]}
    assert sent["centre-01"] > 0.9 * AHEAD_SIZE, sent  # the canary: all of it, in its wave
    # The canary's push on the hub, live here (its progress files relayed): bytes, a rate
    # about the limit's, time left.
    rates = [float(r) for r in re.findall(r"wave 1 bundles: .*, ([\d.]+) Mbit/s, about \d+ s",
                                          applied.stderr)]  # fmt: skip
    assert rates and 4 <= rates[0] <= 20, applied.stderr
    assert max(sent[c] for c in later) < AHEAD_SIZE / 100, sent  # staged during the canary
    for name in later:
        current = on(hub_lab, name, "readlink -f /srv/lpdeploy/bundles/ahead-en/current")
        assert current.endswith("/ahead-en/1.0.0"), current


def test_trust_pins_the_centres_behind_a_hub_through_it(hub_lab: Lab, tmp_path: Path) -> None:
    """An inventory that pins nothing: this machine cannot reach the centres behind the hub
    to fetch their keys; through the hub (its own key pinned first), it can."""
    home = tmp_path / "home"
    bare = tmp_path / "inventory.yml"
    bare.write_text(
        hub_lab.inventory.read_text().replace(f"-o UserKnownHostsFile={hub_lab.known_hosts} ", "")
    )
    behind = ("--limit", "centre-01,centre-02,centre-03")
    direct = lpdeploy_own_ssh(home, "trust", str(bare), *behind, "--yes", "--json")
    assert direct.returncode == 1
    assert {h["state"] for h in json.loads(direct.stdout)["hosts"]} == {"unreachable"}

    trusted = lpdeploy_own_ssh(home, "trust", str(bare), "--via", "hub", *behind, "--yes", "--json")
    assert trusted.returncode == 0, trusted.stdout + trusted.stderr
    rows = json.loads(trusted.stdout)["hosts"]
    assert [(h["host"], h["state"]) for h in rows] == [
        ("hub", "pinned-now"), *((f"centre-0{n}", "pinned-now") for n in (1, 2, 3))]  # fmt: skip
    state = hub_lab.status()
    assert state is not None
    addresses = {h.address for h in state.hosts if h.id in ("hub", "centre-01", "centre-02",
                                                              "centre-03")}  # fmt: skip
    lab_lines = [line for line in hub_lab.known_hosts.read_text().splitlines()
                 if line.split()[0] in addresses]  # fmt: skip
    assert sorted((home / "known_hosts").read_text().splitlines()) == sorted(lab_lines)

    again = lpdeploy_own_ssh(home, "trust", str(bare), "--via", "hub", *behind, "--json")
    assert again.returncode == 0 and {h["state"] for h in json.loads(again.stdout)["hosts"]} == {
        "pinned"}  # fmt: skip
