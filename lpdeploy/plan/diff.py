"""Compare two plans: which centres gain, lose or change bundles."""

from __future__ import annotations

from pydantic import BaseModel

from lpdeploy.plan.model import Plan, PlanCentre


class VersionChange(BaseModel):
    id: str
    old: str
    new: str


class CentreChange(BaseModel):
    id: str
    bundles_added: list[str] = []
    bundles_removed: list[str] = []
    bundles_updated: list[VersionChange] = []
    moved: list[str] = []
    """Other fields that changed (host, wave, hardware, arch, hub), as 'field: old -> new'."""


class PlanDiff(BaseModel):
    centres_added: list[str]
    centres_removed: list[str]
    centres_changed: list[CentreChange]

    @property
    def empty(self) -> bool:
        return not (self.centres_added or self.centres_removed or self.centres_changed)


def diff_plans(old: Plan, new: Plan) -> PlanDiff:
    before = {c.id: c for c in old.centres}
    after = {c.id: c for c in new.centres}
    changed = []
    for cid in sorted(before.keys() & after.keys()):
        change = _diff_centre(before[cid], after[cid])
        if change is not None:
            changed.append(change)
    return PlanDiff(
        centres_added=sorted(after.keys() - before.keys()),
        centres_removed=sorted(before.keys() - after.keys()),
        centres_changed=changed,
    )


def _diff_centre(old: PlanCentre, new: PlanCentre) -> CentreChange | None:
    was = {b.id: b.version for b in old.bundles}
    now = {b.id: b.version for b in new.bundles}
    updated = [
        VersionChange(id=bid, old=was[bid], new=now[bid])
        for bid in sorted(was.keys() & now.keys())
        if was[bid] != now[bid]
    ]
    moved = [
        f"{name}: {getattr(old, name)} -> {getattr(new, name)}"
        for name in ("host", "wave", "hardware", "arch", "hub")
        if getattr(old, name) != getattr(new, name)
    ]
    change = CentreChange(
        id=old.id,
        bundles_added=sorted(now.keys() - was.keys()),
        bundles_removed=sorted(was.keys() - now.keys()),
        bundles_updated=updated,
        moved=moved,
    )
    if change.bundles_added or change.bundles_removed or updated or moved:
        return change
    return None
