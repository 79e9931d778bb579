"""The readiness report (CONTRACT.md) and its JUnit form."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from pydantic import BaseModel

CHECK_ORDER = (
    "reachable", "hostkey", "login", "platform", "system", "disk", "clock", "services",
    "portal", "content", "bundles", "unexpected", "packages",
)  # fmt: skip


class CheckResult(BaseModel):
    name: str
    ok: bool
    detail: str


class CentreReport(BaseModel):
    id: str
    host: str
    ready: bool
    checks: list[CheckResult]


class ReadinessReport(BaseModel):
    schema_version: int = 1
    plan: str
    ready: bool
    centres: list[CentreReport]


def centre_report(centre: str, host: str, checks: list[CheckResult]) -> CentreReport:
    ordered = sorted(
        checks, key=lambda c: CHECK_ORDER.index(c.name) if c.name in CHECK_ORDER else 99
    )
    return CentreReport(
        id=centre, host=host, ready=bool(ordered) and all(c.ok for c in ordered), checks=ordered
    )


def junit_xml(report: ReadinessReport) -> bytes:
    """One test suite per centre, one test case per check; a failing check is a failure."""
    suites = ET.Element("testsuites", name=f"lpdeploy verify {report.plan}")
    for centre in report.centres:
        failures = sum(1 for c in centre.checks if not c.ok)
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=centre.id,
            tests=str(len(centre.checks)),
            failures=str(failures),
        )
        for result in centre.checks:
            case = ET.SubElement(suite, "testcase", classname=centre.id, name=result.name)
            if result.ok:
                ET.SubElement(case, "system-out").text = result.detail
            else:
                ET.SubElement(case, "failure", message=result.detail[:200]).text = result.detail
    document: bytes = ET.tostring(suites, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
