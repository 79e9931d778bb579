"""The lab's network: one bridge in this machine's namespace, one namespace per server.

The servers get no default route, so, like a real learning centre, they reach nothing
outside the lab.
"""

from __future__ import annotations

from pathlib import Path

from lpdeploy.lab.system import run


def ensure_bridge(bridge: str, gateway: str | None) -> None:
    """A bridge; with `gateway`, this machine's address on it (without, no route to it)."""
    if not Path(f"/sys/class/net/{bridge}").exists():
        run(["ip", "link", "add", bridge, "type", "bridge"])
    if gateway and f"inet {gateway}/" not in run(["ip", "-4", "addr", "show", "dev", bridge]):
        run(["ip", "addr", "add", f"{gateway}/24", "dev", bridge])
    run(["ip", "link", "set", bridge, "up"])


def remove_bridge(bridge: str) -> None:
    if Path(f"/sys/class/net/{bridge}").exists():
        run(["ip", "link", "del", bridge])


def add_host_link(bridge: str, netns: str, veth: str, address: str, device: str = "eth0") -> None:
    """A namespace for the server, with `device` at `address` joined to the bridge by `veth`."""
    if not Path(f"/run/netns/{netns}").exists():
        run(["ip", "netns", "add", netns])
    if not Path(f"/sys/class/net/{veth}").exists():
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", device, "netns", netns])
    run(["ip", "link", "set", veth, "master", bridge, "up"])
    run(["ip", "-n", netns, "addr", "replace", f"{address}/24", "dev", device])
    run(["ip", "-n", netns, "link", "set", device, "up"])
    run(["ip", "-n", netns, "link", "set", "lo", "up"])


def set_link(veth: str, up: bool) -> None:
    run(["ip", "link", "set", veth, "up" if up else "down"])


def remove_netns(netns: str) -> None:
    if Path(f"/run/netns/{netns}").exists():
        run(["ip", "netns", "del", netns])


def remove_link(veth: str) -> None:
    """Remove the bridge side of a server's link (gone already when its namespace went)."""
    if Path(f"/sys/class/net/{veth}").exists():
        run(["ip", "link", "del", veth], check=False)


def refuse_route(subnet: str, present: bool) -> None:
    """An `unreachable` route on this machine for a network it must not reach (the centres
    behind a hub): without it, packets to them would leave by the default route."""
    listed = run(["ip", "route", "show", "type", "unreachable", f"{subnet}.0/24"]).strip()
    if present and not listed:
        run(["ip", "route", "add", "unreachable", f"{subnet}.0/24"])
    elif not present and listed:
        run(["ip", "route", "del", "unreachable", f"{subnet}.0/24"])
