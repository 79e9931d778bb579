"""Kolibri on every centre (issue 16): both sample channels and a ZIM on a lab of two,
installed offline from the local repository, imported by Kolibri's own commands, checked
through Kolibri's own API, used by a learner, then one channel dropped through a field kit."""

from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lpdeploy.lab.fleet import Lab

from .conftest import KOLIBRI_CENTRES
from .test_arm64 import on
from .test_kit import lpdeploy

REPO = Path(__file__).parents[2]
DEMO_KEY = REPO / "bundles" / "keys" / "lpdeploy-demo.pub"
CENTRES = KOLIBRI_CENTRES
NAUKA = "6c7f1e0a3b2d4e5f8a9b0c1d2e3f4a5b"  # nauka-uk
HISABATI = "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c0e"  # hisabati-sw
PASSWORD = "kolibri-admin-" + os.urandom(6).hex()
PROFILE = """\
name: lab-kolibri
region: {{country: UA, timezone: Europe/Kyiv}}
languages: [{languages}]
connectivity: offline
hardware: nuc-512g
centres:
  - {{id: kolibri-01, learners: 40}}
  - {{id: kolibri-02, learners: 30}}
secrets:
  kolibri_admin_password: {{env: LPDEPLOY_TEST_KOLIBRI_PASSWORD}}
"""


class Kolibri:
    """A browser's session with a centre's Kolibri, through the portal's nginx."""

    def __init__(self, address: str):
        self.base = f"http://{address}"
        self.jar = http.cookiejar.CookieJar()
        handler = urllib.request.HTTPCookieProcessor(self.jar)
        self.opener = urllib.request.build_opener(handler)

    def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        token = next((c.value or "" for c in self.jar if c.name == "kolibri_csrftoken"), "")
        request = urllib.request.Request(
            self.base + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json", "X-CSRFToken": token,
                     "Referer": f"{self.base}/kolibri/"},
        )  # fmt: skip
        try:
            with self.opener.open(request, timeout=30) as response:
                data = response.read()
                kind = response.headers.get_content_type()
                return response.status, json.loads(data) if kind == "application/json" else data
        except urllib.error.HTTPError as error:
            return error.code, error.read()[:300]

    def log_in(self, username: str, password: str, facility: str) -> None:
        self.call("GET", "/kolibri/api/public/v1/channels")  # the CSRF cookie
        body = {"username": username, "password": password, "facility": facility}
        status, said = self.call("POST", "/kolibri/api/auth/session/", body)
        assert status == 200, said


def channels(address: str) -> dict[str, dict[str, Any]]:
    status, found = Kolibri(address).call("GET", "/kolibri/api/public/v1/channels")
    assert status == 200, found
    return {c["id"]: c for c in found}


def addresses(lab: Lab) -> dict[str, str]:
    state = lab.status()
    assert state is not None
    return {h.id: h.address for h in state.hosts}


@pytest.fixture(name="home", scope="module")
def fixture_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("kolibri-home")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LPDEPLOY_TEST_KOLIBRI_PASSWORD", PASSWORD)
        yield home


def make_plan(home: Path, languages: str, name: str) -> Path:
    profile = home / f"{name}.yaml"
    profile.write_text(PROFILE.format(languages=languages))
    plan = home / f"{name}.json"
    made = lpdeploy(home, "plan", str(profile), "--out", str(plan))
    assert made.returncode == 0, made.stderr
    return plan


@pytest.fixture(name="plan", scope="module")
def fixture_plan(home: Path) -> Path:
    plan = make_plan(home, "uk, sw, en", "both")
    centres = json.loads(plan.read_text())["centres"]
    for centre in centres:
        ids = {b["id"] for b in centre["bundles"]}
        assert {"nauka-uk", "hisabati-sw", "first-letters-en"} <= ids
        assert "kolibri" in centre["services"]
    return plan


