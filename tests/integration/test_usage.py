"""Learning outcomes back from the centres (issue 17), on the Kolibri lab: known activity is
planted (nginx log lines of two past days from known addresses; Kolibri learners made
through its API who open and complete known resources), collected over SSH and from an
on-site export, imported, and reported: the counts are exactly what was planted, a
re-import changes nothing, a damaged export is refused, a log rotation loses and doubles
nothing, and no planted name or address is in any exported file or report."""

from __future__ import annotations

import datetime
import json
import subprocess
import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from lpdeploy.lab.fleet import Lab

from .conftest import KOLIBRI_CENTRES
from .test_arm64 import on
from .test_kit import lpdeploy
from .test_kolibri import HISABATI, PASSWORD, PROFILE, Kolibri, addresses

ZONE = zoneinfo.ZoneInfo("Europe/Kyiv")  # the lab profile's time zone
TODAY = datetime.datetime.now(ZONE).date()
DAYS = [TODAY - datetime.timedelta(days=3), TODAY - datetime.timedelta(days=2)]
PAGE = {"abetka-uk": "/courses/abetka-uk/current/content/index.html",
        "first-letters-en": "/kiwix/lpdeploy_first-letters_en/A/index.html"}  # fmt: skip
PLANTED = {  # (day index, bundle): (requests, distinct addresses)
    (0, "abetka-uk"): (12, 4),
    (0, "first-letters-en"): (5, 5),
    (1, "abetka-uk"): (7, 2),
}
LEARNERS = ["amani_k", "baraka_m", "chausiku_n", "dalila_o", "eshe_p", "faraji_q"]
LOG = "/var/log/lpdeploy/usage.log"


def address(n: int) -> str:
    return f"10.181.77.{n}"


def plant_lines(lab: Lab, centre: str, day: int, bundle: str, count: int, devices: int) -> None:
    noon = datetime.datetime.combine(DAYS[day], datetime.time(12), ZONE).timestamp()
    lines = "".join(
        f"{noon + n:.3f} {address(n % devices + 1)} 200 {PAGE[bundle]}\\n" for n in range(count)
    )
    on(lab, centre, f"printf '{lines}' >> {LOG}")


@pytest.fixture(name="home", scope="module")
def fixture_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("usage-home")


