"""Bundle verification throughput against the machine's sha256 ceiling and sha256sum.

Builds a 1 GiB bundle of mixed file sizes (a few large files, thousands of small ones),
reads it once so it is page-cached, then measures in one run:
- plain read throughput of all files (the I/O ceiling),
- single-thread hashlib.sha256 throughput on the same files,
- the ceiling: cores x single-thread sha256, capped by plain read,
- `lpdeploy bundle verify` (the library call) throughput,
- coreutils `sha256sum` over the same files (single process).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lpdeploy.bundle.build import build_bundle
from lpdeploy.bundle.verify import verify_bundle

MIB = 1 << 20
LARGE = [256 * MIB, 192 * MIB, 128 * MIB, 96 * MIB, 64 * MIB]
SMALL_COUNT = 6000
REPEAT = 5
"""Each figure is the best of this many runs."""


def make_source(root: Path) -> int:
    rng = random.Random(1)
    content = root / "content"
    (content / "large").mkdir(parents=True)
    block = rng.randbytes(MIB)
    total = 0
    for index, size in enumerate(LARGE):
        with (content / "large" / f"video-{index}.bin").open("wb") as handle:
            for _ in range(size // MIB):
                handle.write(block)
        total += size
    budget = 1024 * MIB - total
    sizes = [rng.randint(1, 2 * budget // SMALL_COUNT) for _ in range(SMALL_COUNT)]
    scale = budget / sum(sizes)
    for index, size in enumerate(sizes):
        folder = content / "pages" / f"{index // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        data = rng.randbytes(max(1, int(size * scale)))
        (folder / f"page-{index:05d}.html").write_bytes(data)
        total += len(data)
    (root / "bundle.yaml").write_text(
        "id: bench\nversion: '1'\ntitle: Bench\nkind: media\nlanguages: [en]\nlicence: CC0\n"
    )
    return total


def timed(run: object) -> float:
    start = time.perf_counter()
    run()  # type: ignore[operator]
    return time.perf_counter() - start


def plain_read(files: list[Path]) -> None:
    buffer = bytearray(MIB)
    for path in files:
        with path.open("rb", buffering=0) as handle:
            while handle.readinto(buffer):
                pass


def single_sha256(files: list[Path]) -> None:
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    for path in files:
        digest = hashlib.sha256()
        with path.open("rb", buffering=0) as handle:
            while count := handle.readinto(buffer):
                digest.update(view[:count])


def main() -> None:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        source = Path(tmp) / "src"
        total = make_source(source)
        bundle = build_bundle(source, Path(tmp) / "out").path
        files = sorted(p for p in (bundle / "content").rglob("*") if p.is_file())
        plain_read(files)
        read_s = min(timed(lambda: plain_read(files)) for _ in range(REPEAT))
        single_s = min(timed(lambda: single_sha256(files)) for _ in range(REPEAT))
        verify_s = min(timed(lambda: verify_bundle(bundle, [])) for _ in range(REPEAT))
        listing = Path(tmp) / "files.txt"
        listing.write_text("\n".join(map(str, files)))
        coreutils_s = timed(
            lambda: subprocess.run(
                ["xargs", "-a", str(listing), "-d", "\n", "sha256sum"],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        )
    gib = total / (1 << 30)
    cores = os.cpu_count() or 1
    read_rate, single_rate = total / read_s, total / single_s
    ceiling = min(cores * single_rate, read_rate)
    verify_rate, coreutils_rate = total / verify_s, total / coreutils_s
    figures = {
        "bench": "bundle_hash",
        "bytes": total,
        "files": len(files),
        "cores": cores,
        "read_mib_s": round(read_rate / MIB),
        "sha256_single_mib_s": round(single_rate / MIB),
        "ceiling_mib_s": round(ceiling / MIB),
        "verify_mib_s": round(verify_rate / MIB),
        "sha256sum_mib_s": round(coreutils_rate / MIB),
        "verify_vs_ceiling": round(verify_rate / ceiling, 3),
        "verify_vs_sha256sum": round(verify_rate / coreutils_rate, 2),
    }
    print(f"{gib:.2f} GiB in {len(files)} files, {cores} cores, page-cached")
    print(f"plain read            {figures['read_mib_s']:>6} MiB/s")
    print(f"hashlib, one thread   {figures['sha256_single_mib_s']:>6} MiB/s")
    print(f"ceiling               {figures['ceiling_mib_s']:>6} MiB/s (cores x one thread)")
    print(f"lpdeploy verify       {figures['verify_mib_s']:>6} MiB/s")
    print(f"sha256sum             {figures['sha256sum_mib_s']:>6} MiB/s")
    print(f"verify / ceiling      {figures['verify_vs_ceiling']:.2f} (target >= 0.8)")
    print(f"verify / sha256sum    {figures['verify_vs_sha256sum']:.2f}")
    print(json.dumps(figures))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
