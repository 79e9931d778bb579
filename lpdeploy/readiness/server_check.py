"""Run on a centre's server (Python 3 standard library only): check what the plan asks.

Argument: base64 of JSON {timezone, arch, services, bundles: [{id, version,
manifest_sha256}], deep, now, headroom_fraction, bundle_root}. Prints JSON [{name, ok,
detail}].
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

Check = dict[str, Any]
LOCAL_REPO = "file:/var/lib/lpdeploy/apt/"


def check(name: str, ok: bool, detail: str) -> Check:
    return {"name": name, "ok": ok, "detail": detail}


def run(*command: str) -> str:
    return subprocess.run(command, capture_output=True, text=True, check=False).stdout.strip()


def system() -> Check:
    state = run("systemctl", "is-system-running")
    if state == "running":
        return check("system", True, "systemd running, no failed units")
    units = ", ".join(
        u for u in run("systemctl", "--failed", "--plain", "--no-legend").split() if "." in u
    )
    return check("system", False, f"systemd {state or 'unknown'}; failed units: {units or 'none'}")


def platform(arch: str) -> Check:
    """The server's architecture and release, against the plan's architecture."""
    found = run("dpkg", "--print-architecture")
    release = "?"
    os_release = Path("/etc/os-release")
    if os_release.is_file():
        for line in os_release.read_text(encoding="utf-8").splitlines():
            if line.startswith("VERSION_CODENAME="):
                release = line.split("=", 1)[1].strip('"')
    detail = f"Debian {release} on {found or '?'}"
    if found != arch:
        detail += f"; the plan says {arch}"
    return check("platform", found == arch, detail)


def disk(root: Path, headroom: float) -> Check:
    stats = os.statvfs(root if root.is_dir() else "/")
    total, free = stats.f_blocks * stats.f_frsize, stats.f_bavail * stats.f_frsize
    need = int(total * headroom)
    detail = f"{free / 1e9:.1f} GB free of {total / 1e9:.1f} GB (headroom {need / 1e9:.1f} GB)"
    return check("disk", free >= need, detail)


def clock(now: float, timezone: str) -> Check:
    drift = time.time() - now
    zone_file = Path("/etc/timezone")
    zone = zone_file.read_text(encoding="utf-8").strip() if zone_file.is_file() else "unset"
    problems = []
    if abs(drift) > 300:
        way = "behind" if drift < 0 else "ahead of"
        size = f"{abs(drift) / 3600:.1f} h" if abs(drift) >= 3600 else f"{abs(drift):.0f} s"
        problems.append(f"clock {size} {way} the controller")
    if zone != timezone:
        problems.append(f"time zone {zone}, planned {timezone}")
    return check("clock", not problems, "; ".join(problems) or f"within {abs(drift):.0f} s, {zone}")


def services(wanted: list[str]) -> Check:
    units = ["nginx"] + (["kiwix-serve"] if "kiwix" in wanted else [])
    units += ["kolibri"] if "kolibri" in wanted else []
    problems = []
    for unit in units:
        active, enabled = run("systemctl", "is-active", unit), run("systemctl", "is-enabled", unit)
        if active != "active" or enabled != "enabled":
            problems.append(f"{unit} {active or 'unknown'}/{enabled or 'unknown'}")
    fine = ", ".join(units) + " active and enabled"
    return check("services", not problems, "; ".join(problems) or fine)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_problems(root: Path, bundle: dict[str, Any], deep: bool) -> list[str]:
    name, folder = bundle["id"], root / bundle["id"]
    current = folder / "current"
    if not current.is_symlink():
        return [f"{name}: not active"]
    active = str(current.readlink())
    if active != bundle["version"]:
        return [f"{name}: active version {active}, planned {bundle['version']}"]
    version = folder / bundle["version"]
    if not version.is_dir():
        return [f"{name}: the active link points at a missing version"]
    # Staging of another version is a later plan's, pushed ahead of its wave: inactive, and
    # not this plan's business. Of this version, it is an install that did not finish.
    staged = folder / f".staging-{bundle['version']}"
    problems = [f"{name}: half-installed {staged.name}"] if staged.exists() else []
    manifest = version / "bundle.json"
    if not manifest.is_file() or sha256(manifest) != bundle["manifest_sha256"]:
        return [*problems, f"{name}: bundle.json differs from the planned manifest"]
    for entry in json.loads(manifest.read_text(encoding="utf-8"))["files"]:
        path = version / "content" / entry["path"]
        if path.is_symlink() or not path.is_file():
            problems.append(f"{name}: {entry['path']} missing")
        elif path.stat().st_size != entry["size"]:
            size = path.stat().st_size
            problems.append(f"{name}: {entry['path']} size {size}, manifest says {entry['size']}")
        elif deep and sha256(path) != entry["sha256"]:
            problems.append(f"{name}: {entry['path']} sha256 does not match the manifest")
    return problems


def bundles(root: Path, planned: list[dict[str, Any]], deep: bool) -> Check:
    problems = [p for bundle in planned for p in bundle_problems(root, bundle, deep)]
    what = "sha256 of every file" if deep else "sizes of every file"
    more = f" (+{len(problems) - 10} more)" if len(problems) > 10 else ""
    fine = f"{len(planned)} bundles active at the planned version ({what} checked)"
    return check("bundles", not problems, "; ".join(problems[:10]) + more if problems else fine)


def unexpected(root: Path, planned: list[dict[str, Any]]) -> Check:
    held = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    extra = [name for name in held if name not in {b["id"] for b in planned}]
    detail = f"not in the plan: {', '.join(extra)}" if extra else "nothing beyond the plan"
    return check("unexpected", not extra, detail)


def packages() -> Check:
    files = [
        p
        for p in sorted(Path("/etc/apt/sources.list.d").glob("*"))
        if p.suffix in (".list", ".sources")
    ]
    files += [p for p in [Path("/etc/apt/sources.list")] if p.is_file()]
    lines = [
        (path.name, line.strip())
        for path in files
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return check("packages", False, "no apt source: the local repository is missing")
    outside = [f"{name}: {line}" for name, line in lines if LOCAL_REPO not in line]
    return check("packages", not outside, "; ".join(outside) or "the local repository only")


def main() -> int:
    wanted = json.loads(base64.b64decode(sys.argv[1]))
    root = Path(wanted["bundle_root"])
    results = [
        system(),
        platform(wanted.get("arch", "amd64")),
        disk(root, wanted["headroom_fraction"]),
        clock(wanted["now"], wanted["timezone"]),
        services(wanted["services"]),
        bundles(root, wanted["bundles"], wanted["deep"]),
        unexpected(root, wanted["bundles"]),
        packages(),
    ]
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
