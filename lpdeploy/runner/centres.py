"""One ad-hoc Ansible round on a plan's centres, through a hub where one is named: what
verify's server checks, usage collect and diagnose each run on every server."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from lpdeploy.connect import Connection, pinned_files
from lpdeploy.inventory.connections import centre_connections
from lpdeploy.inventory.render import GROUP
from lpdeploy.output import write_atomic
from lpdeploy.plan.model import Plan
from lpdeploy.runner.hub import Hub, hub_from
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec

Outcome = Literal["ok", "failed", "unreachable"]
OUTCOMES: dict[str, Outcome] = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
}


@dataclass(frozen=True)
class Answer:
    """What Ansible said of one centre: its module's result, or why there is none."""

    outcome: Outcome
    result: dict[str, Any]

    @property
    def message(self) -> str:
        return str(self.result.get("stderr") or self.result.get("msg", ""))[-300:]


def reach_centres(
    plan: Plan, inventory: Path | None, cache: Path, via: str | None
) -> tuple[dict[str, Connection], Hub | None]:
    """Each centre's connection, and the hub `via` names in the inventory (None without)."""
    connections = centre_connections(plan, inventory, cache)
    if via is None or inventory is None:
        return connections, None
    return connections, hub_from(via, inventory_connections(inventory, cache))


def run_on_centres(
    workdir: Path,
    inventory: Path | None,
    connections: dict[str, Connection],
    *,
    module: str,
    module_args: str,
    host_vars: dict[str, dict[str, Any]] | None = None,
    files: Sequence[Path] = (),
    hub: Hub | None = None,
) -> dict[str, Answer]:
    """Run `module` on every centre of `connections` at once; an answer for each of them
    (a centre Ansible said nothing of is unreachable, with the hub's words where it spoke)."""
    hosts = sorted(connections)
    entries = {host: dict((host_vars or {}).get(host, {})) for host in hosts}
    if inventory is None:
        for host in hosts:
            entries[host]["ansible_host"] = connections[host].address
    generated = workdir / "centres.yml"
    write_atomic(generated, yaml.safe_dump({GROUP: {"hosts": entries}}).encode(), mode=0o600)
    spec = build_spec(
        workdir / "run", [inventory, generated] if inventory else [generated], module=module,
        module_args=module_args, host_pattern=GROUP, limit=",".join(hosts),
        forks=max(5, len(hosts)), known_hosts=pinned_files(connections.values()), files=files,
        via=hub,
    )  # fmt: skip
    answers: dict[str, Answer] = {}
    for event in run_to_end(spec):
        data = event.get("event_data") or {}
        host = str(data.get("host"))
        outcome = OUTCOMES.get(str(event.get("event")))
        if host in connections and outcome is not None:
            answers[host] = Answer(outcome, data.get("res") or {})
    if len(answers) < len(hosts):
        from lpdeploy.runner.relay import relay_problem

        why = relay_problem(spec) or "no answer from Ansible"
        for host in hosts:
            answers.setdefault(host, Answer("unreachable", {"msg": why}))
    return answers
