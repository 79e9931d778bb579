"""Importing a Kolibri channel on a centre: Kolibri's own `importchannel disk` and
`importcontent disk` of a channel of about 220 MB, from its bundle already on a lab
server, against copying the same bytes to the same server with rsync (over SSH, from this
machine: what bringing them there costs at best). Also Kolibri's resident memory once it
has started and answered a few requests.

    python bench/kolibri_import.py [--mb 220]

The channel is made here with tools/kolibri_channel.py (Kolibri's own code): one topic of
HTML5 apps, each carrying 20 MB of random bytes, so that nothing compresses.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import yaml

from lpdeploy.bundle.build import build_bundle
from lpdeploy.bundle.keys import generate_keys
from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.state import HostState

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
from kolibri_channel import build_channel

CHANNEL = "5be1c4a0d2e34f6a8b9c0d1e2f3a4b5c"
PROFILE = """\
name: bench-kolibri
region: {country: KE, timezone: Africa/Nairobi}
languages: [sw]
connectivity: offline
hardware: nuc-512g
centres:
  - {id: server-01, learners: 40}
"""
APP_MB = 20


def channel_source(folder: Path, megabytes: int) -> Path:
    apps = max(1, megabytes // APP_MB)
    resources = []
    for number in range(apps):
        app = folder / f"app-{number}"
        app.mkdir(parents=True)
        (app / "index.html").write_text(f"<!doctype html><title>App {number}</title><p>{number}")
        (app / "data.bin").write_bytes(os.urandom(APP_MB * 1_000_000))
        resources.append({"kind": "html5", "title": f"App {number}", "folder": app.name})
    (folder / "bundle.yaml").write_text(yaml.safe_dump({
        "id": "bench-channel", "version": "1.0.0", "title": "Bench channel", "kind": "kolibri",
        "languages": ["sw"], "subjects": ["numeracy"], "licence": "CC0-1.0",
        "services": ["kolibri"], "kolibri": {"channel_id": CHANNEL, "channel_version": 1},
    }))  # fmt: skip
    (folder / "channel.yaml").write_text(yaml.safe_dump({
        "name": "Bench channel", "description": "Random bytes", "author": "bench",
        "language": "sw", "topics": [{"title": "Apps", "resources": resources}],
    }))  # fmt: skip
    return folder


def lpdeploy(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "lpdeploy", *args], check=True, stdout=subprocess.DEVNULL)


def on(lab: Lab, host: HostState, command: str) -> str:
    done = subprocess.run(lab.ssh_command(host, command), capture_output=True, text=True,
                          check=True, timeout=1800)  # fmt: skip
    return done.stdout.strip()


def timed(step: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(step, check=True, capture_output=True, timeout=1800)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=220)
    megabytes = parser.parse_args().mb
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        os.environ["LPDEPLOY_HOME"] = str(work / "home")
        private, public, _ = generate_keys(work / "keys", "bench")
        stage = build_channel(channel_source(work / "src", megabytes), work / "stage")
        bundle = build_bundle(stage, work / "catalog", private)
        size = bundle.manifest.size_bytes
        profile = work / "profile.yaml"
        profile.write_text(PROFILE)
        plan = work / "plan.json"
        catalog = ("--catalog", str(work / "catalog"))
        lpdeploy("plan", str(profile), "--out", str(plan), *catalog)
        lab = Lab("bench")
        lab.down()
        try:
            lab.up(["server-01"])
            state = lab.status()
            assert state is not None
            host = state.hosts[0]
            lpdeploy("apply", str(plan), "--inventory", str(lab.inventory), *catalog,
                     "--trusted-key", str(public), "--json")  # fmt: skip
            folder = "/srv/lpdeploy/bundles/bench-channel/current"
            kolibri = "/usr/local/sbin/lpdeploy-kolibri manage"
            on(lab, host, f"{kolibri} deletechannel {CHANNEL}")
            ssh = lab.ssh_command(host)
            importing = timed([*ssh, f"{kolibri} importchannel disk {CHANNEL} {folder} && "
                               f"{kolibri} importcontent disk {CHANNEL} {folder}"])  # fmt: skip
            remote = " ".join(ssh[:-1])
            rsync = timed(["rsync", "-a", "-e", remote, f"{bundle.path}/content/",
                           f"{ssh[-1]}:/srv/bench-rsync/"])  # fmt: skip
            on(lab, host, "rm -rf /srv/bench-rsync")
            with urllib.request.urlopen(f"http://{host.address}/kolibri/api/public/v1/channels",
                                        timeout=30) as response:  # fmt: skip
                listed = json.loads(response.read())
            assert [c["id"] for c in listed] == [CHANNEL]
            pid = on(lab, host, "systemctl show -p MainPID --value kolibri")
            rss_kb = int(on(lab, host, f"awk '/VmRSS/ {{print $2}}' /proc/{pid}/status"))
        finally:
            lab.down()
    figures = {
        "bench": "kolibri_import",
        "channel_bytes": size,
        "import_s": round(importing, 2),
        "rsync_s": round(rsync, 2),
        "import_over_rsync": round(importing / rsync, 2),
        "import_mb_per_s": round(size / 1e6 / importing, 1),
        "kolibri_rss_mb": round(rss_kb / 1024, 1),
    }
    print(f"import of a {size / 1e6:.0f} MB channel: {importing:.1f} s; rsync of the same "
          f"bytes: {rsync:.1f} s ({figures['import_over_rsync']}x); Kolibri RSS "
          f"{figures['kolibri_rss_mb']} MB")  # fmt: skip
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
