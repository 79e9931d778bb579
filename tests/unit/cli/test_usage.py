"""`lpdeploy usage import | report | export` on a store in a temporary LPDEPLOY_HOME."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.usage.exchange import write_export
from lpdeploy.usage.model import BundleInfo, Context, Row, UsageFile

CHROMIUM = shutil.which("chromium")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(name="export")
def fixture_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LPDEPLOY_HOME", str(tmp_path / "home"))
    about = {
        "abetka-uk": BundleInfo(languages=["uk"], subjects=["literacy"]),
        "nauka-uk": BundleInfo(languages=["uk"], subjects=["science", "numeracy"]),
    }
    rows = [
        Row(day="2026-11-30", source="web", bundle="abetka-uk", requests=40, devices=12),
        Row(day="2026-12-01", source="web", bundle="abetka-uk", requests=3, devices=2),
        Row(day="2026-11-30", source="kolibri", bundle="nauka-uk", resource="a" * 32,
            learners=7, started=7, completed=6, seconds=900),
    ]  # fmt: skip
    files = [
        UsageFile(centre=centre, collected_at=10.0, rows=rows,
                  context=Context(country="UA", region=region, languages=["uk"], bundles=about))
        for centre, region in (("lviv-01", "Lviv"), ("uzh-01", "Zakarpattia"))
    ]  # fmt: skip
    write_export(tmp_path / "usb", files)
    return tmp_path / "usb"


def test_import_twice_then_report_by_subject_as_json(export: Path) -> None:
    code, stdout, _ = invoke("usage", "import", str(export), "--json")
    assert code == 0 and json.loads(stdout) == {"added": 6, "replaced": 0, "kept": 0}
    code, stdout, _ = invoke("usage", "import", str(export), "--json")
    assert code == 0 and json.loads(stdout) == {"added": 0, "replaced": 0, "kept": 6}
    code, stdout, _ = invoke("usage", "report", "--by", "subject", "--json")
    report = json.loads(stdout)
    by = {g["group"]: g for g in report["groups"]}
    assert (by["literacy"]["requests"], by["literacy"]["devices"]) == (86, 28)
    assert (by["numeracy"]["learners"], by["numeracy"]["completed"]) == (14, 12)
    code, stdout, _ = invoke("usage", "report", "--by", "region", "--from", "2026-12-01",
                             "--json")  # fmt: skip
    assert [g["requests"] for g in json.loads(stdout)["groups"]] == ["<5", "<5"]


def test_csv_and_an_html_page_with_charts_that_opens_offline(export: Path, tmp_path: Path) -> None:
    assert invoke("usage", "import", str(export))[0] == 0
    code, stdout, _ = invoke("usage", "report", "--by", "centre", "--csv")
    assert code == 0 and stdout.splitlines()[:2] == [
        "centre,learners,started,completed,requests,devices,seconds",
        "lviv-01,7,7,6,43,14,900",
    ]
    page = tmp_path / "report.html"
    code, _, _ = invoke("usage", "report", "--by", "country", "--html", str(page))
    text = page.read_text()
    assert code == 0 and text.count("<svg") == 2
    assert "<script" not in text and not re.search(r'(src|href)="(https?:)?//', text)
    if CHROMIUM:
        dom = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
             f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
            capture_output=True, text=True, timeout=90, check=False,
        )  # fmt: skip
        assert '<table id="groups">' in dom.stdout and "<svg" in dom.stdout


def test_an_export_with_a_flipped_byte_is_refused_and_nothing_merged(export: Path) -> None:
    [first, *_] = sorted((export / "centres").iterdir())
    data = bytearray(first.read_bytes())
    data[-5] ^= 1
    first.write_bytes(bytes(data))
    code, _, stderr = invoke("usage", "import", str(export))
    assert code == 1 and "refused, nothing merged" in stderr
    code, stdout, _ = invoke("usage", "report", "--json")
    assert code == 0 and json.loads(stdout)["groups"] == []


def test_the_store_exports_again_for_the_next_hop(export: Path, tmp_path: Path) -> None:
    assert invoke("usage", "import", str(export))[0] == 0
    code, _, _ = invoke("usage", "export", "--out", str(tmp_path / "again"))
    assert code == 0
    code, stdout, _ = invoke("usage", "import", str(tmp_path / "again"), "--json")
    assert json.loads(stdout)["kept"] == 6


def test_a_wrong_dimension_or_date_is_an_input_error(export: Path) -> None:
    assert invoke("usage", "report", "--by", "planet")[0] == 2
    assert invoke("usage", "report", "--from", "30/11/2026")[0] == 2
