"""Secrets named in a profile reach the servers and nowhere else (issue 7, item 5).

A Wi-Fi passphrase from an environment variable and an admin password from an
ansible-vault go through plan, apply and verify on the lab; then every byte lpdeploy wrote
or printed (stdout, stderr, journal, run folders with ansible-runner's artifacts, reports)
is searched for them. The admin password must have reached the servers (as its hash), or
the search would prove nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lpdeploy.lab.fleet import Lab
from lpdeploy.runner.vault import encrypt

from .test_lab import hosts, ssh

REPO = Path(__file__).parents[2]
WIFI = "Wifi-planted-8d1e5c"
ADMIN = "Admin-planted-42b7aa"
# Does the password on stdin match the sha512-crypt hash in argv[1]? (passlib, as Ansible
# uses it; in a subprocess, as it imports the deprecated crypt module.)
CHECK = (
    "import sys; from passlib.hash import sha512_crypt; "
    "sys.exit(0 if sha512_crypt.verify(sys.stdin.read(), sys.argv[1]) else 1)"
)


class Session:
    """Runs lpdeploy as a user would, keeping everything it printed."""

    def __init__(self, home: Path, lab: Lab) -> None:
        self.home, self.lab = home, lab
        self.printed: list[str] = []

    def run(self, *args: str, wifi: str = WIFI) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LPDEPLOY_HOME": str(self.home), "NO_COLOR": "1",
               "LPD_TEST_WIFI": wifi}  # fmt: skip
        done = subprocess.run(
            [sys.executable, "-m", "lpdeploy", *args], capture_output=True, text=True, env=env,
            stdin=subprocess.DEVNULL, timeout=900, check=False,
        )  # fmt: skip
        self.printed += [done.stdout, done.stderr]
        return done


@pytest.fixture(name="profile")
def fixture_profile(tmp_path: Path) -> Path:
    folder = tmp_path / "field"
    folder.mkdir()
    (folder / "vault-password").write_text("correct horse battery\n")
    vault = encrypt(f"admin_password: {ADMIN}\n", "correct horse battery")
    (folder / "secrets.vault.yml").write_bytes(vault)
    text = (REPO / "tests/fixtures/profiles/lab3.yaml").read_text()
    path = folder / "lab3-secrets.yaml"
    path.write_text(
        text + "secrets:\n  wifi_passphrase: {env: LPD_TEST_WIFI}\n"
        "  admin_password: {vault: secrets.vault.yml}\n"
    )
    return path


def test_planted_secrets_reach_the_servers_and_nothing_else(
    lab: Lab, tmp_path: Path, profile: Path
) -> None:
    home = tmp_path / "home"
    session = Session(home, lab)
    plan = profile.parent / "plan.json"
    inventory = ("--inventory", str(lab.inventory))
    vault = ("--vault-password-file", str(profile.parent / "vault-password"))
    assert session.run("plan", str(profile), "--out", str(plan)).returncode == 0
    assert json.loads(plan.read_text())["secrets"]["wifi_passphrase"] == {"env": "LPD_TEST_WIFI"}

    applied = session.run("apply", str(plan), *inventory, *vault, "--json")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    reports = ("--html", str(home / "report.html"), "--junit", str(home / "junit.xml"))
    checked = session.run("verify", str(plan), *inventory, "--json", *reports)
    assert checked.returncode == 0, checked.stdout

    for host in hosts(lab):
        shadow = ssh(lab, host, "getent", "shadow", "lpdeploy-admin").stdout.split(":")[1]
        matches = subprocess.run([sys.executable, "-W", "ignore", "-c", CHECK, shadow],
                                 input=ADMIN, text=True, check=False)  # fmt: skip
        assert matches.returncode == 0, f"{host.id}: the admin password did not arrive"

    # A changed secret is a changed desired state: the servers are not skipped as done.
    again = session.run("apply", str(plan), *inventory, *vault, "--json", wifi="Wifi-other-1")
    assert again.returncode == 0, again.stderr
    centres = json.loads(again.stdout)["centres"]
    assert not any(c["message"].startswith("unchanged") for c in centres), centres

    written = sorted(p for p in home.rglob("*") if p.is_file() and not p.is_symlink())
    assert any("artifacts" in p.parts for p in written)
    assert (home / "journal.sqlite") in written and (home / "report.html") in written
    leaks = [
        f"{where}: {secret}"
        for secret in (WIFI, ADMIN, "Wifi-other-1")
        for where, data in [
            *((f"printed #{i}", text.encode()) for i, text in enumerate(session.printed)),
            *((str(p), p.read_bytes()) for p in written),
        ]
        if secret.encode() in data
    ]
    assert leaks == []
    assert not list(home.rglob("secrets.vault.yml")), "the one-time vault outlived its run"
