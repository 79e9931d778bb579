"""Rollback: back to the desired state of an earlier successful run, kept in the journal."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from lpdeploy.errors import InputError
from lpdeploy.journal import APPLIED, Journal, plan_digest
from lpdeploy.output import canonical_json
from lpdeploy.plan.model import Plan


@dataclass(frozen=True)
class RollbackTarget:
    run_id: int
    plan: Plan
    switched: dict[str, list[str]] = field(default_factory=dict)
    """Per centre, the bundles it switches back to from the versions it kept (no transfer)."""
    transferred: dict[str, list[str]] = field(default_factory=dict)
    """Per centre, the bundles it gets again by transfer (the plan had no room to keep them)."""


def rollback_target(journal: Journal, current: Plan, to: int | None) -> RollbackTarget:
    """The run to go back to: `to`, or the last successful apply or rollback of a plan of
    this name other than `current`; and what each centre switches back or receives."""
    now = plan_digest(canonical_json(current).decode())
    if to is None:
        earlier = next(
            (
                r.id
                for r in journal.runs_of(current.profile.name)
                if r.outcome == "ok" and r.plan_digest not in (None, now)
            ),
            None,
        )
        if earlier is None:
            raise InputError.single(
                str(journal.path),
                f"no earlier successful run of a plan of {current.profile.name} other than this "
                "one to roll back to (runs before lpdeploy kept their plan cannot be)",
                "--to",
            )
        to = earlier
    record = journal.run(to)
    text = journal.plan_of(record) if record is not None else None
    if record is None or record.kind not in APPLIED or record.outcome != "ok" or text is None:
        why = (
            "no such run"
            if record is None
            else f"a {record.kind} run, not an apply"
            if record.kind not in APPLIED
            else f"it ended {record.outcome or 'unfinished'}, not ok"
            if record.outcome != "ok"
            else "its plan was not kept (lpdeploy older than rollback)"
        )
        raise InputError.single(str(journal.path), f"run {to}: {why}", "--to")
    try:
        plan = Plan.model_validate_json(text)
    except ValidationError:
        why = f"run {to}: its plan no longer reads"
        raise InputError.single(str(journal.path), why, "--to") from None
    if plan.profile.name != current.profile.name:
        raise InputError.single(
            str(journal.path), f"run {to} applied {plan.profile.name}, not {current.profile.name}"
        )
    return _moves(to, current, plan)


def _moves(run_id: int, current: Plan, target: Plan) -> RollbackTarget:
    """What each centre does to go from `current` to `target`, bundle by bundle."""
    now = {c.id: c for c in current.centres}
    switched: dict[str, list[str]] = {}
    transferred: dict[str, list[str]] = {}
    for centre in target.centres:
        held = now.get(centre.id)
        active = {(b.id, b.version) for b in held.bundles} if held else set()
        kept = {(b.id, b.version) for b in held.keep} if held else set()
        for bundle in centre.bundles:
            key = (bundle.id, bundle.version)
            name = f"{bundle.id} {bundle.version}"
            if key in kept:
                switched.setdefault(centre.id, []).append(name)
            elif key not in active:
                transferred.setdefault(centre.id, []).append(name)
    return RollbackTarget(run_id, target, switched, transferred)
