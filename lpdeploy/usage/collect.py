"""Fetch each centre's usage rows: one Ansible round runs the collector on every server
(through a hub where one is named) and hands back what it printed."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from lpdeploy.plan.model import Plan
from lpdeploy.runner.centres import reach_centres, run_on_centres
from lpdeploy.usage.model import UsageFile

COLLECTOR = "/usr/local/sbin/lpdeploy-usage"


def collect_usage(
    plan: Plan, inventory: Path | None, workdir: Path, via: str | None = None
) -> tuple[list[UsageFile], dict[str, str]]:
    """Each centre's usage file, and why each centre that gave none did not."""
    cache = workdir.parent / "cache"
    connections, hubs = reach_centres(plan, inventory, cache, via)
    answers = run_on_centres(
        workdir, inventory, connections, module="ansible.builtin.command",
        module_args=f"{COLLECTOR} collect", hubs=hubs,
    )  # fmt: skip
    found: list[UsageFile] = []
    failed: dict[str, str] = {}
    for host, answer in answers.items():
        if answer.outcome != "ok":
            failed[host] = answer.message
            continue
        try:
            usage = UsageFile.model_validate_json(str(answer.result.get("stdout", "")))
        except ValidationError as exc:
            failed[host] = f"the collector's answer is not a usage file: {exc.error_count()}"
            continue
        if usage.centre != host:
            failed[host] = f"the server says it is centre {usage.centre}"
            continue
        found.append(usage)
    return sorted(found, key=lambda u: u.centre), failed
