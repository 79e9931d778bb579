"""The base root filesystem every lab server boots from, built once with debootstrap.

Cached under a folder keyed by a hash of what defines it; a zstd archive beside it lets a
machine whose cache survived restore it in seconds instead of building it again.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from lpdeploy.lab.emulation import emulated, machine_arch
from lpdeploy.lab.system import LabError, flocked, run
from lpdeploy.output import write_atomic

RELEASE = "bookworm"
INCLUDE = (
    "systemd",
    "systemd-sysv",
    "openssh-server",
    "python3",
    "python3-apt",
    "dbus",
    "iproute2",
)
RECIPE = 2
"""Raise when the steps below change, so that cached bases are rebuilt."""

SSHD_CONFIG = """\
# lpdeploy lab: keys only, one ed25519 host key made at first boot.
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
HostKey /etc/ssh/ssh_host_ed25519_key
"""
HOSTKEY_UNIT = """\
[Unit]
Description=Make this server's SSH host key on first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key

[Install]
WantedBy=multi-user.target
"""
NO_CREDENTIALS = "[Service]\nLoadCredential=\n"
"""systemd cannot set up service credentials under qemu-user emulation ("Failed to set up
credentials: Invalid argument", status 243): the lab's servers load none."""
CREDENTIAL_UNITS = (
    "systemd-sysusers", "systemd-tmpfiles-setup", "systemd-tmpfiles-setup-dev",
    "systemd-tmpfiles-clean", "systemd-sysctl", "systemd-firstboot",
)  # fmt: skip
EMULATED_SERVICES = "[Service]\nPrivateNetwork=no\n"
"""Under qemu-user, systemd cannot give a service a network namespace of its own ("Failed
to set up network namespacing: Input/output error", status 225): systemd-hostnamed and
systemd-timedated then never answer, and Ansible's hostname and timezone modules time out.
An emulated base's services share the server's network namespace (a drop-in for all)."""


def apt_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's own apt sources use for the release."""
    for path in sorted((sources / "sources.list.d").glob("*.sources")):
        for stanza in path.read_text(encoding="utf-8").split("\n\n"):
            fields = dict(re.findall(r"^([A-Za-z-]+):\s*(.+)$", stanza, re.MULTILINE))
            if (
                "deb" in fields.get("Types", "").split()
                and RELEASE in fields.get("Suites", "").split()
            ):
                return str(fields["URIs"].split()[0])
    legacy = sources / "sources.list"
    if legacy.exists():
        for line in legacy.read_text(encoding="utf-8").splitlines():
            match = re.match(rf"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+{RELEASE}\s", line)
            if match:
                return match.group(1)
    raise LabError(f"no apt source for Debian {RELEASE} in {sources}: the lab builds from it")


def base_key(arch: str) -> str:
    recipe = {
        "release": RELEASE,
        "include": INCLUDE,
        "recipe": RECIPE,
        "sshd": SSHD_CONFIG,
        "unit": HOSTKEY_UNIT,
        "credentials": [NO_CREDENTIALS, CREDENTIAL_UNITS],
        "emulated": EMULATED_SERVICES if arch != machine_arch() else "",
        "arch": arch,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def ensure_base(cache: Path, arch: str | None = None) -> Path:
    """The base root filesystem of `arch` (default: this machine's), from the cache, its
    archive, or a new debootstrap (emulated for another architecture)."""
    arch = arch or machine_arch()
    key = base_key(arch)
    root = cache / f"base-{key}"
    archive = cache / f"base-{key}.tar.zst"
    if (root / ".complete").exists():
        return root
    cache.mkdir(parents=True, exist_ok=True)
    with flocked(cache / f".base-{key}.lock"):  # one build at a time, whoever asks
        if (root / ".complete").exists():  # another process built it meanwhile
            return root
        return _build(cache, arch, key, root, archive)


def _unmount_under(folder: Path) -> None:
    """What a build cut short left mounted inside its folder (debootstrap mounts /proc)."""
    inside = str(folder.resolve()) + "/"
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for target in sorted((m for m in mounts if m.startswith(inside)), reverse=True):
        run(["umount", "--lazy", target], check=False)


def _build(cache: Path, arch: str, key: str, root: Path, archive: Path) -> Path:
    stage = cache / f".base-{key}.partial"
    if stage.exists():
        _unmount_under(stage)
        shutil.rmtree(stage)
    stage.mkdir()
    if archive.exists():
        run(
            ["tar", "--zstd", "-xpf", str(archive), "-C", str(stage), "--numeric-owner"],
            timeout=300,
        )
    else:
        with emulated(arch, "base-build"):
            _debootstrap(stage, arch)
        if arch != machine_arch():
            services = stage / "etc" / "systemd" / "system" / "service.d"
            write_atomic(services / "lab-emulated.conf", EMULATED_SERVICES.encode())
        tmp_archive = archive.with_suffix(".partial")
        run(["tar", "--zstd", "-cpf", str(tmp_archive), "-C", str(stage), "--numeric-owner", "."],
            timeout=600)  # fmt: skip
        tmp_archive.rename(archive)
    shutil.rmtree(root, ignore_errors=True)
    (stage / ".complete").write_text(key + "\n")
    stage.rename(root)
    return root


def _debootstrap(target: Path, arch: str) -> None:
    mirror = apt_mirror()
    run(
        ["debootstrap", f"--arch={arch}", "--variant=minbase", f"--include={','.join(INCLUDE)}",
         RELEASE, str(target), mirror],
        timeout=1800,
    )  # fmt: skip
    _configure(target)


def _configure(root: Path) -> None:
    """Make the tree a lab server: no host keys yet, key-only SSH, no apt source, no cache."""
    for key in (root / "etc" / "ssh").glob("ssh_host_*"):
        key.unlink()
    write_atomic(root / "etc" / "ssh" / "sshd_config.d" / "lab.conf", SSHD_CONFIG.encode())
    units = root / "etc" / "systemd" / "system"
    write_atomic(units / "lab-hostkeys.service", HOSTKEY_UNIT.encode())
    wants = units / "multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "lab-hostkeys.service").symlink_to("../lab-hostkeys.service")
    for unit in CREDENTIAL_UNITS:
        write_atomic(units / f"{unit}.service.d" / "lab.conf", NO_CREDENTIALS.encode())
    (root / "etc" / "machine-id").write_text("")
    (root / "etc" / "apt" / "sources.list").unlink(missing_ok=True)
    for path in (root / "etc" / "apt" / "sources.list.d").glob("*"):
        path.unlink()
    for folder in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for path in (root / folder).glob("*"):
            if path.is_file():
                path.unlink()
