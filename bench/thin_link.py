"""Bundles over a thin link: 5 centres behind a hub whose link to them is shaped (by default
10 mbit with 150 ms each way, a 300 ms round trip), each getting the same bundle of N MB.

In one run, on the same lab and the same shaping:
- lpdeploy: `apply --via hub` of a plan whose one bundle the centres lack (they were given
  everything else by an earlier apply, before the link was shaped), against
- rsync: `rsync -a` of the same bundle folder to the 5 centres at once, from the hub's own
  network namespace (its traffic takes the same shaped link), and
- `apply --bwlimit` at half the link: the link's use, sampled each second from its kernel
  counters while the pushes run, against the limit (target: within 10%).

    python bench/thin_link.py [--mb 200] [--rate 10mbit] [--delay-ms 150] [--runs 1]
                              [--no-bwlimit]

(`--no-bwlimit`: the first two only; the limited apply is the longest step, half an hour.)

Run as root. The centres lose the bundle (and their desired-state record) between steps,
on their file systems, so that each step pushes every byte again.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lpdeploy.bundle.build import build_bundle
from lpdeploy.journal import Journal
from lpdeploy.lab.fleet import Lab
from lpdeploy.lab.shaping import LinkShape
from lpdeploy.rates import parse_rate

REPO = Path(__file__).resolve().parent.parent
CENTRES = [f"centre-{n:02d}" for n in range(1, 6)]
BUNDLE = "thin-en"
PROFILE = """\
name: bench-thin
region: {country: TD, timezone: Africa/Ndjamena}
languages: [en]
connectivity: offline
hardware: nuc-512g
centres:
"""


def make_bundle(folder: Path, catalog: Path, key: Path, size: int) -> None:
    rng = random.Random(19)
    content = folder / "content"
    content.mkdir(parents=True)
    (content / "index.html").write_text("<h1>Thin</h1>\n")
    for n in range(4):
        with (content / f"lesson-{n + 1}.mp4").open("wb") as handle:
            left = size // 4
            while left:
                step = min(left, 8 << 20)
                handle.write(rng.randbytes(step))
                left -= step
    (folder / "bundle.yaml").write_text(
        f'id: {BUNDLE}\nversion: "1.0.0"\ntitle: Thin\nkind: html\nlanguages: [en]\n'
        "subjects: [literacy]\nlicence: CC0-1.0\nservices: [portal]\n"
    )
    build_bundle(folder, catalog, sign_key=key)


class Meter:
    """Bytes the hub sends into its shaped link, sampled each second."""

    def __init__(self, veth: str) -> None:
        self.path = Path(f"/sys/class/net/{veth}/statistics/rx_bytes")
        self.samples: list[tuple[float, int]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Meter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()

    def _sample(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), int(self.path.read_text())))
            self.stop.wait(1.0)

    def total(self) -> int:
        return self.samples[-1][1] - self.samples[0][1] if self.samples else 0

    def busy_rate(self, floor: float) -> float:
        """Bits a second over the span in which the link carried more than `floor` bits a
        second (the pushes, not Ansible's steps before and after)."""
        busy = [
            (t1, b1 - b0, t1 - t0)
            for (t0, b0), (t1, b1) in zip(self.samples, self.samples[1:], strict=False)
            if (b1 - b0) * 8 / (t1 - t0) > floor
        ]
        if not busy:
            return 0.0
        return 8 * sum(b for _, b, _ in busy) / sum(d for _, _, d in busy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--rate", default="10mbit")
    parser.add_argument("--delay-ms", type=int, default=150)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--no-bwlimit", action="store_true")
    args = parser.parse_args()
    rate = parse_rate(args.rate, "--rate")
    lab = Lab("bthin")
    lab.down()
    try:
        state = lab.up(["hub", *CENTRES], hub="hub")
        hub = state.host("hub")
        assert hub is not None and hub.far_veth is not None
        with tempfile.TemporaryDirectory() as tmp:
            prepare = setup(lab, Path(tmp), args.mb)
            for _ in range(args.runs):
                figures = measure(lab, hub.far_veth, prepare, rate, args.delay_ms,
                                  limit=not args.no_bwlimit)  # fmt: skip
                figures |= {"bundle_mb": args.mb, "rate_bits": rate, "delay_ms": args.delay_ms}
                print(json.dumps(figures), flush=True)
                lab.shape("hub", None, far=True)
    finally:
        lab.down()


class Steps:
    def __init__(self, lab: Lab, tmp: Path) -> None:
        self.lab, self.tmp = lab, tmp
        self.env = {**os.environ, "LPDEPLOY_HOME": str(tmp / "home"), "NO_COLOR": "1"}
        self.said = b""
        kit = tmp / "kit"
        self.apply = [
            "apply", str(kit / "plan.json"), "--kit", str(kit), "--inventory",
            str(lab.inventory), "--trusted-key", str(tmp / "bench.pub"), "--via", "hub", "--json",
        ]  # fmt: skip

    def lpdeploy(self, *args: str) -> float:
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "lpdeploy", *args], env=self.env, check=True,
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)  # fmt: skip
        self.said = done.stdout
        return time.perf_counter() - start

    def waves(self) -> dict[str, object]:
        """Of the last apply: each wave's span (from the journal) and the bundle bytes its
        centres were sent in it (staged ahead during the canary: matched, not sent)."""
        result = json.loads(self.said)
        journal = Journal(self.tmp / "home" / "journal.sqlite")
        try:
            timings = journal.timings(result["run_id"])
        finally:
            journal.close()
        found: dict[str, object] = {}
        for wave in sorted({t.wave for t in timings}):
            mine = [t for t in timings if t.wave == wave]
            span = max(t.ended for t in mine) - min(t.started for t in mine)
            sent = sum(c["bundle_bytes"] for c in result["centres"] if c["wave"] == wave)
            found[f"wave_{wave}"] = {"s": round(span, 1), "bundle_bytes": sent}
        return found

    def forget(self) -> None:
        """Every centre loses the bundle and its record of the desired state."""
        for name in CENTRES:
            host = self.lab.host_dir(name)  # srv/ is the server's /srv, root/ the rest
            shutil.rmtree(host / "srv" / "lpdeploy" / "bundles" / BUNDLE, ignore_errors=True)
            shutil.rmtree(host / "srv" / "baseline", ignore_errors=True)
            (host / "root" / "var" / "lib" / "lpdeploy" / "desired-state").unlink(missing_ok=True)


