"""Which hub --via names, and what is refused before anything reaches it."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest
from typer.testing import CliRunner

from lpdeploy.apply.rollout import Relay
from lpdeploy.cli import app
from lpdeploy.connect import Connection
from lpdeploy.errors import InputError, NotRightError
from lpdeploy.plan.model import PlanCentre
from lpdeploy.runner.hub import Hub, hub_from


def connections(*keys: str) -> dict[str, Connection]:
    found = {"hub": Connection(host="hub", address="10.0.0.2", user="root", key_file="hub.key")}
    for number, key in enumerate(keys, start=1):
        name = f"centre-{number:02d}"
        found[name] = Connection(host=name, address=f"10.0.1.{number}", key_file=key)
    return found


def test_the_hub_and_the_centres_key_come_from_the_inventory(tmp_path: Path) -> None:
    key = tmp_path / "centres.key"
    key.write_text("key\n")
    hub = hub_from("hub", connections(str(key), str(key)))
    assert hub.target == "root@10.0.0.2" and hub.centre_key == key
    assert "-i" in hub.ssh_options() and "hub.key" in hub.ssh_options()
    assert hub.ssh("true")[-2:] == ["root@10.0.0.2", "true"]


@pytest.mark.parametrize(
    ("name", "keys", "said"),
    [
        ("elsewhere", (), "not a host of the inventory"),
        ("hub", ("a.key", "b.key"), "must share one"),
        ("hub", ("/nowhere/centres.key",), "key file is not there"),
    ],
)
def test_a_hub_that_cannot_work_is_an_input_error(
    name: str, keys: tuple[str, ...], said: str
) -> None:
    with pytest.raises(InputError, match=said):
        hub_from(name, connections(*keys))


@pytest.mark.parametrize("command", ["apply", "verify"])
def test_via_without_an_inventory_is_exit_2(command: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [command, str(tmp_path / "plan.json"), "--via", "hub"])
    assert result.exit_code == 2
    assert "give --inventory" in result.output


class RecordingHub(Hub):
    def push(
        self,
        source: Path,
        target: str,
        checksum: bool = False,
        bwlimit_kib: int = 0,
        stop: threading.Event | None = None,
    ) -> int:
        pushed.append((source.name, target, checksum))
        limits.append(bwlimit_kib)
        return 1


pushed: list[tuple[str, str, bool]] = []
limits: list[int] = []


def test_each_bundle_and_the_archive_cross_to_the_hub_once(tmp_path: Path) -> None:
    pushed.clear()
    limits.clear()
    refs = {name: SimpleNamespace(id=name, version="1") for name in ("a", "b", "c")}
    centres = [
        SimpleNamespace(id="c1", bundles=[refs["a"], refs["b"]]),
        SimpleNamespace(id="c2", bundles=[refs["a"], refs["c"]]),
        SimpleNamespace(id="c3", bundles=[refs["b"]]),
    ]
    archive, arm64 = tmp_path / "packages-k.tar", tmp_path / "packages-r.tar"
    archive.write_bytes(b"tar")
    arm64.write_bytes(b"arm64 tar")
    hub = RecordingHub(name="hub", connection=Connection(host="hub", address="10.0.0.2"),
                       known_hosts=())  # fmt: skip
    sources = {(n, "1"): tmp_path / f"{n}-1" for n in refs}
    relay = Relay(hub, sources, {"c1": archive, "c2": archive, "c3": arm64}, bwlimit=4_000_000)
    relay.stage(cast(list[PlanCentre], centres[:1]))
    relay.stage(cast(list[PlanCentre], centres))
    assert pushed == [
        ("packages-k.tar", "/var/lib/lpdeploy-hub/packages/packages-k.tar", True),
        ("a-1", "/var/lib/lpdeploy-hub/bundles/a-1", False),
        ("b-1", "/var/lib/lpdeploy-hub/bundles/b-1", False),
        ("packages-r.tar", "/var/lib/lpdeploy-hub/packages/packages-r.tar", True),
        ("c-1", "/var/lib/lpdeploy-hub/bundles/c-1", False),
    ]
    assert relay.sent == 5
    assert limits == [488] * 5  # 4 mbit: 500,000 bytes a second, in rsync's KiB


FAKE_SSH = """#!/bin/sh
while [ $# -gt 0 ]; do
  case "$1" in -o|-p|-i) shift 2 ;; -*) shift ;; *) shift; break ;; esac
