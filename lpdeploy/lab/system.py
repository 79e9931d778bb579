"""Running the system tools the lab needs, and checking they are there."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from pathlib import Path

from lpdeploy.errors import LpdeployError, MissingToolError

LAB_ROOT = Path(os.environ.get("LPDEPLOY_LAB_DIR", "/var/lib/lpdeploy/lab"))
TOOLS = {
    "systemd-nspawn": "systemd-container",
    "debootstrap": "debootstrap",
    "ip": "iproute2",
    "ssh": "openssh-client",
    "ssh-keygen": "openssh-client",
    "zstd": "zstd",
    "mount": "mount",
    "mkfs.ext4": "e2fsprogs",
}


class LabError(LpdeployError):
    """A lab operation failed: a system command said no."""


def require_lab_tools() -> None:
    """Exit 3 with the exact command that installs what the lab lacks."""
    if os.geteuid() != 0:
        raise MissingToolError(
            "the lab needs root: it creates network namespaces, overlay mounts and cgroups "
            "(run it with sudo)"
        )
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        raise MissingToolError(
            f"the lab needs {', '.join(missing)}: install with "
            f"`apt-get install -y {' '.join(missing)}`"
        )


def run(
    command: Sequence[str], check: bool = True, timeout: float = 120, cwd: Path | None = None
) -> str:
    """Run a command; return its stdout, or raise LabError with what it printed."""
    try:
        done = subprocess.run(
            list(command), capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd
        )
    except subprocess.TimeoutExpired:
        raise LabError(f"`{' '.join(command)}` took more than {timeout:.0f} s") from None
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise LabError(f"`{' '.join(command)}` failed: {said[-1] if said else done.returncode}")
    return done.stdout


def alive(pid: int | None) -> bool:
    """The process runs (not a zombie: an orphan's exit may never be collected here)."""
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@contextlib.contextmanager
def flocked(path: Path) -> Iterator[None]:
    """The block runs holding an exclusive flock on `path` (made if missing): one process
    at a time, whoever asks; the kernel drops it should the holder die."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