def test_a_flipped_byte_in_a_channel_is_refused_before_anything_is_deployed(
    kolibri_lab: Lab, home: Path, plan: Path, tmp_path: Path
) -> None:
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "bundles", catalog, symlinks=True)
    database = catalog / "nauka-uk-1.0.0" / "content" / "databases" / f"{NAUKA}.sqlite3"
    data = bytearray(database.read_bytes())
    data[5000] ^= 1
    database.write_bytes(bytes(data))
    refused = lpdeploy(home, "apply", str(plan), "--inventory", str(kolibri_lab.inventory),
                       "--catalog", str(catalog))  # fmt: skip
    assert refused.returncode == 1
    assert "nauka-uk-1.0.0" in refused.stderr and "sha256" in refused.stderr
    for centre in CENTRES:
        untouched = "test ! -e /srv/lpdeploy/bundles && test ! -e /opt/lpdeploy && echo untouched"
        assert on(kolibri_lab, centre, untouched) == "untouched"


def test_apply_installs_kolibri_and_both_channels_and_verify_is_ready(
    kolibri_lab: Lab, home: Path, plan: Path
) -> None:
    started = time.monotonic()
    applied = lpdeploy(home, "apply", str(plan), "--inventory", str(kolibri_lab.inventory),
                       "--json")  # fmt: skip
    print(f"first apply with Kolibri on 2 centres: {time.monotonic() - started:.1f} s")
    assert applied.returncode == 0, applied.stderr[-3000:]
    assert PASSWORD not in applied.stdout + applied.stderr
    leaked = [p for p in home.rglob("*") if p.is_file() and PASSWORD.encode() in p.read_bytes()]
    assert not leaked, f"the Kolibri password was written to {leaked}"

    checked = lpdeploy(home, "verify", str(plan), "--inventory", str(kolibri_lab.inventory),
                       "--json")  # fmt: skip
    report = json.loads(checked.stdout)
    assert checked.returncode == 0, checked.stdout
    for centre in report["centres"]:
        found = {c["name"]: c for c in centre["checks"]}
        assert found["kolibri"]["ok"], found["kolibri"]
        assert "kolibri" in found["services"]["detail"]

    for centre, address in addresses(kolibri_lab).items():
        held = channels(address)
        assert set(held) == {NAUKA, HISABATI}
        assert [held[c]["total_resource_count"] for c in (NAUKA, HISABATI)] == [3, 3]
        assert [held[c]["version"] for c in (NAUKA, HISABATI)] == [1, 1]
        with urllib.request.urlopen(f"http://{address}/", timeout=10) as response:
            portal = response.read().decode()
        assert f'data-kolibri-channel="{NAUKA}" href="/kolibri/learn/#/topics/t/' in portal
        assert f'data-kolibri-channel="{HISABATI}"' in portal
        units = on(kolibri_lab, centre, "systemctl is-active kolibri; systemctl is-enabled kolibri")
        assert units.split() == ["active", "enabled"]
        listening = on(kolibri_lab, centre, "ss -Hltn")
        assert "127.0.0.1:8081" in listening and "0.0.0.0:8081" not in listening
        config = on(kolibri_lab, centre, "cat /etc/default/kolibri")
        assert "KOLIBRI_DISABLE_PING=1" in config and "KOLIBRI_ZEROCONF_ENABLED=0" in config


def test_a_learner_opens_a_resource_and_its_file_is_served(kolibri_lab: Lab) -> None:
    address = addresses(kolibri_lab)["kolibri-01"]
    admin = Kolibri(address)
    status, facilities = admin.call("GET", "/kolibri/api/auth/facility/")
    assert status == 200 and [f["name"] for f in facilities] == ["kolibri-01"]
    facility = facilities[0]["id"]
    admin.log_in("centre_admin", PASSWORD, facility)
    body = {"username": "learner_1", "password": "learner-pass-1", "full_name": "Learner One",
            "facility": facility}  # fmt: skip
    status, made = admin.call("POST", "/kolibri/api/auth/facilityuser/", body)
    assert status == 201, made

    learner = Kolibri(address)
    learner.log_in("learner_1", "learner-pass-1", facility)
    query = f"/kolibri/api/content/contentnode/?channel_id={HISABATI}&kind=document"
    status, nodes = learner.call("GET", query)
    assert status == 200 and len(nodes) == 1 and nodes[0]["available"]
    node = nodes[0]
    opened = {"node_id": node["id"], "content_id": node["content_id"], "channel_id": HISABATI,
              "kind": node["kind"]}  # fmt: skip
    status, session = learner.call("POST", "/kolibri/api/logger/trackprogress/", opened)
    assert status == 200, session
    path = f"/kolibri/api/logger/trackprogress/{session['session_id']}/"
    status, done = learner.call("PUT", path, {"progress": 1.0, "time_spent_delta": 42})
    assert status == 200 and done["complete"] is True
    status, pdf = learner.call("GET", node["files"][0]["storage_url"])
    assert status == 200 and pdf[:5] == b"%PDF-"
    query = f"/kolibri/api/content/contentnode/?channel_id={HISABATI}&kind=html5"
    status, apps = learner.call("GET", query)
    assert status == 200 and len(apps) == 1
    app = apps[0]["files"][0]["checksum"]  # its own origin: port 8082 (docs/kolibri.md)
    url = f"http://{address}:8082/content/zipcontent/{app}.zip/index.html"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert "Hesabu matunda" in response.read().decode()


