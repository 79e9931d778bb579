#!/usr/bin/python3
"""What an engineer needs about one learning centre server (or hub), in one archive, with
every secret replaced by a marker. Standard library only: it runs on the server itself.

  collector.py --stdout       the archive (tar.gz), base64, on stdout (lpdeploy diagnose)
  collector.py --out DIR      the archive written to DIR (lpdeploy diagnose --local)
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import socket
import subprocess
import sys
import tarfile
import time
from pathlib import Path

MARKER = "[REDACTED]"
LINES = 200
"""Lines kept of each log and each unit's journal."""
MAX_BYTES = 256 * 1024
"""Bytes kept of any one part."""
UNITS = ("nginx", "kiwix-serve", "kolibri", "lpdeploy-usage", "lpdeploy-usage.timer",
         "hostapd", "dnsmasq", "ssh", "systemd-timesyncd")  # fmt: skip
COMMANDS = {
    "system/os.txt": "uname -a; cat /etc/os-release; uptime",
    "system/disk.txt": "df -h; echo; df -i",
    "system/memory.txt": "free -m; echo; head -n 20 /proc/meminfo",
    "system/clock.txt": "date -u; timedatectl status",
    "system/network.txt": "ip -br addr; echo; ip route; echo; ss -ltnu",
    "system/packages.txt": "dpkg-query -W -f '${Package} ${Version} ${Architecture}\\n'",
    "services/units.txt": "systemctl list-units --all --no-pager --plain --type=service,timer",
    "services/failed.txt": "systemctl --failed --no-pager --plain",
    "hub/files.txt": "ls -laR /var/lib/lpdeploy-hub 2>&1 | head -n 200",
}
CONFIG = (
    "/etc/lpdeploy", "/etc/hostapd", "/etc/dnsmasq.conf", "/etc/dnsmasq.d", "/etc/nginx/conf.d",
    "/etc/nginx/sites-enabled", "/srv/lpdeploy/kolibri/options.ini",
)  # fmt: skip
LOGS = ("/var/log/nginx/error.log", "/srv/lpdeploy/kolibri/logs/kolibri.txt")
"""Learners' access logs are left out: an engineer needs errors, not who read what."""
STATE = Path("/var/lib/lpdeploy/desired-state")
BUNDLES = Path("/srv/lpdeploy/bundles")

SECRET_NAME = (
    r"[\w.-]*(?:pass(?:word|phrase|wd)?|secret|token|psk|api[_-]?key|private[_-]?key)[\w.-]*"
)
PRIVATE_KEY = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)"
RULES = (
    # A private key, whatever the file: the whole block.
    (re.compile(PRIVATE_KEY, re.S), MARKER),
    # password = x, wpa_passphrase=x, token: x (config files, logs).
    (
        re.compile(rf"(?im)^([ \t]*[\"']?{SECRET_NAME}[\"']?[ \t]*[=:][ \t]*)(?!\[REDACTED)\S.*$"),
        rf"\g<1>{MARKER}",
    ),
    # "password": "x" inside JSON on one line.
    (re.compile(rf"(?i)(\"{SECRET_NAME}\"\s*:\s*)\"[^\"]*\""), rf'\g<1>"{MARKER}"'),
    # ?password=x&... in URLs and command lines.
    (re.compile(rf"(?i)((?:[?&]|(?<![\w-])--?){SECRET_NAME}[= ])[^\s&\"']+"), rf"\g<1>{MARKER}"),
    # Password hashes: crypt(3) ($6$, $y$, ...) and Django's (Kolibri's accounts).
    (re.compile(r"\$(?:1|2[aby]?|5|6|y|gy|7|argon2(?:id|i|d)?|scrypt)\$[^\s:'\"]{8,}"), MARKER),
    (re.compile(r"(?:pbkdf2_sha256|pbkdf2_sha1|argon2|bcrypt_sha256)\$[^\s'\"]+"), MARKER),
)


