"""The link relay's queue (lab shape's delay, jitter and loss): frames wait their delay,
never overtake one another, and are lost at the rate asked."""

from __future__ import annotations

import random

from lpdeploy.lab.relay import QUEUE_LIMIT, Direction
from lpdeploy.lab.shaping import LinkShape


def test_a_frame_waits_its_delay_and_none_overtakes_another() -> None:
    random.seed(7)
    way = Direction(delay=0.2, jitter=0.05, loss=0)
    for n in range(200):
        way.take(bytes([n % 256]), now=n * 0.001)
    assert way.due(0.14) == []
    out = way.due(10.0)
    assert out == [bytes([n % 256]) for n in range(200)]
    assert way.queue == []


def test_jitter_spreads_the_delay_within_its_bounds() -> None:
    random.seed(1)
    way = Direction(delay=0.3, jitter=0.05, loss=0)
    dues = []
    for n in range(500):
        way.take(b"x", now=n * 1.0)  # far apart: order never holds one back
        dues.append(way.queue[-1][0] - n if len(way.queue) == 1 else way.last - n)
        way.due(n + 1.0)
    assert 0.25 <= min(dues) < 0.26 and 0.34 < max(dues) <= 0.35


def test_loss_drops_that_share_of_frames_and_a_full_queue_drops_the_rest() -> None:
    random.seed(3)
    way = Direction(delay=1.0, jitter=0, loss=10)
    for _ in range(10_000):
        way.take(b"x", now=0.0)
    assert 850 < 10_000 - len(way.queue) < 1150
    full = Direction(delay=1.0, jitter=0, loss=0)
    for _ in range(QUEUE_LIMIT + 5):
        full.take(b"x", now=0.0)
    assert len(full.queue) == QUEUE_LIMIT


def test_a_shape_reads_as_it_was_asked() -> None:
    assert LinkShape(rate=4_000_000, delay_ms=300, jitter_ms=50, loss=1).describe() == (
        "4mbit 300ms±50ms 1% loss"
    )
    assert LinkShape(rate=512_000).describe() == "512kbit"
    assert not LinkShape(rate=512_000).needs_relay
    assert LinkShape(loss=0.5).needs_relay
