"""Lab fleet: time of `lab up` for 3, 10 and 20 servers with a warm base cache (until every
server answers SSH and says `running`), and the memory of an idle server: the PSS of every
process in its cgroups, five seconds after boot.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from lpdeploy.lab.base import ensure_base
from lpdeploy.lab.fleet import CACHE, Lab

SIZES = tuple(int(a) for a in sys.argv[1:]) or (3, 10, 20)


def pss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += sum(int(line.split()[1]) for line in text.splitlines() if line.startswith("Pss:"))
    return total


def main() -> None:
    ensure_base(CACHE)
    runs = []
    lab = Lab("bench")
    lab.down()
    try:
        for size in SIZES:
            names = [f"centre-{i:02d}" for i in range(1, size + 1)]
            start = time.perf_counter()
            state = lab.up(names)
            took = time.perf_counter() - start
            time.sleep(5)
            per_host = [pss_kib(lab.host_pids(h)) for h in state.hosts]
            runs.append(
                {
                    "servers": size,
                    "up_s": round(took, 2),
                    "per_server_s": round(took / size, 3),
                    "idle_pss_mib_per_server": round(sum(per_host) / len(per_host) / 1024, 1),
                }
            )
            lab.down()
            print(
                f"{size:>3} servers: lab up {took:.1f} s ({took / size:.2f} s a server), "
                f"idle memory {runs[-1]['idle_pss_mib_per_server']} MiB PSS a server"
            )
    finally:
        lab.down()
    print(json.dumps({"bench": "lab_up", "runs": runs}))


if __name__ == "__main__":
    main()
