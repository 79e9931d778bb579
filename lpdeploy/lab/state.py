"""The lab's state file: everything it made, so that `lab down` can undo it after a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from lpdeploy.document import load_json, validate
from lpdeploy.lab.shaping import LinkShape
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
    """For a centre behind a hub: the hub's namespace, the only one that reaches it."""
    behind: str | None = None
    """For a centre behind a hub: that hub."""
    far_address: str | None = None
    """For a hub: its address on its centres' network (eth1)."""
    far_veth: str | None = None
    far_bridge: str | None = None
    """For a hub: the bridge of its centres' network, which only it joins."""
    arch: str = "amd64"
    """Its Debian architecture; one other than this machine's runs under emulation."""
    base: str = ""
    """The base root filesystem of its architecture (empty: the lab's `base`)."""
    shape: LinkShape | None = None
    """Its link shaped (`lab shape`): on a centre behind a hub, its link to the hub."""
    far_shape: LinkShape | None = None
    """A hub's link to its centres' network shaped (`lab shape HUB --far`)."""


class LabState(BaseModel):
    schema_version: Literal[1] = 1
    name: str
    subnet: str
    """The first three octets of the lab's /24, e.g. 10.77.0."""
    bridge: str
    base: str = ""
    inotify_restore: int | None = None
    hosts: list[HostState] = []
    hubs: list[str] = []
    """Servers each with a network of centres behind it, which only that hub joins (this
    machine has no address there, so no route to them); the other servers are direct."""

    @property
    def hub(self) -> str | None:
        """The first hub (a lab of one hub, `lab up --hub`)."""
        return self.hubs[0] if self.hubs else None

    @property
    def gateway(self) -> str:
        return f"{self.subnet}.1"

    @property
    def far_subnet(self) -> str:
        """The first hub's network (see far_subnet_of)."""
        return self.far_subnet_of(1)

    def far_subnet_of(self, number: int) -> str:
        """The centres' network behind hub `number` (1, 2...): the lab's /24 with its third
        octet that number."""
        return f"{self.subnet.rsplit('.', 1)[0]}.{number}"

    def host(self, host_id: str) -> HostState | None:
        return next((h for h in self.hosts if h.id == host_id), None)


def load_state(path: Path) -> LabState | None:
    if not path.exists():
        return None
    state: LabState = validate(LabState, load_json(path))
    return state


def save_state(path: Path, state: LabState) -> None:
    write_atomic(path, canonical_json(state))