def redact(text: str, values: tuple[str, ...] = (), rules: bool = True) -> tuple[str, int]:
    """`text` with every secret it holds replaced by MARKER, and how many were: each of
    `values` wherever it is, and (with `rules`) whatever RULES find."""
    count = 0
    for value in sorted((v for v in values if len(v) >= 4), key=len, reverse=True):
        count += text.count(value)
        text = text.replace(value, MARKER)
    for pattern, replacement in RULES if rules else ():
        text, found = pattern.subn(replacement, text)
        count += found
    return text, count


def run(command: str) -> str:
    try:
        done = subprocess.run(["sh", "-c", command], capture_output=True, text=True,
                              errors="replace", timeout=30, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"(no answer in 30 s: {command})\n"
    return done.stdout + (f"\n(stderr)\n{done.stderr}" if done.stderr.strip() else "")


def tail(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - MAX_BYTES))
            lines = handle.read().decode("utf-8", "replace").splitlines()[-LINES:]
    except OSError:
        return None
    return "\n".join(lines) + "\n"


def config_files() -> list[Path]:
    found = []
    for top in map(Path, CONFIG):
        found += [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
    return found


def bundles() -> str:
    """Each bundle's versions on the server and the one `current` names."""
    held: dict[str, object] = {}
    for folder in sorted(BUNDLES.iterdir()) if BUNDLES.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir():
            held[folder.name] = "left by an interrupted run"
            continue
        current = folder / "current"
        held[folder.name] = {
            "versions": sorted(v.name for v in folder.iterdir() if v.name != "current"),
            "current": str(current.readlink()) if current.is_symlink() else None,
        }
    return json.dumps(held, indent=2, sort_keys=True) + "\n"


def parts() -> dict[str, str]:
    """Every part, by its name in the archive, unredacted."""
    found = {name: run(command) for name, command in COMMANDS.items()}
    for unit in UNITS:
        found[f"services/{unit}.txt"] = run(
            f"systemctl status --no-pager --lines=0 {unit}; "
            f"journalctl --no-pager -o short-iso -n {LINES} -u {unit}"
        )
    for path in map(Path, LOGS):
        text = tail(path)
        if text is not None:
            found[f"logs{path}"] = text
    for path in config_files():
        text = tail(path)
        if text is not None:
            found[f"config{path}"] = text
    found["lpdeploy/desired-state"] = tail(STATE) or "(none: lpdeploy has not applied here)\n"
    found["lpdeploy/bundles.json"] = bundles()
    return found


def archive(
    found: dict[str, str],
    about: dict[str, object],
    values: tuple[str, ...] = (),
    rules: bool = True,
) -> bytes:
    """A tar.gz of the parts, each redacted and cut to MAX_BYTES, and MANIFEST.json
    (`about`, what each part holds and how many secrets were replaced)."""
    buffer = io.BytesIO()
    sizes: dict[str, int] = {}
    redacted = int(str(about.get("redacted", 0)))
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in sorted(found.items()):
            clean, count = redact(text, values, rules)
            data = clean.encode("utf-8")[-MAX_BYTES:]
            sizes[name] = len(data)
            redacted += count
            add(tar, name, data)
        manifest = about | {"parts": sizes, "redacted": redacted}
        add(tar, "MANIFEST.json", json.dumps(manifest, indent=2, sort_keys=True).encode())
    return buffer.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
    tar.addfile(info, io.BytesIO(data))


def here() -> dict[str, object]:
    return {
        "host": socket.gethostname(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def main() -> int:
    if sys.argv[1:] == ["--stdout"]:
        sys.stdout.write(base64.b64encode(archive(parts(), here())).decode() + "\n")
        return 0
    if len(sys.argv) == 3 and sys.argv[1] == "--out":
        folder = Path(sys.argv[2])
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{socket.gethostname()}.tar.gz"
        path.touch(mode=0o600)
        path.write_bytes(archive(parts(), here()))
        print(path)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
