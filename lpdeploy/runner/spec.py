"""A run spec: everything one Ansible run needs, built before anything runs.

Printing a spec is what `--check` or `--dry-run` can show; running it is `run.py`'s job.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lpdeploy.runner.hub import Hub

SSH_ARGS = (
    "-o ControlMaster=auto -o ControlPersist=60s -o ServerAliveInterval=5 -o ServerAliveCountMax=3"
)


@dataclass(frozen=True)
class RunSpec:
    private_data_dir: Path
    inventory: list[Path]
    playbook: Path | None = None
    module: str | None = None
    module_args: str = ""
    host_pattern: str = "all"
    limit: str | None = None
    forks: int = 20
    check: bool = False
    extravars: dict[str, Any] = field(default_factory=dict)
    envvars: dict[str, str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict, repr=False)
    """Extra vars that must not be written anywhere in clear: they reach Ansible through a
    vault encrypted with a one-time password that is typed at its prompt (run.py)."""
    known_hosts: tuple[Path, ...] = ()
    files: tuple[Path, ...] = ()
    """Files the module arguments name (a script): a relayed run ships them to the hub."""
    via: Hub | None = None
    """Run on this hub (relay.py) instead of here."""
    connections: Path | None = None
    """The folder of the run's shared SSH connections when they outlive it (apply's runs
    from this machine share one, closed when the apply ends); None: the run's own, closed
    as it ends."""

    def describe(self) -> dict[str, Any]:
        """What the run will do, as a JSON-ready document."""
        return {
            "private_data_dir": str(self.private_data_dir),
            "inventory": [str(path) for path in self.inventory],
            "playbook": str(self.playbook) if self.playbook else None,
            "module": self.module,
            "limit": self.limit,
            "forks": self.forks,
            "check": self.check,
            "envvars": self.envvars,
            "secrets": sorted(self.secrets),
            "via": self.via.name if self.via else None,
        }


def build_spec(
    private_data_dir: Path,
    inventory: Path | list[Path],
    *,
    playbook: Path | None = None,
    module: str | None = None,
    module_args: str = "",
    host_pattern: str = "all",
    limit: str | None = None,
    forks: int = 20,
    check: bool = False,
    extravars: dict[str, Any] | None = None,
    known_hosts: Sequence[Path] = (),
    secrets: dict[str, str] | None = None,
    files: Sequence[Path] = (),
    via: Hub | None = None,
    connections: Path | None = None,
) -> RunSpec:
    """A spec with host keys checked, pipelining and ControlPersist on, minimal facts.

    `known_hosts`: the files pinned host keys are read from, all of them (OpenSSH takes the
    first UserKnownHostsFile it is given, and this one comes before the inventory's).
    `connections`: a folder for the shared SSH connections that its owner closes, for runs
    that follow one another to the same servers (RunSpec.connections).
    """
    home = private_data_dir.resolve()
    return RunSpec(
        private_data_dir=home,
        inventory=[
            p.resolve() for p in (inventory if isinstance(inventory, list) else [inventory])
        ],
        playbook=playbook.resolve() if playbook else None,
        module=module,
        module_args=module_args,
        host_pattern=host_pattern,
        limit=limit,
        forks=forks,
        check=check,
        extravars=extravars or {},
        secrets=secrets or {},
        known_hosts=tuple(known_hosts),
        files=tuple(files),
        via=via,
        connections=connections,
        envvars={
            "ANSIBLE_HOST_KEY_CHECKING": "True",
            "ANSIBLE_PIPELINING": "True",
            # A copy or template task's file goes through `dd` on the task's own SSH
            # channel: sftp's session costs about 10 round trips more a file (docs/operations.md).
            # The large archives set sftp back on their tasks (piped is slower for megabytes).
            "ANSIBLE_SSH_TRANSFER_METHOD": "piped",
            "ANSIBLE_SSH_ARGS": ssh_args(known_hosts),
            # No terminal for `raw` tasks (roles/bundle_loader): their stdout is the command's
            # alone, not mixed with its stderr, in "\r\n" lines.
            "ANSIBLE_SSH_USETTY": "False",
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(connections or control_path_dir(home)),
            # Sockets named as OpenSSH names them, so that rsync's ssh can share them.
            "ANSIBLE_SSH_CONTROL_PATH": "%(directory)s/%%C",
            "ANSIBLE_HOME": str(home / "ansible"),
            "ANSIBLE_LOCAL_TEMP": str(home / "ansible" / "tmp"),
            "ANSIBLE_GATHER_SUBSET": "min",
            "ANSIBLE_CACHE_PLUGIN": "jsonfile",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(home / "facts"),
            "ANSIBLE_RETRY_FILES_ENABLED": "False",
            "ANSIBLE_NOCOLOR": "True",
            "ANSIBLE_TIMEOUT": "10",
            "PATH": tool_path(),
        },
    )


def ssh_args(known_hosts: Sequence[Path]) -> str:
    if not known_hosts:
        return SSH_ARGS
    files = " ".join(str(path) for path in known_hosts)
    return f"{SSH_ARGS} -o {shlex.quote('UserKnownHostsFile=' + files)}"


def tool_path() -> str:
    """PATH with this Python's own bin/ first, where pip put ansible and ansible-playbook."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", os.defpath)])


def control_path_dir(home: Path) -> Path:
    """A short folder for SSH control sockets (a socket path has at most 108 bytes)."""
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"lpd-cp-{digest}"
