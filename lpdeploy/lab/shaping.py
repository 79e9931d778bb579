"""A lab link shaped like a real one (`lab shape`): a rate, a delay, jitter and loss.

The rate is the kernel's: a tbf queue on each end of the server's veth, so both directions
are held to it. Delay, jitter and loss need netem, which this machine kind's kernel lacks
(docs/lab.md), so they come from a relay in user space (relay.py) that takes the veth's
place on the bridge. Both are undone by `--clear` and by `lab down`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from pydantic import BaseModel

from lpdeploy.errors import MissingToolError
from lpdeploy.lab.system import LabError, alive, run
from lpdeploy.rates import show_rate

RELAY_MODULE = "lpdeploy.lab.relay"
_RELAYS: dict[int, subprocess.Popen[bytes]] = {}
"""Relays this process started, kept so that their exit is collected when they end."""
QUEUE_LATENCY = "400ms"
"""How long tbf lets a frame wait before it drops it (a modem's buffer, roughly)."""


class LinkShape(BaseModel):
    rate: int | None = None
    """Bits a second, each direction; None: the link's own."""
    delay_ms: float = 0
    """One way, each direction (the round trip is twice this)."""
    jitter_ms: float = 0
    loss: float = 0
    """Percent of frames lost, each direction."""
    relay_pid: int | None = None

    @property
    def needs_relay(self) -> bool:
        return bool(self.delay_ms or self.jitter_ms or self.loss)

    def describe(self) -> str:
        parts = [show_rate(self.rate)] if self.rate else []
        if self.delay_ms or self.jitter_ms:
            jitter = f"±{self.jitter_ms:g}ms" if self.jitter_ms else ""
            parts.append(f"{self.delay_ms:g}ms{jitter}")
        if self.loss:
            parts.append(f"{self.loss:g}% loss")
        return " ".join(parts)


def shape_link(
    shape: LinkShape, outside: str, netns: str, inside: str, bridge: str, tap: str
) -> LinkShape:
    """Shape the link whose bridge end is `outside` and whose server end is `inside`
    (in `netns`); the shape as it now stands (with its relay's PID)."""
    if shutil.which("ethtool") is None:
        raise MissingToolError("lab shape needs ethtool: install with `apt-get install -y ethtool`")
    for device, inside_netns in ((outside, []), (inside, ["ip", "netns", "exec", netns])):
        if shape.rate is not None:
            run([*inside_netns, *_tbf(shape.rate, device)])
        else:
            run([*inside_netns, "tc", "qdisc", "del", "dev", device, "root"], check=False)
    if not shape.needs_relay:
        return shape
    # Whole frames with their checksums: a relay that read 64 KiB segments could not write
    # them back, and one whose checksum the veth left for later would be dropped.
    run(["ethtool", "-K", outside, "tso", "off", "gso", "off", "gro", "off", "tx", "off"])
    run(["ip", "netns", "exec", netns, "ethtool", "-K", inside, "tso", "off", "gso", "off",
         "tx", "off"])  # fmt: skip
    for name, value in (("arp_ignore", "8"), ("accept_local", "0")):
        Path(f"/proc/sys/net/ipv4/conf/{outside}/{name}").write_text(value)
    Path(f"/proc/sys/net/ipv6/conf/{outside}/disable_ipv6").write_text("1")
    run(["ip", "link", "set", outside, "nomaster"])
    relay = subprocess.Popen(
        [sys.executable, "-m", RELAY_MODULE, outside, tap, f"{shape.delay_ms:g}",
         f"{shape.jitter_ms:g}", f"{shape.loss:g}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not Path(f"/sys/class/net/{tap}").exists():
        if relay.poll() is not None or time.monotonic() > deadline:
            said = relay.stderr.read().decode(errors="replace") if relay.stderr else ""
            stop_relay(relay.pid)
            run(["ip", "link", "set", outside, "master", bridge], check=False)
            raise LabError(f"the link relay did not start: {said.strip()[-300:]}")
        time.sleep(0.05)
    if relay.stderr is not None:
        relay.stderr.close()
    _RELAYS[relay.pid] = relay
    run(["ip", "link", "set", tap, "master", bridge, "up"])
    return shape.model_copy(update={"relay_pid": relay.pid})


def clear_link(shape: LinkShape, outside: str, netns: str, inside: str, bridge: str) -> None:
    """The link as `lab up` made it: no relay (the veth back on the bridge), no tbf."""
    if shape.relay_pid is not None:
        stop_relay(shape.relay_pid)
        if Path(f"/sys/class/net/{outside}").exists():
            run(["ip", "link", "set", outside, "master", bridge, "up"])
    for command in (
        ["tc", "qdisc", "del", "dev", outside, "root"],
        ["ip", "netns", "exec", netns, "tc", "qdisc", "del", "dev", inside, "root"],
    ):
        run(command, check=False)


def stop_relay(pid: int) -> None:
    """End this relay (only if that PID is still one: PIDs are reused)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return
    if RELAY_MODULE.encode() not in command:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)
    child = _RELAYS.pop(pid, None)
    if child is not None:  # this process's child: collect its exit
        child.wait(timeout=5)


def _tbf(rate: int, device: str) -> list[str]:
    """The device's root queue: tbf at `rate`."""
    burst = max(3200, rate // 8 // 100)  # 10 ms of the rate, and at least two frames
    return [
        "tc", "qdisc", "replace", "dev", device, "root", "tbf", "rate", f"{rate}bit",
        "burst", str(burst), "latency", QUEUE_LATENCY,
    ]  # fmt: skip
