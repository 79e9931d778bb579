"""The lab's state file: everything it made, so that `lab down` can undo it after a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from lpdeploy.document import load_json, validate
from lpdeploy.output import canonical_json, write_atomic

HostStatus = Literal["creating", "running", "stopped"]


class HostState(BaseModel):
    id: str
    index: int
    address: str
    netns: str
    veth: str
    status: HostStatus = "creating"
    cut: bool = False
    pid: int | None = None
    reach_netns: str | None = None
    """For a centre behind the hub: the hub's namespace, the only one that reaches it."""
    far_address: str | None = None
    """For the hub: its address on the centres' network (eth1)."""
    far_veth: str | None = None
    arch: str = "amd64"
    """Its Debian architecture; one other than this machine's runs under emulation."""
    base: str = ""
    """The base root filesystem of its architecture (empty: the lab's `base`)."""


class LabState(BaseModel):
    schema_version: Literal[1] = 1
    name: str
    subnet: str
    """The first three octets of the lab's /24, e.g. 10.77.0."""
    bridge: str
    base: str = ""
    inotify_restore: int | None = None
    hosts: list[HostState] = []
    hub: str | None = None
    """With a hub, the other servers sit on a second network, `far_bridge`, which only
    the hub joins (this machine has no address on it, so no route to them)."""
    far_bridge: str | None = None

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    @property
    def far_subnet(self) -> str:
        """The centres' network behind a hub: the lab's /24 with its third octet 1."""
        return self.subnet.rsplit(".", 1)[0] + ".1"

    def host(self, host_id: str) -> HostState | None:
        return next((h for h in self.hosts if h.id == host_id), None)


def load_state(path: Path) -> LabState | None:
    if not path.exists():
        return None
    state: LabState = validate(LabState, load_json(path))
    return state


def save_state(path: Path, state: LabState) -> None:
    write_atomic(path, canonical_json(state))
