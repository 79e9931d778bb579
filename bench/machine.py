"""The machine a benchmark measures on: the lab's servers and the controller share its cores
and its page cache.

    clear_page_cache(bundle)   # before a measured step: what it reads is there, nothing else
    with cpu_time() as used:   # the whole machine's CPU time over the step, from /proc/stat:
        ...                    # whether a slower step did more work or left cores waiting
    used.busy, used.idle, used.steal   # CPU-seconds over the step, all cores together
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Used:
    busy: float = 0.0
    """user, nice, system, irq and softirq: work done, by anything on the machine."""
    idle: float = 0.0
    """idle and iowait: cores with nothing to run."""
    steal: float = 0.0
    """time the hypervisor gave to other machines."""


def _sample() -> list[int]:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    assert fields[0] == "cpu", "the first line of /proc/stat is the machine's total"
    return [int(value) for value in fields[1:9]]


@contextmanager
def cpu_time() -> Iterator[Used]:
    used = Used()
    before = _sample()
    try:
        yield used
    finally:
        user, nice, system, idle, iowait, irq, softirq, steal = (
            (b - a) / TICK for a, b in zip(before, _sample(), strict=True)
        )
        used.busy = user + nice + system + irq + softirq
        used.idle = idle + iowait
        used.steal = steal


def clear_page_cache(*hot: Path) -> None:
    """Write back and drop this machine's page cache, then read the files under `hot` into
    it. A step measured after others would otherwise start with their leftovers (the lab's
    disks are loop images: each GB a server wrote holds two in the cache) taking the cache's
    room, and the kernel's reclaim of them taking CPU from the step."""
    os.sync()
    Path("/proc/sys/vm/drop_caches").write_text("1\n")
    for folder in hot:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                with path.open("rb") as handle:
                    while handle.read(1 << 20):
                        pass
