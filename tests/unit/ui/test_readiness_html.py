"""The HTML readiness report, opened in a real headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lpdeploy.readiness.report import CheckResult, ReadinessReport, centre_report
from lpdeploy.ui.readiness import report_html

CHROMIUM = shutil.which("chromium")
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is installed by `make test`")
def test_the_report_renders_in_chromium(tmp_path: Path) -> None:
    bad = centre_report("adre-lc-02", "10.77.0.12", [
        CheckResult(name="reachable", ok=True, detail="SSH with the pinned host key"),
        CheckResult(name="services", ok=False, detail="kiwix-serve inactive/enabled"),
    ])  # fmt: skip
    good = centre_report(
        "adre-lc-01", "10.77.0.11", [CheckResult(name="reachable", ok=True, detail="ok")]
    )
    page = tmp_path / "report.html"
    page.write_text(
        report_html(ReadinessReport(plan="eastern-chad", ready=False, centres=[good, bad]))
    )
    browser = [str(CHROMIUM), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*browser, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=90
    )
    assert "adre-lc-02: NOT READY" in dom.stdout
    shot = tmp_path / "report.png"
    done = subprocess.run(
        [*browser, "--window-size=412,900", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, timeout=90, check=False,
    )  # fmt: skip
    assert done.returncode == 0
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
