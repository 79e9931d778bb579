"""The inventory skeleton an engineer fills in for a plan's real servers, and the check
that refuses one still holding its placeholders. Pure: no I/O."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import yaml

from lpdeploy.connect import Connection
from lpdeploy.errors import InputError, Issue
from lpdeploy.plan.model import Plan, PlanCentre

PLACEHOLDER = "FILL-IN"
"""Every value the engineer must replace starts with this; nothing real does."""
ADDRESS = f"{PLACEHOLDER}-address"
KEY_FILE = f"{PLACEHOLDER}-path-to-private-key"
CENTRES = "centres"
HUBS = "hubs"
HOST_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
PLAIN = re.compile(r"[A-Za-z0-9~/][A-Za-z0-9._/~-]*")
BREAKS = re.compile("[\r\n\x85\u2028\u2029]")

WHAT_TO_FILL = {
    "ansible_host": "the server's address or DNS name, as reached from where Ansible runs",
    "ansible_user": "the user that logs in (root: the playbooks do not use sudo)",
    "ansible_ssh_private_key_file": "the path of the private key that logs in as ansible_user",
}
FILLED_IN = ("ansible_host", "ansible_ssh_private_key_file")
"""What a skeleton leaves to fill in (ansible_user is root: the playbooks need it)."""


@dataclass(frozen=True)
class FillIn:
    """One value left for the engineer: `host` is a host name, or `all` for shared vars."""

    host: str
    field: str


@dataclass(frozen=True)
class Skeleton:
    text: str
    centres: list[str]
    hub: str | None
    fill_in: list[FillIn]


def render_skeleton(
    plan: Plan, hub: str | None = None, plan_file: str = "PLAN", inventory_file: str = "INVENTORY"
) -> Skeleton:
    """The YAML inventory of a plan's centres (host names: the centre ids), with the plan's
    `host` as ansible_host where it has one and placeholders elsewhere; with `hub`, a hub
    host too. `plan_file` and `inventory_file` only fill in the commands it suggests."""
    ids = [c.id for c in plan.centres]
    if hub is not None and (not HOST_NAME.fullmatch(hub) or hub in ids):
        why = "is a centre of the plan" if hub in ids else "is not a host name"
        raise InputError.single("--hub", f"{hub!r} {why}; expected another name for the hub")
    fill_in = [FillIn("all", "ansible_ssh_private_key_file")]
    files = (_one_line(shlex.quote(plan_file)), _one_line(shlex.quote(inventory_file)))
    lines = _header(plan, hub, *files)
    lines += [
        "all:",
        "  vars:",
        "    # The playbooks run as this user without sudo: root, logging in with a key",
        "    # (the servers' sshd: PermitRootLogin prohibit-password).",
        "    ansible_user: root",
        f"    ansible_ssh_private_key_file: {KEY_FILE}",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  children:",
    ]
    hubs = [(hub, None)] if hub is not None else [(h.id, h.host) for h in plan.hubs]
    if hubs:
        lines += [f"    {HUBS}:", "      hosts:"]
    for name, address in hubs:
        if not address:
            fill_in.append(FillIn(name, "ansible_host"))
        lines += [
            f"        {_plain(name)}:",
            "          # Its address as this machine reaches it. A key of its own, if it has",
            "          # one: ansible_ssh_private_key_file here (the centres share the one above).",
            f"          ansible_host: {_address(address)}",
        ]
    reached = (
        "the hub reaches them (its local network)" if hub
        else "its hub reaches each (see each one's note)" if plan.hubs
        else "this machine reaches them"
    )  # fmt: skip
    lines += [
        f"    {CENTRES}:",
        f"      # Addresses as {reached}. A centre that differs",
        "      # (another ansible_port, ansible_user or key) gets that variable under its name.",
        "      hosts:" if plan.centres else "      hosts: {}",
    ]
    for centre in sorted(plan.centres, key=lambda c: c.wave):  # stable: plan order in a wave
        lines += _centre(centre)
        if not centre.host:
            fill_in.append(FillIn(centre.id, "ansible_host"))
    return Skeleton("\n".join(lines) + "\n", ids, hub, fill_in)


def _header(plan: Plan, hub: str | None, plan_file: str, inventory: str) -> list[str]:
    count = f"{len(plan.centres)} centre{'s' if len(plan.centres) != 1 else ''}"
    through = f", reached through the hub {hub}" if hub else ""
    if hub is None and plan.hubs:
        through = f", {len(plan.hubs)} hub{'s' if len(plan.hubs) != 1 else ''} of its own"
    lines = [
        f"# The servers of plan {_one_line(plan.profile.name)}: {count}{through}.",
        "# Written by `lpdeploy inventory`. Host names are the plan's centre ids: keep them.",
        "#",
        f"# 1. Replace every {PLACEHOLDER}-... value (lpdeploy trust and preflight refuse",
        "#    this file until then):",
        *(f"#      {field}: {WHAT_TO_FILL[field]}" for field in FILLED_IN),
        f"# 2. Pin each server's host key: lpdeploy trust {inventory}",
    ]
    if hub is None and plan.hubs:
        return [
            *lines,
            "#    trust connects from this machine: pin the keys of centres only a hub reaches",
            "#    in $LPDEPLOY_HOME/known_hosts yourself.",
            f"# 3. Prepare each hub:    lpdeploy hub prepare HUB --kit KIT --inventory {inventory}",
            f"#    (hubs: {', '.join(h.id for h in plan.hubs)})",
            "# 4. Roll out (each hub runs its own centres, at once):",
            f"#    lpdeploy apply {plan_file} --kit KIT --inventory {inventory}",
            "",
        ]
    if hub is None:
        return [
            *lines,
            f"# 3. Check every server:  lpdeploy preflight {plan_file} --inventory {inventory}",
            f"# 4. Roll out:            lpdeploy apply {plan_file} --inventory {inventory}",
            "",
        ]
    return [
        *lines,
        "#    trust connects from this machine: centres that only the hub reaches show as",
        "#    unreachable; pin their keys in $LPDEPLOY_HOME/known_hosts yourself (or in a",
        "#    UserKnownHostsFile named in ansible_ssh_common_args).",
        f"# 3. Prepare the hub:     lpdeploy hub prepare {hub} --kit KIT --inventory {inventory}",
        "# 4. Roll out (pre-flight through the hub first):",
        f"#    lpdeploy apply {plan_file} --kit KIT --inventory {inventory} --via {hub}",
        "",
    ]


def _centre(centre: PlanCentre) -> list[str]:
    through = f", through hub {centre.hub}" if centre.hub else ""
    about = _one_line(f"wave {centre.wave}, {centre.hardware}, {centre.learners} learners{through}")
    return [
        f"        {_plain(centre.id)}:  # {about}",
        f"          ansible_host: {_address(centre.host)}",
    ]


def _address(host: str | None) -> str:
    return f"{_plain(host)}  # the plan's host" if host else ADDRESS


def _plain(value: str) -> str:
    """A YAML scalar that reads back as this very string (quoted where it would not)."""
    if PLAIN.fullmatch(value) and yaml.safe_load(value) == value:
        return value
    return json.dumps(value)


def _one_line(text: str) -> str:
    """Text for a comment: a line break in a hand-edited plan would end the comment."""
    return BREAKS.sub(" ", text)


def refuse_placeholders(connections: Mapping[str, Connection], inventory: str) -> None:
    """An input error naming, per field, the hosts whose value is still a skeleton's
    placeholder, and what to fill in: rather than trying to connect to `FILL-IN-address`."""
    left: dict[str, list[str]] = {}
    for name in sorted(connections):
        connection = connections[name]
        values = {
            "ansible_host": connection.address,
            "ansible_user": connection.user,
            "ansible_ssh_private_key_file": connection.key_file,
        }
        for field, value in values.items():
            if value.startswith(PLACEHOLDER):
                left.setdefault(field, []).append(name)
    issues = [
        Issue(
            inventory,
            None,
            field,
            f"still a {PLACEHOLDER}-... placeholder for {', '.join(left[field])}; fill in {what}",
        )
        for field, what in WHAT_TO_FILL.items()
        if field in left
    ]
    if issues:
        raise InputError(issues)
