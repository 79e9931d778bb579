"""Read a plan file written by `lpdeploy plan`."""

from __future__ import annotations

from pathlib import Path

from lpdeploy.document import load_json, validate
from lpdeploy.errors import InputError
from lpdeploy.plan.model import SCHEMA_VERSION, Plan


def load_plan(path: Path) -> Plan:
    doc = load_json(path)
    version = doc.data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise InputError.single(
            doc.path,
            f"schema_version {version!r} is not supported; expected {SCHEMA_VERSION} "
            "(re-run `lpdeploy plan` with this version of lpdeploy)",
            field="schema_version",
            line=doc.line_of(("schema_version",)),
        )
    plan: Plan = validate(Plan, doc)
    return plan