@pytest.fixture(name="planted", scope="module")
def fixture_planted(kolibri_lab: Lab, home: Path) -> Path:
    """The Kolibri lab with both channels, the web activity planted on kolibri-01 and six
    learners on kolibri-02, each opening the Swahili document and the first three
    completing it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPDEPLOY_TEST_KOLIBRI_PASSWORD", PASSWORD)
        profile = home / "usage.yaml"
        profile.write_text(PROFILE.format(languages="uk, sw, en"))
        plan = home / "usage.json"
        assert lpdeploy(home, "plan", str(profile), "--out", str(plan)).returncode == 0
        applied = lpdeploy(home, "apply", str(plan), "--inventory", str(kolibri_lab.inventory))
        assert applied.returncode == 0, applied.stderr[-3000:]
    for (day, bundle), (count, devices) in PLANTED.items():
        plant_lines(kolibri_lab, "kolibri-01", day, bundle, count, devices)
    place = addresses(kolibri_lab)["kolibri-02"]
    admin = Kolibri(place)
    status, facilities = admin.call("GET", "/kolibri/api/auth/facility/")
    facility = facilities[0]["id"]
    admin.log_in("centre_admin", PASSWORD, facility)
    for number, name in enumerate(LEARNERS):
        body = {"username": name, "password": f"pw-{name}", "full_name": name.title(),
                "facility": facility}  # fmt: skip
        assert admin.call("POST", "/kolibri/api/auth/facilityuser/", body)[0] == 201
        learner = Kolibri(place)
        learner.log_in(name, f"pw-{name}", facility)
        query = f"/kolibri/api/content/contentnode/?channel_id={HISABATI}&kind=document"
        node = learner.call("GET", query)[1][0]
        opened = {"node_id": node["id"], "content_id": node["content_id"],
                  "channel_id": HISABATI, "kind": "document"}  # fmt: skip
        status, session = learner.call("POST", "/kolibri/api/logger/trackprogress/", opened)
        assert status == 200, session
        progress = {"progress": 1.0 if number < 3 else 0.5, "time_spent_delta": 10}
        path = f"/kolibri/api/logger/trackprogress/{session['session_id']}/"
        assert learner.call("PUT", path, progress)[0] == 200
    return plan


def report(home: Path, *args: str) -> dict[str, Any]:
    done = lpdeploy(home, "usage", "report", "--json", *args)
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def web_counts(home: Path, day: int) -> dict[str, tuple[Any, Any]]:
    found = report(home, "--by", "bundle", "--from", str(DAYS[day]), "--to", str(DAYS[day]),
                   "--threshold", "1")  # fmt: skip
    return {g["group"]: (g["requests"], g["devices"]) for g in found["groups"]}


def test_collected_counts_are_exactly_what_was_planted(
    kolibri_lab: Lab, home: Path, planted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "collected"
    collected = lpdeploy(home, "usage", "collect", str(planted), "--inventory",
                         str(kolibri_lab.inventory), "--out", str(out), "--json")  # fmt: skip
    assert collected.returncode == 0, collected.stderr
    assert json.loads(collected.stdout)["centres"] == KOLIBRI_CENTRES
    imported = lpdeploy(home, "usage", "import", str(out), "--json")
    assert imported.returncode == 0, imported.stderr
    for day in (0, 1):
        expected = {b: n for (d, b), n in PLANTED.items() if d == day}
        assert web_counts(home, day) == expected
    kolibri = report(home, "--by", "centre", "--from", str(TODAY), "--threshold", "1")
    line = next(g for g in kolibri["groups"] if g["group"] == "kolibri-02")
    assert (line["learners"], line["started"], line["completed"]) == (6, 6, 3)
    assert line["seconds"] == 60
    suppressed = report(home, "--by", "centre", "--from", str(TODAY))  # threshold 5
    line = next(g for g in suppressed["groups"] if g["group"] == "kolibri-02")
    assert (line["learners"], line["completed"]) == (6, "<5")

    before = report(home, "--by", "bundle")
    again = lpdeploy(home, "usage", "import", str(out), "--json")
    assert json.loads(again.stdout)["added"] == 0 and json.loads(again.stdout)["replaced"] == 0
    assert report(home, "--by", "bundle") == before

    damaged = tmp_path / "damaged"
    subprocess.run(["cp", "-a", str(out), str(damaged)], check=True)
    victim = sorted((damaged / "centres").iterdir())[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 1
    victim.write_bytes(bytes(data))
    refused = lpdeploy(home, "usage", "import", str(damaged))
    assert refused.returncode == 1 and "refused, nothing merged" in refused.stderr
    assert report(home, "--by", "bundle") == before


def test_a_log_rotation_loses_and_doubles_nothing(
    kolibri_lab: Lab, home: Path, planted: Path, tmp_path: Path
) -> None:
    plant_lines(kolibri_lab, "kolibri-01", 1, "abetka-uk", 3, 3)  # before the turn
    on(kolibri_lab, "kolibri-01", "logrotate -f /etc/logrotate.d/lpdeploy-usage")
    assert on(kolibri_lab, "kolibri-01", f"test -s {LOG}.1 && echo turned") == "turned"
    plant_lines(kolibri_lab, "kolibri-01", 1, "abetka-uk", 4, 2)  # after it
    out = tmp_path / "collected"
    assert lpdeploy(home, "usage", "collect", str(planted), "--inventory",
                    str(kolibri_lab.inventory), "--out", str(out)).returncode == 0  # fmt: skip
    assert lpdeploy(home, "usage", "import", str(out)).returncode == 0
    assert web_counts(home, 1)["abetka-uk"] == (7 + 3 + 4, 3)
    assert web_counts(home, 0) == {b: n for (d, b), n in PLANTED.items() if d == 0}


def test_an_on_site_export_to_a_folder_is_imported(
    kolibri_lab: Lab, home: Path, planted: Path, tmp_path: Path
) -> None:
    on(kolibri_lab, "kolibri-02", "rm -rf /tmp/usb && lpdeploy-usage export --out /tmp/usb")
    usb = tmp_path / "usb"
    usb.mkdir()
    packed = subprocess.run(
        kolibri_lab.ssh_command(_host(kolibri_lab, "kolibri-02"), "tar -C /tmp/usb -cf - ."),
        capture_output=True, check=True,
    ).stdout  # fmt: skip
    subprocess.run(["tar", "-C", str(usb), "-xf", "-"], input=packed, check=True)
    imported = lpdeploy(home, "usage", "import", str(usb), "--json")
    assert imported.returncode == 0, imported.stderr
    line = next(
        g for g in report(home, "--by", "centre", "--from", str(TODAY), "--threshold", "1")[
            "groups"] if g["group"] == "kolibri-02"
    )  # fmt: skip
    assert (line["learners"], line["completed"]) == (6, 3)


def test_no_planted_name_or_address_leaves_a_centre(
    kolibri_lab: Lab, home: Path, planted: Path, tmp_path: Path
) -> None:
    out = tmp_path / "collected"
    assert lpdeploy(home, "usage", "collect", str(planted), "--inventory",
                    str(kolibri_lab.inventory), "--out", str(out)).returncode == 0  # fmt: skip
    assert lpdeploy(home, "usage", "export", "--out", str(tmp_path / "store")).returncode == 0
    page = tmp_path / "report.html"
    html = lpdeploy(home, "usage", "report", "--by", "subject", "--html", str(page))
    assert html.returncode == 0, html.stderr
    texts = [p.read_bytes() for folder in (out, tmp_path / "store") for p in folder.rglob("*")
             if p.is_file()]  # fmt: skip
    texts += [page.read_bytes(), json.dumps(report(home, "--by", "centre")).encode()]
    texts += [p.read_bytes() for p in (home / "runs").rglob("*") if p.is_file()]
    planted_words = [*LEARNERS, *(n.title() for n in LEARNERS), address(1)[:-1]]
    for text in texts:
        for word in planted_words:
            assert word.encode() not in text, word


def _host(lab: Lab, name: str) -> Any:
    state = lab.status()
    assert state is not None
    return next(h for h in state.hosts if h.id == name)
