"""Large sample content for benchmarks and tests, generated here (nothing is downloaded),
built once and kept outside the repository: in $LPDEPLOY_BENCH_CONTENT, by default
/var/cache/lpdeploy/bench-content, as a catalog folder of signed bundles.

  big-zim-en   one ZIM made by zimwriterfs: pages of text, each with an image of noise
               (images are stored as they are, so the ZIM is as large as asked)
  video-en     a few large files, like a video course
  mixed-en     files of mixed sizes: many of 4-64 KiB, some of 1-8 MiB, a few of 64 MiB+

    python bench/content.py [--zim-mb 1024] [--video-mb 2048] [--mixed-mb 2048] [--only NAME]

A bundle is rebuilt only when its recipe (kind and size) changed. The content is the same
on every machine (a seeded generator), and incompressible, as video and images are. The
signing key is made once, beside the catalog (bench.key, bench.pub).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from lpdeploy.bundle.build import build_bundle
from lpdeploy.bundle.keys import generate_keys

REPO = Path(__file__).resolve().parent.parent
FAVICON = REPO / "bundles" / "src" / "first-letters-en" / "html" / "favicon.png"
MIB = 2**20
VERSION = "1.0.0"


def cache_dir() -> Path:
    return Path(os.environ.get("LPDEPLOY_BENCH_CONTENT", "/var/cache/lpdeploy/bench-content"))


def write_noise(path: Path, size: int, rng: random.Random) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        left = size
        while left:
            step = min(left, 16 * MIB)
            handle.write(rng.randbytes(step))
            left -= step


def meta(bundle_id: str, kind: str, services: str) -> str:
    return (
        f'id: {bundle_id}\nversion: "{VERSION}"\ntitle: Bench {bundle_id}\nkind: {kind}\n'
        f"languages: [en]\nsubjects: [literacy]\nlicence: CC0-1.0\nservices: [{services}]\n"
    )


def zim_source(source: Path, size: int, rng: random.Random) -> None:
    """content/bench-big.zim of about `size` bytes, by zimwriterfs from generated pages."""
    html = source.parent / "html"
    shutil.rmtree(html, ignore_errors=True)
    html.mkdir(parents=True)
    shutil.copyfile(FAVICON, html / "favicon.png")
    image = 512 * 1024
    pages = max(1, size // image)
    words = ["water", "river", "number", "letter", "school", "garden", "market", "family"]
    links = []
    for n in range(pages):
        write_noise(html / "images" / f"picture-{n:05d}.jpg", image, rng)
        text = " ".join(rng.choice(words) for _ in range(300))
        (html / f"page-{n:05d}.html").write_text(
            f"<!doctype html><html><head><meta charset='utf-8'><title>Page {n}</title></head>"
            f"<body><h1>Page {n}</h1><p>{text}</p><img src='images/picture-{n:05d}.jpg'>"
            "</body></html>"
        )
        links.append(f"<li><a href='page-{n:05d}.html'>Page {n}</a></li>")
    (html / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Bench</title></head>"
        f"<body><ul>{''.join(links)}</ul></body></html>"
    )
    (source / "content").mkdir(parents=True)
    (source / "bundle.yaml").write_text(meta("big-zim-en", "zim", "kiwix"))
    subprocess.run(
        ["zimwriterfs", "--welcome=index.html", "--illustration=favicon.png", "--language=eng",
         "--title=Bench", "--description=Generated bench content", "--creator=lpdeploy",
         "--publisher=lpdeploy", "--name=bench-big", str(html),
         str(source / "content" / "bench-big.zim")],
        check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    shutil.rmtree(html)


def video_source(source: Path, size: int, rng: random.Random) -> None:
    """Four large files and an index page."""
    (source / "bundle.yaml").write_text(meta("video-en", "html", "portal"))
    for n in range(4):
        write_noise(source / "content" / f"lesson-{n + 1}.mp4", size // 4, rng)
    (source / "content" / "index.html").write_text("<h1>Lessons</h1>\n")


def mixed_source(source: Path, size: int, rng: random.Random) -> None:
    """A tree of mixed sizes: a third of the bytes each in small, middle and large files."""
    (source / "bundle.yaml").write_text(meta("mixed-en", "html", "portal"))
    content = source / "content"
    (content / "index.html").parent.mkdir(parents=True, exist_ok=True)
    (content / "index.html").write_text("<h1>Mixed</h1>\n")
    for band, (low, high) in enumerate(
        [(4 * 1024, 64 * 1024), (MIB, 8 * MIB), (64 * MIB, 160 * MIB)]
    ):
        left, n = size // 3, 0
        while left > 0:
            part = min(left, rng.randint(low, high))
            write_noise(content / f"band-{band}" / f"d{n // 200:03d}" / f"f{n:05d}.bin", part, rng)
            left, n = left - part, n + 1


RECIPES: dict[str, tuple[str, Callable[[Path, int, random.Random], None]]] = {
    "big-zim-en": ("zim_mb", zim_source),
    "video-en": ("video_mb", video_source),
    "mixed-en": ("mixed_mb", mixed_source),
}


def ensure(name: str, size_mb: int, catalog: Path, key: Path) -> Path:
    """The built bundle `name` of `size_mb` MB in `catalog`, built now if its recipe changed."""
    built = catalog / f"{name}-{VERSION}"
    recipe = json.dumps({"name": name, "mb": size_mb, "version": 1})
    record = catalog / f".{name}.recipe"
    if built.is_dir() and record.exists() and record.read_text() == recipe:
        return built
    shutil.rmtree(built, ignore_errors=True)
    work = catalog / f".{name}.work"
    shutil.rmtree(work, ignore_errors=True)
    source = work / "src"
    source.mkdir(parents=True)
    _, make = RECIPES[name]
    make(source, size_mb * 10**6, random.Random(name))
    build_bundle(source, catalog, sign_key=key)
    shutil.rmtree(work)
    record.write_text(recipe)
    return built


def signing_key(catalog: Path) -> Path:
    """The bench's own signing key beside the catalog, made the first time."""
    catalog.mkdir(parents=True, exist_ok=True)
    key = catalog / "bench.key"
    if not key.exists():
        generate_keys(catalog, "bench")
    return key


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zim-mb", type=int, default=1024)
    parser.add_argument("--video-mb", type=int, default=2048)
    parser.add_argument("--mixed-mb", type=int, default=2048)
    parser.add_argument("--only", choices=sorted(RECIPES))
    args = parser.parse_args()
    catalog = cache_dir()
    key = signing_key(catalog)
    for name, (option, _) in RECIPES.items():
        if args.only in (None, name):
            built = ensure(name, getattr(args, option), catalog, key)
            size = sum(p.stat().st_size for p in built.rglob("*") if p.is_file())
            print(f"{name}: {size / 10**6:,.0f} MB in {built}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
