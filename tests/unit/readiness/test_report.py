from __future__ import annotations

import xml.etree.ElementTree as ET

from lpdeploy.readiness.report import CheckResult, ReadinessReport, centre_report, junit_xml
from lpdeploy.ui.readiness import report_html


def sample() -> ReadinessReport:
    good = centre_report("lc-01", "10.0.0.1", [CheckResult(name="reachable", ok=True, detail="ok")])
    bad = centre_report(
        "lc-02",
        "10.0.0.2",
        [
            CheckResult(name="services", ok=False, detail="kiwix-serve inactive/enabled"),
            CheckResult(name="reachable", ok=True, detail="ok"),
        ],
    )
    return ReadinessReport(plan="camp", ready=False, centres=[good, bad])


def test_checks_are_ordered_and_readiness_needs_every_check() -> None:
    report = sample()
    assert [c.name for c in report.centres[1].checks] == ["reachable", "services"]
    assert [c.ready for c in report.centres] == [True, False]
    assert not centre_report("x", "h", []).ready


def test_junit_has_a_case_per_centre_and_check() -> None:
    root = ET.fromstring(junit_xml(sample()))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["lc-01", "lc-02"]
    assert suites[1].get("failures") == "1"
    [failure] = root.findall(".//failure")
    assert failure.get("message") == "kiwix-serve inactive/enabled"


def test_html_is_self_contained_and_lists_failing_centres_first() -> None:
    page = report_html(sample())
    assert page.index("lc-02: NOT READY") < page.index("lc-01: ready")
    assert "1 of 2 centres ready" in page
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert 'name="viewport"' in page