def test_a_phone_shows_a_channel_page(kolibri_lab: Lab, tmp_path: Path) -> None:
    """Headless Chromium at phone width renders a channel served by a lab server. The shot
    is kept in $LPDEPLOY_SCREENSHOTS when set (docs/kolibri-channel.png came from here)."""
    address = addresses(kolibri_lab)["kolibri-02"]
    with urllib.request.urlopen(f"http://{address}/", timeout=10) as response:
        portal = response.read().decode()
    start = portal.index(f'data-kolibri-channel="{HISABATI}" href="') + len(HISABATI) + 30
    link = portal[start : portal.index('"', start)]
    url = f"http://{address}{link}"  # Kolibri redirects to its interface language
    browser = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu",
        f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=20000",
    ]  # fmt: skip
    dom = subprocess.run([*browser, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert "Namba 1 hadi 10" in dom.stdout, dom.stdout[-2000:]
    shot = Path(os.environ.get("LPDEPLOY_SCREENSHOTS", tmp_path)) / "kolibri-channel.png"
    done = subprocess.run([*browser, "--window-size=412,900", f"--screenshot={shot}", url],
                          capture_output=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_a_second_apply_changes_nothing(kolibri_lab: Lab, home: Path, plan: Path) -> None:
    """With --force, the whole playbook runs again (not the same-desired-state skip)."""
    again = lpdeploy(home, "apply", str(plan), "--inventory", str(kolibri_lab.inventory),
                     "--force", "--json")  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    result = json.loads(again.stdout)
    assert result["changed"] == 0, result
    assert {c["outcome"] for c in result["centres"]} == {"ok"}


def test_an_import_cut_short_is_finished_by_the_next_run(
    kolibri_lab: Lab, home: Path, plan: Path
) -> None:
    """As Kolibri leaves a channel whose import was interrupted: its documents' files not
    copied (not available, missing) and no desired state recorded (the run never finished)."""
    mark = ("import sqlite3; db = sqlite3.connect('/srv/lpdeploy/kolibri/db.sqlite3'); "
            "db.execute('UPDATE content_contentnode SET available = 0 WHERE kind = ?', "
            "('document',)); db.execute('UPDATE content_localfile SET available = 0 WHERE "
            "extension = ?', ('pdf',)); db.commit()")  # fmt: skip
    address = addresses(kolibri_lab)["kolibri-02"]
    query = f"/kolibri/api/content/contentnode/?channel_id={NAUKA}&kind=document"
    status, nodes = Kolibri(address).call("GET", query)
    assert status == 200 and len(nodes) == 1
    on(kolibri_lab, "kolibri-02", f'python3 -c "{mark}"; rm /var/lib/lpdeploy/desired-state '
       "/srv/lpdeploy/kolibri/content/storage/*/*/*.pdf")  # fmt: skip
    assert on(kolibri_lab, "kolibri-02", "ls /srv/lpdeploy/kolibri/content/storage/*/*/") != ""
    gone, _ = Kolibri(address).call("GET", nodes[0]["files"][0]["storage_url"])
    assert gone == 404
    resumed = lpdeploy(home, "apply", str(plan), "--inventory", str(kolibri_lab.inventory),
                       "--json")  # fmt: skip
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    outcomes = {c["centre"]: c["outcome"] for c in json.loads(resumed.stdout)["centres"]}
    assert outcomes == {"kolibri-01": "ok", "kolibri-02": "changed"}
    back, pdf = Kolibri(address).call("GET", nodes[0]["files"][0]["storage_url"])
    assert back == 200 and pdf[:5] == b"%PDF-"


def test_a_new_channel_version_replaces_the_old_one(
    kolibri_lab: Lab, home: Path, tmp_path: Path
) -> None:
    """nauka-uk 1.0.1 carries version 2 of the channel (its database says so): Kolibri holds
    version 2 after apply, with all its resources, and verify is ready."""
    source = tmp_path / "nauka-uk"
    shutil.copytree(REPO / "bundles" / "nauka-uk-1.0.0" / "content", source / "content")
    database = source / "content" / "databases" / f"{NAUKA}.sqlite3"
    with sqlite3.connect(database) as db:
        db.execute("UPDATE content_channelmetadata SET version = 2")
    meta = (REPO / "bundles" / "src" / "nauka-uk" / "bundle.yaml").read_text()
    meta = meta.replace('version: "1.0.0"', 'version: "1.0.1"')
    (source / "bundle.yaml").write_text(meta.replace("channel_version: 1", "channel_version: 2"))
    catalog = tmp_path / "catalog"
    shutil.copytree(REPO / "bundles", catalog, symlinks=True)
    made = lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "publisher")
    assert made.returncode == 0, made.stderr
    built = lpdeploy(home, "bundle", "build", str(source), "--out", str(catalog),
                     "--sign-key", str(tmp_path / "publisher.key"))  # fmt: skip
    assert built.returncode == 0, built.stderr
    profile = home / "both.yaml"
    plan = tmp_path / "newer.json"
    planned = lpdeploy(home, "plan", str(profile), "--catalog", str(catalog), "--out", str(plan))
    assert planned.returncode == 0, planned.stderr
    where = ("--inventory", str(kolibri_lab.inventory), "--catalog", str(catalog))
    keys = ("--trusted-key", str(DEMO_KEY), "--trusted-key", str(tmp_path / "publisher.pub"))
    applied = lpdeploy(home, "apply", str(plan), *where, *keys)
    assert applied.returncode == 0, applied.stderr[-3000:]
    for address in addresses(kolibri_lab).values():
        held = channels(address)
        assert (held[NAUKA]["version"], held[NAUKA]["total_resource_count"]) == (2, 3)
    checked = lpdeploy(home, "verify", str(plan), *where, "--json")
    assert checked.returncode == 0, checked.stdout


def test_a_plan_without_one_channel_removes_it_through_a_field_kit(
    kolibri_lab: Lab, home: Path, tmp_path: Path
) -> None:
    smaller = make_plan(home, "uk, en", "no-sw")
    kit = tmp_path / "usb" / "kit"
    made = lpdeploy(home, "keys", "generate", "--out", str(tmp_path), "--name", "kit")
    assert made.returncode == 0, made.stderr
    trusted = ("--trusted-key", str(DEMO_KEY), "--trusted-key", str(tmp_path / "kit.pub"))
    built = lpdeploy(home, "kit", "build", str(smaller), "--out", str(kit), "--no-wheels",
                     "--sign-key", str(tmp_path / "kit.key"), *trusted)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert (kit / "bundles" / "nauka-uk-1.0.0").is_dir()
    assert not (kit / "bundles" / "hisabati-sw-1.0.0").exists()
    applied = lpdeploy(home, "apply", str(kit / "plan.json"), "--kit", str(kit), *trusted,
                       "--inventory", str(kolibri_lab.inventory))  # fmt: skip
    assert applied.returncode == 0, applied.stderr[-3000:]
    for address in addresses(kolibri_lab).values():
        assert set(channels(address)) == {NAUKA}
    checked = lpdeploy(home, "verify", str(smaller), "--inventory", str(kolibri_lab.inventory),
                       "--json")  # fmt: skip
    assert checked.returncode == 0, checked.stdout
