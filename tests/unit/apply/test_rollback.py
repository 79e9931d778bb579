"""Which run a rollback goes back to, and what each centre switches back or receives."""

from __future__ import annotations

from pathlib import Path

import pytest

from lpdeploy.apply.rollback import rollback_target
from lpdeploy.errors import InputError
from lpdeploy.journal import Journal
from lpdeploy.output import canonical_json
from lpdeploy.plan.model import BundleRef, Plan

GOLDEN = Path(__file__).parents[2] / "fixtures" / "golden" / "small-plan.json"


@pytest.fixture(name="plans")
def fixture_plans() -> tuple[Plan, Plan]:
    """B, as planned (my-numeracy 1.0.0, keeping 0.9.0 where it fits), and A, before it:
    my-numeracy 0.9.0 everywhere."""
    b = Plan.model_validate_json(GOLDEN.read_text())
    old = BundleRef(id="my-numeracy", version="0.9.0", size_bytes=2 * 10**9)
    centres = [
        c.model_copy(
            update={
                "bundles": [old if x.id == "my-numeracy" else x for x in c.bundles],
                "keep": [],
            }
        )
        for c in b.centres
    ]
    return b, b.model_copy(update={"centres": centres})


@pytest.fixture(name="journal")
def fixture_journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "journal.sqlite")


def applied(journal: Journal, plan: Plan, outcome: str = "ok") -> int:
    run = journal.start_run(
        "apply", plan.profile.name, "0" * 64, plan=canonical_json(plan).decode()
    )
    journal.finish_run(run, outcome)
    return run


def test_the_last_good_run_of_another_plan_is_the_target(
    journal: Journal, plans: tuple[Plan, Plan]
) -> None:
    b, a = plans
    first = applied(journal, a)
    applied(journal, a, "failed")
    applied(journal, b)
    target = rollback_target(journal, b, None)
    assert target.run_id == first
    assert target.plan == a
    kept_by = {c.id for c in b.centres if any(k.id == "my-numeracy" for k in c.keep)}
    has = {c.id for c in a.centres if any(x.id == "my-numeracy" for x in c.bundles)}
    assert kept_by and set(target.switched) == kept_by & has
    assert all(v == ["my-numeracy 0.9.0"] for v in target.switched.values())
    assert set(target.transferred) == has - kept_by


def test_a_centre_that_did_not_keep_the_version_gets_it_by_transfer(
    journal: Journal, plans: tuple[Plan, Plan]
) -> None:
    b, a = plans
    lean = b.model_copy(update={"centres": [c.model_copy(update={"keep": []}) for c in b.centres]})
    applied(journal, a)
    target = rollback_target(journal, lean, None)
    assert target.switched == {}
    assert set(target.transferred) == {
        c.id for c in a.centres if any(x.id == "my-numeracy" for x in c.bundles)
    }


@pytest.mark.parametrize(
    ("outcome", "kind", "said"),
    [("failed", "apply", "not ok"), ("ok", "verify", "not an apply"), (None, "apply", "no such")],
)
def test_a_run_that_cannot_be_gone_back_to_is_refused(
    journal: Journal, plans: tuple[Plan, Plan], outcome: str | None, kind: str, said: str
) -> None:
    b, a = plans
    run = 99
    if outcome is not None:
        run = journal.start_run(kind, a.profile.name, "0" * 64, plan=canonical_json(a).decode())
        journal.finish_run(run, outcome)
    with pytest.raises(InputError, match=said) as caught:
        rollback_target(journal, b, run)
    assert caught.value.issues[0].field == "--to"


def test_nothing_to_go_back_to_is_an_input_error(
    journal: Journal, plans: tuple[Plan, Plan]
) -> None:
    b, _ = plans
    applied(journal, b)
    with pytest.raises(InputError, match="no earlier successful run"):
        rollback_target(journal, b, None)


def test_a_plan_applied_again_is_kept_once(journal: Journal, plans: tuple[Plan, Plan]) -> None:
    _, a = plans
    first, again = applied(journal, a), applied(journal, a)
    assert journal.db.execute("SELECT COUNT(*) FROM kept_plans").fetchone() == (1,)
    runs = [journal.run(first), journal.run(again)]
    assert all(r is not None and journal.plan_of(r) == canonical_json(a).decode() for r in runs)
