"""The sample bundles in bundles/: intact, signed by the demo key, and served by kiwix-serve."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from lpdeploy.bundle.keys import load_public_key
from lpdeploy.bundle.verify import verify_bundle
from lpdeploy.catalog import load_catalog
from lpdeploy.language import language_matches

REPO = Path(__file__).parents[3]
BUNDLES = REPO / "bundles"
DEMO_KEY = BUNDLES / "keys" / "lpdeploy-demo.pub"
needs_kiwix = pytest.mark.skipif(
    shutil.which("kiwix-serve") is None or shutil.which("zimcheck") is None,
    reason="kiwix-tools and zim-tools are installed by `make test`",
)


def sample_folders() -> list[Path]:
    return sorted(p for p in BUNDLES.iterdir() if (p / "bundle.json").is_file())


def test_samples_are_intact_and_signed() -> None:
    key = load_public_key(DEMO_KEY)
    folders = sample_folders()
    assert len(folders) >= 6
    for folder in folders:
        verdict = verify_bundle(folder, [key])
        assert verdict.ok, (folder, verdict.problems)
        assert verdict.signature.startswith("valid: lpdeploy-demo")


def test_samples_cover_the_example_languages_and_subjects() -> None:
    catalog = load_catalog(BUNDLES)
    kinds = {b.kind for b in catalog.bundles}
    assert {"zim", "html"} <= kinds
    for language in ("en", "fr", "ar", "my", "uk"):
        assert any(language_matches(language, tag) for b in catalog.bundles for tag in b.languages)
    assert {"literacy", "numeracy", "wellbeing"} <= {s for b in catalog.bundles for s in b.subjects}
    assert sum(b.size_bytes for b in catalog.bundles) < 10_000_000


def zim_files() -> list[Path]:
    return sorted(BUNDLES.glob("*/content/*.zim"))


@needs_kiwix
@pytest.mark.parametrize("zim", zim_files(), ids=lambda p: p.name)
def test_zimcheck_passes(zim: Path) -> None:
    subprocess.run(["zimcheck", "--all", str(zim)], check=True, capture_output=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(name="kiwix")
def fixture_kiwix() -> Iterator[str]:
    port = free_port()
    server = subprocess.Popen(
        ["kiwix-serve", "--address", "127.0.0.1", "--port", str(port), *map(str, zim_files())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.05)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8")


@needs_kiwix
def test_kiwix_serve_serves_the_sample_zims(kiwix: str) -> None:
    status, page = fetch(f"{kiwix}/lpdeploy_first-letters_en/letter-b.html")
    assert status == 200 and "The dog runs fast" not in page and "Throw the ball" in page
    status, page = fetch(f"{kiwix}/lpdeploy_compter_fr/additionner.html")
    assert status == 200 and "mangues" in page
    status, page = fetch(f"{kiwix}/search?pattern=apple&books.name=lpdeploy_first-letters_en")
    assert status == 200 and "letter-a" in page
