"""The inventory skeleton of a plan, and the check that refuses one left unfilled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from lpdeploy.connect import Connection
from lpdeploy.errors import InputError
from lpdeploy.inventory.skeleton import (
    ADDRESS,
    CENTRES,
    HUBS,
    KEY_FILE,
    FillIn,
    refuse_placeholders,
    render_skeleton,
)
from lpdeploy.plan import Plan
from lpdeploy.plan.model import PlanHub

GOLDEN = Path(__file__).parents[2] / "fixtures" / "golden" / "small-inventory.yml"


def parsed(text: str) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(text)["all"]
    return document


def test_golden_skeleton(plan: Plan) -> None:
    """Regenerate with, in tests/fixtures/golden: lpdeploy inventory small-plan.json
    --out small-inventory.yml --hub hub --force"""
    skeleton = render_skeleton(plan, "hub", "small-plan.json", "small-inventory.yml")
    assert skeleton.text == GOLDEN.read_text(encoding="utf-8")


def test_every_centre_is_a_host_with_its_plan_address_or_a_placeholder(plan: Plan) -> None:
    skeleton = render_skeleton(plan)
    document = parsed(skeleton.text)
    hosts = document["children"][CENTRES]["hosts"]
    assert list(hosts) == [c.id for c in plan.centres] == skeleton.centres
    assert hosts["lc-01"] == {"ansible_host": "10.77.0.11"}
    assert hosts["lc-02"] == hosts["lc-03"] == {"ansible_host": ADDRESS}
    assert document["vars"]["ansible_user"] == "root"
    assert document["vars"]["ansible_ssh_private_key_file"] == KEY_FILE
    assert skeleton.fill_in == [
        FillIn("all", "ansible_ssh_private_key_file"),
        FillIn("lc-02", "ansible_host"),
        FillIn("lc-03", "ansible_host"),
    ]
    assert "lpdeploy trust INVENTORY" in skeleton.text
    assert "lpdeploy preflight PLAN --inventory INVENTORY" in skeleton.text


def test_the_hub_is_optional(plan: Plan) -> None:
    assert HUBS not in parsed(render_skeleton(plan).text)["children"]
    assert "--via" not in render_skeleton(plan).text
    skeleton = render_skeleton(plan, "camp-hub")
    assert parsed(skeleton.text)["children"][HUBS]["hosts"] == {
        "camp-hub": {"ansible_host": ADDRESS}
    }
    assert FillIn("camp-hub", "ansible_host") in skeleton.fill_in
    assert skeleton.hub == "camp-hub"
    assert "--via camp-hub" in skeleton.text
    assert "as the hub reaches them" in skeleton.text


@pytest.mark.parametrize("hub", ["lc-02", "bad name", "-x", ""])
def test_a_hub_must_be_a_new_host_name(plan: Plan, hub: str) -> None:
    with pytest.raises(InputError, match="--hub"):
        render_skeleton(plan, hub)


def test_output_is_deterministic_and_reads_back_whatever_a_plan_holds(plan: Plan) -> None:
    assert render_skeleton(plan, "hub").text == render_skeleton(plan, "hub").text
    odd = ["01", "true", "a: b"]
    centres = [
        c.model_copy(update={"id": name, "hardware": "x\ny: 1\u2028z"})
        for c, name in zip(plan.centres, odd, strict=True)
    ]
    profile = plan.profile.model_copy(update={"name": "p\nall: 1"})
    changed = plan.model_copy(update={"centres": centres, "profile": profile})
    skeleton = render_skeleton(changed, "no", "my plan\n.json", "inv.yml")
    children = parsed(skeleton.text)["children"]
    assert list(children[CENTRES]["hosts"]) == odd
    assert list(children[HUBS]["hosts"]) == ["no"]
    assert children[CENTRES]["hosts"]["01"] == {"ansible_host": "10.77.0.11"}


def test_refuses_placeholders_naming_each_host_and_field() -> None:
    connections = {
        "lc-01": Connection("lc-01", "192.0.2.1", user="root", key_file=KEY_FILE),
        "lc-02": Connection("lc-02", ADDRESS, user="root", key_file=KEY_FILE),
        "lc-03": Connection("lc-03", "192.0.2.3", user="FILL-IN-user", key_file="/k"),
    }
    with pytest.raises(InputError) as caught:
        refuse_placeholders(connections, "site.yml")
    issues = {issue.field: issue.message for issue in caught.value.issues}
    assert list(issues) == ["ansible_host", "ansible_user", "ansible_ssh_private_key_file"]
    assert "for lc-02; fill in the server's address" in issues["ansible_host"]
    assert "for lc-03;" in issues["ansible_user"]
    assert (
        "for lc-01, lc-02; fill in the path of the private key"
        in issues["ansible_ssh_private_key_file"]
    )
    assert all(issue.path == "site.yml" for issue in caught.value.issues)


def test_filled_in_connections_pass() -> None:
    refuse_placeholders(
        {"lc-01": Connection("lc-01", "192.0.2.1", user="root", key_file="/k")}, "x"
    )


def test_the_plan_hubs_are_hosts_and_each_centre_names_its_own(plan: Plan) -> None:
    hubs = [PlanHub(id="north-hub", host="10.9.0.2", centres=2), PlanHub(id="south-hub",
            host=None, centres=1)]  # fmt: skip
    served = {"lc-01": "north-hub", "lc-02": "north-hub", "lc-03": "south-hub"}
    centres = [c.model_copy(update={"hub": served[c.id]}) for c in plan.centres]
    skeleton = render_skeleton(plan.model_copy(update={"hubs": hubs, "centres": centres}))
    found = parsed(skeleton.text)["children"][HUBS]["hosts"]
    assert found == {"north-hub": {"ansible_host": "10.9.0.2"},
                     "south-hub": {"ansible_host": "FILL-IN-address"}}  # fmt: skip
    assert FillIn("south-hub", "ansible_host") in skeleton.fill_in
    assert "lc-03:  # wave 2, nuc-1t, 30 learners, through hub south-hub" in skeleton.text
    assert "--via" not in skeleton.text and "hubs: north-hub, south-hub" in skeleton.text
