"""How long a rollout should take: the plan's time budget, from a small cost model.

The constants are measured, not guessed: `bench/capacity.py` runs first applies on 5, 20 and
40 lab servers (directly and through 1 and 2 hubs), fits these numbers and prints them;
docs/capacity.md gives the runs they came from. Re-run it on new hardware and change them
here, in this one place.

The model, per wave (waves run one after another, a wave's routes at the same time):
  route time = the hub's uplink share (its centres' unique bundles and the package archive,
               once, over the hub's link)
             + max(one centre's own apply time, Ansible's CPU on the host that runs it,
                   the centres' links)
  the centres' links: each centre's bundles plus Ansible's own traffic over its link, FORKS
               centres at a time;
  Ansible's CPU: CPU-seconds per centre over the cores of the host that runs it (the
               controller for direct centres, the hub for its own);
  the controller also relays every hub's events: a wave takes at least its total CPU.
A field kit (offline) adds the courier's hours, and its apply on site runs at LAN speed.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from lpdeploy.profile.model import Profile

APPLY_CPU_S = 5.5
"""CPU-seconds a first apply costs the host running Ansible, per centre: fitted on 5 and 20
direct lab servers (5.53); a hub running Ansible measured 5.36-5.81 (bench/capacity.py,
2026-12-02)."""
CENTRE_S = 25.5
"""Wall seconds of a first apply on one centre alone (the canary wave of the bench's labs):
its own work (packages, services), which no number of cores elsewhere shortens; every wave
takes at least this long. A centre's own CPU: 18-22 CPU-seconds (bench/capacity.py)."""
RELAY_CPU_S = 0.22
"""CPU-seconds the controller spends per centre whose Ansible runs on a hub (events,
staging): 0.22 with 1 hub, 0.20 with 2 (bench/capacity.py)."""
ANSIBLE_BYTES = 13_600_000
"""Bytes Ansible itself sends a centre in a first apply (modules): 150.3 MB reached each
centre, less the package archive (bench/capacity.py); a later run sends about 9.6 MB
(tests/integration/test_rollback.py)."""
PACKAGE_BYTES = 136_700_000
"""The offline package archive a first apply carries to each centre (a kit's amd64
packages/*.tar, every service's packages and Kolibri's wheel)."""
CONTROLLER_CORES = 4
"""The engineer's machine: a field laptop's cores."""
FORKS = 20
"""Centres Ansible works on at once per route (lpdeploy's default)."""
LAN_KBPS = 100_000
"""A link the profile gives no rate for: a local network (a kit applied on site, a lab)."""
CONTROLLER = "controller"


@dataclass(frozen=True)
class RouteLoad:
    """One route's work in one wave."""

    centres: int
    centre_bytes: list[int]
    uplink_bytes: int


@dataclass(frozen=True)
class RouteEstimate:
    via: str
    """A hub's id, or "controller" for the centres it reaches directly."""
    centres: int
    bytes: int
    """Bytes over the route's links: the hub's uplink (once) and every centre's own."""
    seconds: float
    bottleneck: str


@dataclass(frozen=True)
class Estimate:
    seconds: float
    courier_seconds: float
    bottleneck: str
    routes: list[RouteEstimate]


@dataclass(frozen=True)
class CentreLoad:
    id: str
    wave: int
    hub: str | None
    bytes: int
    bundles: frozenset[tuple[str, str, int]]


def estimate(profile: Profile, centres: Sequence[CentreLoad]) -> Estimate:
    """The rollout's wall time, per route and in all, and what bounds it."""
    offline = profile.connectivity == "offline"
    link = LAN_KBPS if offline or profile.bandwidth_kbps == 0 else profile.bandwidth_kbps
    hubs = {h.id: h for h in profile.hubs}
    uplink = {
        h.id: LAN_KBPS if offline else (h.bandwidth_kbps or profile.bandwidth_kbps or LAN_KBPS)
        for h in profile.hubs
    }
    staged: dict[str, set[tuple[str, str, int]]] = defaultdict(set)
    totals: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    count: dict[str, int] = defaultdict(int)
    carried: dict[str, int] = defaultdict(int)
    seconds = 0.0
    for wave in sorted({c.wave for c in centres}):
        in_wave = [c for c in centres if c.wave == wave]
        routes: dict[str, list[CentreLoad]] = defaultdict(list)
        for centre in in_wave:
            routes[centre.hub or CONTROLLER].append(centre)
        longest = 0.0
        relayed = 0
        for via, members in routes.items():
            new = {b for c in members for b in c.bundles} - staged[via]
            staged[via] |= new
            up_bytes = 0
            if via != CONTROLLER:
                up_bytes = sum(size for _, _, size in new) + (
                    PACKAGE_BYTES if count[via] == 0 else 0
                )
                relayed += len(members)
            each = [c.bytes + PACKAGE_BYTES + ANSIBLE_BYTES for c in members]
            cores = hubs[via].cores if via in hubs else CONTROLLER_CORES
            parts = {
                "uplink": _over(up_bytes, uplink.get(via, link)),
                "cpu": len(members) * APPLY_CPU_S / cores,
                "links": _rounds(each, FORKS) * _over(max(each), link),
                "centre": CENTRE_S,
            }
            took = parts["uplink"] + max(CENTRE_S, parts["cpu"], parts["links"])
            for name, value in parts.items():
                totals[via][name] += value
            totals[via]["all"] += took
            count[via] += len(members)
            carried[via] += up_bytes + sum(each)
            longest = max(longest, took)
        direct = len(routes.get(CONTROLLER, []))
        controller_cpu = (direct * APPLY_CPU_S + relayed * RELAY_CPU_S) / CONTROLLER_CORES
        totals[CONTROLLER]["controller-cpu"] += controller_cpu
        seconds += max(longest, controller_cpu)
    courier = profile.courier_hours * 3600 if offline else 0.0
    estimates = [
        RouteEstimate(
            via=via,
            centres=count[via],
            bytes=carried[via],
            seconds=round(totals[via]["all"], 1),
            bottleneck=_bound(via, totals[via], uplink.get(via, link), link),
        )
        for via in sorted(count, key=lambda v: (v != CONTROLLER, v))
    ]
    slowest = max(estimates, key=lambda r: r.seconds)
    bottleneck = slowest.bottleneck
    if totals[CONTROLLER]["controller-cpu"] > slowest.seconds:
        bottleneck = "the controller's CPU (relaying every hub's events)"
    return Estimate(
        seconds=round(seconds + courier, 1),
        courier_seconds=round(courier, 1),
        bottleneck=bottleneck,
        routes=estimates,
    )


def _over(size: int, kbps: int) -> float:
    return size * 8 / (kbps * 1000)


def _rounds(each: list[int], forks: int) -> int:
    return math.ceil(len(each) / forks)


def _bound(via: str, parts: dict[str, float], uplink: int, link: int) -> str:
    where = "the controller" if via == CONTROLLER else f"hub {via}"
    named = {
        "uplink": f"hub {via}'s uplink at {_rate(uplink)}",
        "cpu": f"Ansible's CPU on {where}",
        "links": f"the centres' links at {_rate(link)} ({where})",
        "centre": f"each centre's own apply ({where})",
    }
    worst = max(named, key=lambda name: parts.get(name, 0.0) if name != "uplink" else 0.0)
    if parts.get("uplink", 0.0) > parts.get(worst, 0.0):
        worst = "uplink"
    return named[worst]


def _rate(kbps: int) -> str:
    return f"{kbps / 1000:g} Mbit/s" if kbps >= 1000 else f"{kbps} kbit/s"