def setup(lab: Lab, tmp: Path, mb: int) -> Steps:
    """Kit, hub prepared, and a first apply over the link as it is (packages and all)."""
    steps = Steps(lab, tmp)
    steps.lpdeploy("keys", "generate", "--out", str(tmp), "--name", "bench")
    catalog, kit = tmp / "catalog", tmp / "kit"
    make_bundle(tmp / "src", catalog, tmp / "bench.key", mb * 10**6)
    profile = tmp / "profile.yaml"
    profile.write_text(PROFILE + "".join(f"  - {{id: {n}, learners: 40}}\n" for n in CENTRES))
    steps.lpdeploy("plan", str(profile), "--catalog", str(catalog), "--out", str(tmp / "plan.json"))
    steps.lpdeploy("kit", "build", str(tmp / "plan.json"), "--out", str(kit), "--catalog",
                   str(catalog), "--sign-key", str(tmp / "bench.key"), "--trusted-key",
                   str(tmp / "bench.pub"))  # fmt: skip
    steps.lpdeploy("hub", "prepare", "hub", "--kit", str(kit), "--inventory", str(lab.inventory),
                   "--trusted-key", str(tmp / "bench.pub"))  # fmt: skip
    steps.lpdeploy(*steps.apply)
    return steps


def measure(
    lab: Lab, far_veth: str, steps: Steps, rate: int, delay_ms: int, limit: bool = True
) -> dict[str, object]:
    lab.shape("hub", LinkShape(rate=rate, delay_ms=delay_ms), far=True)
    bundle = next((steps.tmp / "kit" / "bundles").glob(f"{BUNDLE}-*"))
    size = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file())

    steps.forget()
    with Meter(far_veth) as link:
        lp_s = steps.lpdeploy(*steps.apply)
    lp_bytes = link.total()
    lp_waves = steps.waves()

    steps.forget()
    state = lab.status()
    assert state is not None
    hosts = [h for h in state.hosts if h.id in CENTRES]
    with Meter(far_veth) as link:
        start = time.perf_counter()
        children = []
        for host in hosts:
            ssh = lab.ssh_command(host)
            inside, rsh = (ssh[:4], ssh[4:-1]) if ssh[0] == "ip" else ([], ssh[:-1])
            target = f"{ssh[-1]}:/srv/baseline/"
            argv = [*inside, "rsync", "-a", "-e", " ".join(rsh), f"{bundle}/", target]
            children.append(subprocess.Popen(argv))
        assert all(child.wait() == 0 for child in children)
        rsync_s = time.perf_counter() - start
    rsync_bytes = link.total()
    figures = {
        "bench": "thin_link",
        "centres": len(CENTRES),
        "bundle_bytes": size,
        "apply_s": round(lp_s, 1),
        "apply_link_bytes": lp_bytes,
        "apply_waves": lp_waves,
        "rsync_s": round(rsync_s, 1),
        "rsync_link_bytes": rsync_bytes,
        "rsync_vs_apply": round(rsync_s / lp_s, 3),
    }
    if not limit:
        return figures

    steps.forget()
    half = rate // 2
    with Meter(far_veth) as link:
        limited_s = steps.lpdeploy(*steps.apply, "--bwlimit", f"{half}bit")
    used = link.busy_rate(half / 4)
    limited_waves = steps.waves()
    return figures | {
        "bwlimit_bits": half,
        "bwlimit_apply_s": round(limited_s, 1),
        "bwlimit_apply_waves": limited_waves,
        "bwlimit_link_use_bits": round(used),
        "bwlimit_use_vs_limit": round(used / half, 3),
    }


if __name__ == "__main__":
    main()
