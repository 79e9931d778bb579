"""The machine a benchmark measures on: the lab's servers and the controller share its cores
and its page cache.

    clear_page_cache(bundle)   # before a measured step: what it reads is there, nothing else
    with cpu_time() as used:   # the whole machine's CPU time over the step, from /proc/stat:
        ...                    # whether a slower step did more work or left cores waiting
    used.busy, used.idle, used.steal   # CPU-seconds over the step, all cores together
    seconds, used = timed(argv)        # a command's wall time and CPU time, from a synced disk
"""

from __future__ import annotations

import os
import resource
import subprocess
import time
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
    servers: float = 0.0
    """of `busy`, the lab servers' own (their cgroup's), when the step was given one."""
    here: float = 0.0
    """of `busy`, the measured processes' and all they waited for (the controller's side,
    less the ssh masters that run detached)."""


def _sample() -> list[int]:
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()
    assert fields[0] == "cpu", "the first line of /proc/stat is the machine's total"
    return [int(value) for value in fields[1:9]]


def _cgroup_seconds(cgroup: Path | None) -> float:
    """CPU-seconds used so far in a cgroup (v2's cpu.stat: counted with or without its cpu
    controller); 0 without one."""
    if cgroup is None or not (cgroup / "cpu.stat").exists():
        return 0.0
    for line in (cgroup / "cpu.stat").read_text().splitlines():
        name, value = line.split()
        if name == "usage_usec":
            return int(value) / 1e6
    return 0.0


def _children_seconds() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


@contextmanager
def cpu_time(servers: Path | None = None) -> Iterator[Used]:
    """`servers`: the lab's cgroup, holding its servers' processes."""
    used = Used()
    before, there, here = _sample(), _cgroup_seconds(servers), _children_seconds()
    try:
        yield used
    finally:
        user, nice, system, idle, iowait, irq, softirq, steal = (
            (b - a) / TICK for a, b in zip(before, _sample(), strict=True)
        )
        used.busy = user + nice + system + irq + softirq
        used.idle = idle + iowait
        used.steal = steal
        used.servers = _cgroup_seconds(servers) - there
        used.here = _children_seconds() - here


def timed(
    argv: list[str], env: dict[str, str] | None = None, servers: Path | None = None
) -> tuple[float, Used]:
    """A command's wall time, and the machine's CPU time over it (`servers`: as cpu_time's).
    It starts with no other step's writes still going to the disk."""
    os.sync()
    start = time.perf_counter()
    with cpu_time(servers) as used:
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start, used


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