done
exec sh -c "$*"
"""
"""An ssh that runs the command here: rsync's both ends are real, the hub is this machine."""


def test_a_stopped_copy_to_the_hub_ends_and_the_next_sends_only_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Staging ahead stops when the canary fails: the copy under way ends at once, and
    what it sent stays there for the next (rsync --inplace)."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "ssh").write_text(FAKE_SSH)
    (tmp_path / "bin" / "ssh").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    source = tmp_path / "bundle"
    source.mkdir()
    size = 8 << 20
    (source / "big.bin").write_bytes(os.urandom(size))
    hub = Hub(name="hub", connection=Connection(host="hub", address="hub"), known_hosts=())
    there = tmp_path / "there"
    stop = threading.Event()
    timer = threading.Timer(1.0, stop.set)
    timer.start()
    with pytest.raises(NotRightError, match=r"copying .* stopped"):
        hub.push(source, str(there), bwlimit_kib=512, stop=stop)  # 16 s, unstopped
    kept = (there / "big.bin").stat().st_size
    assert 0 < kept < size / 2
    sent = hub.push(source, str(there))
    assert sent < size - kept / 2
    assert (there / "big.bin").read_bytes() == (source / "big.bin").read_bytes()


class FakeTransport:
    """A connection to the hub: its channels, until it drops."""

    def __init__(self, drops_on: str = "") -> None:
        self.active, self.drops_on, self.channels = True, drops_on, list[str]()

    def is_active(self) -> bool:
        return self.active

    def set_keepalive(self, interval: int) -> None:
        pass

    def open_channel(self, kind: str, dest: tuple[str, int], src: object, timeout: float) -> str:
        import paramiko

        if dest[0] == self.drops_on:  # the link is cut as the hub is asked
            self.active = False
        if not self.active:
            raise paramiko.SSHException("SSH session not active")
        self.channels.append(dest[0])
        return f"{kind} to {dest[0]}"


class FakeClient:
    def __init__(self, transport: FakeTransport) -> None:
        self.transport, self.closed = transport, False

    def get_transport(self) -> FakeTransport:
        return self.transport

    def close(self) -> None:
        self.closed = True


def test_a_tunnel_whose_hub_connection_drops_opens_a_new_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As pre-flight through a hub met once, right after the hub's link was shaped: its one
    connection to the hub dropped, and the centres not reached yet failed with it."""
    opened: list[FakeClient] = []
    transports = [FakeTransport(drops_on="10.0.1.3" if n == 1 else "") for n in range(4)]

    def pinned_client(*args: object, **kwargs: object) -> FakeClient:
        opened.append(FakeClient(transports[len(opened)]))
        return opened[-1]

    monkeypatch.setattr("lpdeploy.runner.hub.pinned_client", pinned_client)
    hub = hub_from("hub", connections())
    with hub.tunnel() as connect:
        assert connect("10.0.1.1", 22) == "direct-tcpip to 10.0.1.1"
        transports[0].active = False  # dropped between two centres
        assert connect("10.0.1.2", 22) == "direct-tcpip to 10.0.1.2"
        assert connect("10.0.1.3", 22) == "direct-tcpip to 10.0.1.3"  # dropped as it asked
        assert [t.channels for t in transports] == [["10.0.1.1"], ["10.0.1.2"], ["10.0.1.3"], []]
        transports[2].active = False  # a third drop: REOPEN (2) used up, the centre fails
        with pytest.raises(OSError, match="through hub hub: SSH session not active"):
            connect("10.0.1.4", 22)
    assert len(opened) == 3 and all(client.closed for client in opened)


def test_a_hub_that_cannot_be_reached_again_fails_the_centre_with_its_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = FakeTransport()

    def pinned_client(*args: object, **kwargs: object) -> FakeClient:
        if first.active:
            return FakeClient(first)
        raise OSError("timed out")

    monkeypatch.setattr("lpdeploy.runner.hub.pinned_client", pinned_client)
    with hub_from("hub", connections()).tunnel() as connect:
        first.active = False
        with pytest.raises(OSError, match=r"^hub hub: root@10\.0\.0\.2: timed out$"):
            connect("10.0.1.1", 22)
