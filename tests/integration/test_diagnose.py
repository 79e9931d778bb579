"""Diagnostics of a real lab centre with secrets planted where engineers leave them: the
archive holds every part, and none of the secrets."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
from pathlib import Path

from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState

from .test_lab import hosts, ssh
from .test_rollout import env

REPO = Path(__file__).parents[2]
PROFILE = REPO / "tests" / "fixtures" / "profiles" / "lab3.yaml"
WIFI = "wifi-Pass-4471-zebra"
ADMIN = "admin-Secret-9082-lynx"
HASH = "$6$Xq1saltXq$" + "h" * 40
PARTS = [
    "MANIFEST.json", "system/os.txt", "system/disk.txt", "system/memory.txt", "system/clock.txt",
    "system/network.txt", "system/packages.txt", "services/units.txt", "services/nginx.txt",
    "services/failed.txt", "lpdeploy/desired-state", "lpdeploy/bundles.json",
    "config/etc/hostapd/hostapd.conf", "config/etc/lpdeploy/admin.conf",
    "controller/plan-centre.json", "controller/runs.json",
]  # fmt: skip


def plan_with_secrets(home: Path) -> Path:
    """The lab's plan, naming the Wi-Fi passphrase and admin password as secrets."""
    profile = home / "profile.yaml"
    profile.write_text(
        PROFILE.read_text() + "secrets:\n  wifi_passphrase: {env: LPD_TEST_WIFI}\n"
        "  admin_password: {env: LPD_TEST_ADMIN}\n"
    )
    plan = home / "plan.json"
    done = run(home, "plan", str(profile), "--out", str(plan))
    assert done.returncode == 0, done.stderr
    return plan


def run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lpdeploy", *args],
        capture_output=True, text=True, timeout=600, check=False, stdin=subprocess.DEVNULL,
        env=env(home) | {"LPD_TEST_WIFI": WIFI, "LPD_TEST_ADMIN": ADMIN},
    )  # fmt: skip


def plant(lab: Lab, host: HostState, home: Path) -> list[str]:
    """Secrets in config files, a private key in a config folder, one secret in free text
    (only the profile's values find it); returns each secret's text."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(home / "planted")],
                   check=True)  # fmt: skip
    key = (home / "planted").read_text()
    script = (
        "mkdir -p /etc/hostapd /etc/lpdeploy/keys && "
        f"printf 'interface=wlan0\\nssid=learn-x\\nwpa_passphrase={WIFI}\\n' "
        "> /etc/hostapd/hostapd.conf && "
        f"printf 'admin_password: {ADMIN}\\nusers: centre_admin:{HASH}:19000\\n' "
        "> /etc/lpdeploy/admin.conf && "
        f"printf 'call the office, the wifi is {WIFI}\\n' > /etc/lpdeploy/notes.txt && "
        f"cat > /etc/lpdeploy/keys/deploy_key <<'KEY'\n{key}KEY\n"
    )
    done = ssh(lab, host, script)
    assert done.returncode == 0, done.stderr
    body = key.splitlines()[1]  # a line of the key itself
    return [WIFI, ADMIN, HASH, body]


def check_archive(path: Path, secrets: list[str], centre: str, tmp: Path) -> None:
    with tarfile.open(path) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    files = {p.relative_to(tmp / "unpacked").as_posix(): p for p in (tmp / "unpacked").rglob("*")
             if p.is_file()}  # fmt: skip
    missing = [part for part in PARTS if part not in files]
    assert not missing, sorted(files)
    assert path.stat().st_size < 4 * 1024 * 1024
    print(f"diagnostics archive of {centre}: {path.stat().st_size} bytes")
    for secret in secrets:
        holding = [name for name, p in files.items() if secret in p.read_text(errors="replace")]
        assert not holding, f"{secret[:6]}... found in {holding}"
    assert "ssid=learn-x" in files["config/etc/hostapd/hostapd.conf"].read_text()
    assert "[REDACTED]" in files["config/etc/lpdeploy/keys/deploy_key"].read_text()
    manifest = json.loads(files["MANIFEST.json"].read_text())
    assert manifest["centre"] == centre and manifest["redacted"] >= 5
    assert json.loads(files["controller/plan-centre.json"].read_text())["id"] == centre


def diagnose_and_check(lab: Lab, host: HostState, home: Path, *via: str) -> None:
    plan = plan_with_secrets(home)
    secrets = plant(lab, host, home)
    out = home / "diagnostics"
    done = run(home, "diagnose", str(plan), "--inventory", str(lab.inventory), "--limit",
               host.id, "--out", str(out), "--json", *via)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["written"] == {host.id: str(out / f"{host.id}.tar.gz")}
    for secret in secrets:
        assert secret not in done.stdout + done.stderr
    check_archive(out / f"{host.id}.tar.gz", secrets, host.id, home)


def test_diagnose_a_centre_with_planted_secrets(lab: Lab, tmp_path: Path) -> None:
    centre = next(h for h in hosts(lab) if h.id == "centre-02")
    diagnose_and_check(lab, centre, tmp_path)
