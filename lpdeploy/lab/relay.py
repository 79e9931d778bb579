"""Delay, jitter and loss on one lab link, in user space (`lab shape`).

This machine kind's kernel has no netem, so a shaped server's link runs through this
relay: its veth leaves the bridge and the relay forwards frames between the veth (a packet
socket) and a TAP device that takes the veth's place on the bridge, holding each frame for
the delay (plus or minus the jitter, never out of order) and dropping it at the loss rate,
in each direction. The rate stays with the kernel (tbf on both ends of the veth). The TAP
is the relay's own: it goes away when the relay ends.

    python -m lpdeploy.lab.relay VETH TAP DELAY_MS JITTER_MS LOSS_PERCENT
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import os
import random
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
FRAME = 65536
QUEUE_LIMIT = 20000
"""Frames held per direction at most (a full queue drops, as a router's would)."""


def open_tap(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


@dataclass
class Direction:
    """Frames one way, each due at its time; never due before the one ahead of it."""

    delay: float
    jitter: float
    loss: float
    queue: list[tuple[float, int, bytes]] = field(default_factory=list)
    last: float = 0.0
    count: int = 0

    def take(self, frame: bytes, now: float) -> None:
        if random.random() * 100 < self.loss or len(self.queue) >= QUEUE_LIMIT:
            return
        due = max(now + self.delay + random.uniform(-self.jitter, self.jitter), self.last, now)
        self.last = due
        self.count += 1
        heapq.heappush(self.queue, (due, self.count, frame))

    def due(self, now: float) -> list[bytes]:
        ready = []
        while self.queue and self.queue[0][0] <= now:
            ready.append(heapq.heappop(self.queue)[2])
        return ready


def relay(veth: str, tap: str, delay_ms: float, jitter_ms: float, loss: float) -> None:
    tap_fd = open_tap(tap)
    wire = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    wire.bind((veth, 0))
    wire.setblocking(False)
    # out: from the server (its veth) to the bridge (the TAP); back: the other way.
    out, back = (Direction(delay_ms / 1000, jitter_ms / 1000, loss) for _ in range(2))
    chooser = selectors.DefaultSelector()
    chooser.register(wire, selectors.EVENT_READ, "wire")
    chooser.register(tap_fd, selectors.EVENT_READ, "tap")
    while True:
        heads = [d.queue[0][0] for d in (out, back) if d.queue]
        wait = max(0.0, min(heads) - time.monotonic()) if heads else None
        for key, _ in chooser.select(wait):
            now = time.monotonic()
            while True:
                try:
                    if key.data == "wire":
                        frame, address = wire.recvfrom(FRAME)
                        if address[2] != PACKET_OUTGOING:  # not one this relay sent
                            out.take(frame, now)
                    else:
                        back.take(os.read(tap_fd, FRAME), now)
                except OSError:  # nothing more now, or the link went down (lab cut)
                    break
        now = time.monotonic()
        for frame in out.due(now):
            _quietly(lambda data: os.write(tap_fd, data), frame)
        for frame in back.due(now):
            _quietly(wire.send, frame)


def _quietly(send: Callable[[bytes], object], frame: bytes) -> None:
    """A frame the link cannot take now (cut, full) is lost, as on a wire."""
    with contextlib.suppress(OSError):
        send(frame)


def main(argv: list[str]) -> int:
    if len(argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    veth, tap, delay, jitter, loss = argv
    relay(veth, tap, float(delay), float(jitter), float(loss))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
