"""A thin real link (issue 19), on a lab of its own (centre-02, centre-03): `lab shape`
holds centre-03's link to 8 mbit each way with 100 ms each way (a 200 ms round trip,
through the user-space relay); a 54 MB bundle is cut mid-transfer; the run fails that
centre; after heal, `--resume` (with `--bwlimit` at half the link) completes it within the
limit and sends at most 1.1x the bytes that were missing, as the link's own counters count
them, less what Ansible sends in a run that pushes nothing."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.shaping import LinkShape

from .test_hub import noise_bundle, sent_to
from .test_lab import hosts
from .test_rollout import LPDEPLOY, env, lpdeploy

CENTRE = "centre-03"
FILES, FILE_SIZE = 6, 9 * 2**20
SIZE = FILES * FILE_SIZE
RATE, DELAY_MS = 8_000_000, 100
PROFILE = """\
name: lab-link
region: {country: TD, timezone: Africa/Ndjamena}
languages: [en]
connectivity: offline
hardware: nuc-512g
centres:
  - {id: centre-03, learners: 50}
"""


@pytest.fixture(name="lab", scope="module")
def fixture_link_lab() -> Iterator[Lab]:
    """Two servers of this module's own, so that it can run in any group of tests
    (tests/conftest.py), beside any other lab."""
    lab = Lab("link")
    lab.down()
    try:
        lab.up(["centre-02", "centre-03"])
        yield lab
    finally:
        lab.down()


@pytest.fixture(name="plan", scope="module")
def fixture_plan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A plan of one centre and one bundle, `big-en`, of six 9 MiB files of noise."""
    home = tmp_path_factory.mktemp("lpdeploy-link")
    assert lpdeploy(home, "keys", "generate", "--out", str(home / "keys")).returncode == 0
    catalog = home / "catalog"
    noise_bundle(home, "big-en", FILES, FILE_SIZE, catalog, home / "keys" / "lpdeploy.key")
    (home / "profile.yaml").write_text(PROFILE)
    plan = home / "plan.json"
    done = lpdeploy(home, "plan", str(home / "profile.yaml"), "--catalog", str(catalog),
                    "--out", str(plan))  # fmt: skip
    assert done.returncode == 0, done.stderr
    return plan


def apply_args(lab: Lab, plan: Path, *more: str) -> list[str]:
    home = plan.parent
    return ["apply", str(plan), "--inventory", str(lab.inventory), "--catalog",
            str(home / "catalog"), "--trusted-key", str(home / "keys" / "lpdeploy.pub"),
            "--json", *more]  # fmt: skip


def arrived(lab: Lab) -> int:
    """Bytes of big-en in the server's staging folder."""
    staging = lab.host_dir(CENTRE) / "srv" / "lpdeploy" / "bundles" / "big-en"
    return sum(p.stat().st_size for p in staging.glob(".staging-*/content/*.bin"))


def portal(lab: Lab, name: str) -> str:
    address = next(h for h in hosts(lab) if h.id == name).address
    with urllib.request.urlopen(f"http://{address}/", timeout=30) as page:
        return str(page.read().decode())


def round_trip(address: str) -> float:
    started = time.monotonic()
    socket.create_connection((address, 22), timeout=10).close()
    return time.monotonic() - started


def bare(lab: Lab, plan: Path, centre: str) -> None:
    """Give `centre` an apply of a plan of no bundle (in French, which the catalog lacks),
    on an unshaped link: its packages, services and bundle helper, and no big-en on its disk
    or portal. A run over the thin link then does what an update of a centre's content
    does (the packages are there: their steps are skipped), not a first install."""
    home = plan.parent
    profile = PROFILE.replace("lab-link", "lab-link-bare").replace("[en]", "[fr]")
    (home / "bare.yaml").write_text(profile.replace("centre-03", centre))
    empty = home / f"bare-{centre}.json"
    done = lpdeploy(home, "plan", str(home / "bare.yaml"), "--catalog", str(home / "catalog"),
                    "--out", str(empty))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [c["bundles"] for c in json.loads(empty.read_text())["centres"]] == [[]]
    given = lpdeploy(home, *apply_args(lab, empty))
    assert given.returncode == 0, given.stderr[-2000:]


