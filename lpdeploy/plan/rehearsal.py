"""The plan as a rehearsal runs it, when only some of its foreign servers are emulated."""

from __future__ import annotations

from lpdeploy.plan.model import Plan


def rehearsal_plan(plan: Plan, machine: str, emulated: int | None) -> tuple[Plan, list[str]]:
    """Keep the first `emulated` centres (in wave order) whose architecture is not
    `machine`'s; give the others `machine`'s architecture. Returns the plan and the ids of
    the centres changed. `emulated=None` keeps every one."""
    foreign = [c.id for c in plan.centres if c.arch != machine]
    moved = foreign[emulated:] if emulated is not None else []
    if not moved:
        return plan, []
    centres = [c.model_copy(update={"arch": machine}) if c.id in moved else c for c in plan.centres]
    return plan.model_copy(update={"centres": centres}), moved


def without_hubs(plan: Plan) -> Plan:
    """The plan with every centre reached directly: a rehearsal's lab has no hubs (a hub
    needs a kit and `hub prepare`; docs/hub.md rehearses them)."""
    if not plan.hubs:
        return plan
    centres = [c.model_copy(update={"hub": None}) for c in plan.centres]
    return plan.model_copy(update={"centres": centres, "hubs": []})
