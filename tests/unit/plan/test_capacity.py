"""The plan's time budget: the cost model on hand-checkable cases."""

from __future__ import annotations

import pytest

from lpdeploy.plan import capacity
from lpdeploy.plan.capacity import CentreLoad, estimate
from lpdeploy.profile.model import Profile

MB = 1_000_000


def profile(**more: object) -> Profile:
    base: dict[str, object] = {
        "name": "p", "region": {"country": "BD"}, "languages": ["en"],
        "connectivity": "low-bandwidth", "bandwidth_kbps": 8000,
        "centres": [{"id": "c", "learners": 1}],
    }  # fmt: skip
    return Profile.model_validate(base | more)


def load(n: int, wave: int, hub: str | None = None, size: int = 100 * MB) -> CentreLoad:
    return CentreLoad(f"c{n}", wave, hub, size, frozenset({("b", "1", size)}))


def test_one_direct_centre_is_its_link() -> None:
    found = estimate(profile(), [load(1, 1)])
    each = 100 * MB + capacity.PACKAGE_BYTES + capacity.ANSIBLE_BYTES
    assert found.seconds == pytest.approx(each * 8 / 8e6, abs=0.1)
    assert found.bottleneck == "the centres' links at 8 Mbit/s (the controller)"


def test_waves_add_up_and_hubs_share_a_wave() -> None:
    hubs = [
        {"id": "h1", "centres": ["c"], "bandwidth_kbps": 2000},
        {"id": "h2", "centres": ["c"], "bandwidth_kbps": 2000},
    ]
    loads = [load(1, 1), *[load(n, 2, "h1") for n in range(2, 5)],
             *[load(n, 2, "h2") for n in range(5, 8)]]  # fmt: skip
    found = estimate(profile_with(hubs), loads)
    direct = next(r for r in found.routes if r.via == "controller")
    h1 = next(r for r in found.routes if r.via == "h1")
    # h1's uplink carries the bundle once and the package archive once, at 2 Mbit/s.
    uplink = (100 * MB + capacity.PACKAGE_BYTES) * 8 / 2e6
    assert h1.seconds == pytest.approx(uplink + direct.seconds, abs=0.2)
    assert h1.bottleneck == "hub h1's uplink at 2 Mbit/s"
    assert found.seconds == pytest.approx(direct.seconds + h1.seconds, abs=0.2)


def profile_with(hubs: list[dict[str, object]]) -> Profile:
    return profile(hubs=hubs)


def test_many_centres_on_one_route_are_bound_by_cpu() -> None:
    loads = [load(n, 1, size=0) for n in range(1000)]
    found = estimate(profile(bandwidth_kbps=1_000_000), loads)
    cpu = 1000 * capacity.APPLY_CPU_S / capacity.CONTROLLER_CORES
    assert found.seconds == pytest.approx(cpu, rel=0.01)
    assert found.bottleneck == "Ansible's CPU on the controller"


def test_a_field_kit_adds_the_courier() -> None:
    found = estimate(profile(connectivity="offline", courier_hours=24), [load(1, 1)])
    assert found.courier_seconds == 86400
    assert found.seconds > 86400