def test_a_cut_transfer_over_a_thin_link_resumes_at_the_byte(lab: Lab, plan: Path) -> None:
    centre = next(h for h in hosts(lab) if h.id == CENTRE)
    home = plan.parent
    bare(lab, plan, CENTRE)
    try:
        shaped = lab.shape(CENTRE, LinkShape(rate=RATE, delay_ms=DELAY_MS))
        assert shaped is not None and shaped.relay_pid is not None
        assert 0.2 <= min(round_trip(centre.address) for _ in range(3)) < 0.4

        first = subprocess.Popen(
            [*LPDEPLOY, *apply_args(lab, plan)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env(home), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 600
        while arrived(lab) < 0.4 * SIZE and first.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        began = time.monotonic()
        lab.cut(CENTRE)
        out, errors = first.communicate(timeout=300)
        assert first.returncode == 1, errors[-2000:]
        result = json.loads(out)
        assert [c["outcome"] for c in result["centres"]] != ["ok"]
        time.sleep(max(0.0, 2 - (time.monotonic() - began)))
        kept = arrived(lab)
        assert 0.3 * SIZE < kept < 0.8 * SIZE
        missing = SIZE - kept
        lab.heal(CENTRE)

        before = sent_to(centre)  # within half the link: the push keeps to the limit
        resumed = lpdeploy(home, *apply_args(lab, plan, "--resume", "--bwlimit", "4mbit"))
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        resend = sent_to(centre) - before
        pushed = json.loads(resumed.stdout)["centres"][0]["bundle_bytes"]
        assert 0.9 * missing <= pushed <= 1.1 * missing  # rsync's own count
        # Progress, on stderr in a log: the wave's bytes, rate and time left every 30 s, and
        # what each centre was sent when it is done.
        rates = [float(r) for r in re.findall(r"wave 1 bundles: .*, ([\d.]+) Mbit/s, about",
                                              resumed.stderr)]  # fmt: skip
        # The rate is that of the bytes sent, from the first line (over the push's first
        # seconds, while the bytes already there are matched at disk speed) to the last.
        assert rates and max(rates) <= 4.8 and 2 <= rates[-1] <= 4.4, resumed.stderr
        assert f"{CENTRE} direct changed" in resumed.stderr
        assert re.search(rf"{CENTRE} direct changed \d+ changes, [\d.]+ MB of bundles sent",
                         resumed.stderr), resumed.stderr  # fmt: skip
        # What Ansible itself sends does not depend on the link's speed: measured unshaped,
        # where a run takes seconds, not a minute of 200 ms round trips.
        lab.shape(CENTRE, None)
        before = sent_to(centre)
        again = lpdeploy(home, *apply_args(lab, plan, "--force"))
        assert again.returncode == 0, again.stderr[-2000:]
        ansible = sent_to(centre) - before

        ratio = (resend - ansible) / missing
        print(f"missing {missing} B; the resumed run sent {resend} B, a run with nothing to "
              f"push {ansible} B: the bundle's bytes {ratio:.3f}x the missing")  # fmt: skip
        assert resend - ansible <= 1.1 * missing
        active = lab.host_dir(CENTRE) / "srv" / "lpdeploy" / "bundles" / "big-en"
        assert (active / "current").resolve().name == "1.0.0"
        assert not list(active.glob(".staging-*"))
    finally:
        lab.heal(CENTRE)
        lab.shape(CENTRE, None)


CANARY_PROFILE = (
    PROFILE.replace("lab-link", "lab-link-waves") + "  - {id: centre-02, learners: 50}\n"
)
"""centre-03 first (the canary, wave 1), then centre-02."""


def test_a_canary_failure_leaves_the_later_waves_bundles_staged_not_live(
    lab: Lab, plan: Path
) -> None:
    """While the canary (centre-03) runs, centre-02's bundle is pushed into staging; the
    canary's link is cut, so the run stops before wave 2: centre-02 holds every byte of
    big-en, staged and inactive. Its own wave later finds it there and sends nothing.
    The canary's link has 600 ms round trips until the cut: the staging runs at idle
    priority, and on a machine busy with other tests it must still end first."""
    home = plan.parent
    (home / "waves.yaml").write_text(CANARY_PROFILE)
    waves = home / "waves.json"
    done = lpdeploy(home, "plan", str(home / "waves.yaml"), "--catalog", str(home / "catalog"),
                    "--out", str(waves))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert [c["wave"] for c in json.loads(waves.read_text())["centres"]] == [1, 2]
    later = lab.host_dir("centre-02") / "srv" / "lpdeploy" / "bundles" / "big-en"
    bare(lab, plan, "centre-02")  # provisioned: its rsync, its bundle helper, its portal
    subprocess.run(["rm", "-rf", str(later)], check=True)
    # Staging ahead leaves a bundle helper already there as it is: a new one comes with the
    # server's own wave, after the canary.
    helper = lab.host_dir("centre-02") / "root" / "usr/local/sbin/lpdeploy-bundle"
    helper.write_text(helper.read_text() + "# as an older lpdeploy left it\n")
    for name in ("centre-02", "centre-03"):  # both run: the canary, and centre-02 after it
        (lab.host_dir(name) / "root" / "var/lib/lpdeploy/desired-state").unlink(missing_ok=True)
    try:
        lab.shape(CENTRE, LinkShape(rate=RATE, delay_ms=300))
        first = subprocess.Popen(
            [*LPDEPLOY, *apply_args(lab, waves)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, env=env(home), stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        staged = later / ".staging-1.0.0" / "content"
        while first.poll() is None and time.monotonic() < deadline:
            if sum(p.stat().st_size for p in staged.glob("*.bin")) == SIZE:
                break
            time.sleep(0.2)
        lab.cut(CENTRE)
        out, errors = first.communicate(timeout=300)
        assert first.returncode == 1, errors[-2000:]
        outcomes = {c["centre"]: c["outcome"] for c in json.loads(out)["centres"]}
        assert (
            outcomes["centre-03"] in ("unreachable", "failed")
            and outcomes["centre-02"] == "not-run"
        )
        assert sum(p.stat().st_size for p in staged.glob("*.bin")) == SIZE
        assert not (later / "1.0.0").exists() and not (later / "current").exists()
        assert helper.read_text().endswith("# as an older lpdeploy left it\n")
        # Staged is not served: verify does not count it, and the portal does not list it.
        checked = lpdeploy(home, "verify", str(waves), "--inventory", str(lab.inventory),
                           "--json")  # fmt: skip
        report = {c["id"]: c for c in json.loads(checked.stdout)["centres"]}
        bundles = next(k for k in report["centre-02"]["checks"] if k["name"] == "bundles")
        assert not bundles["ok"] and "big-en: not active" in bundles["detail"]
        assert "/courses/big-en/" not in portal(lab, "centre-02")
        lab.heal(CENTRE)
        lab.shape(CENTRE, None)
        resumed = lpdeploy(home, *apply_args(lab, waves, "--resume"))
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        sent = {c["centre"]: c["bundle_bytes"] for c in json.loads(resumed.stdout)["centres"]}
        assert sent["centre-02"] < SIZE / 100  # staged already: matched, not sent
        assert "older lpdeploy" not in helper.read_text()  # its own wave replaced it
        assert (later / "current").resolve().name == "1.0.0"
        assert "/courses/big-en/" in portal(lab, "centre-02")
    finally:
        lab.heal(CENTRE)
        lab.shape(CENTRE, None)
