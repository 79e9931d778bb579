"""Which way each file crosses the link: the roles' own small files inside the module's run
(playbooks/library/lpdeploy_file.py: one command on the connection, where `copy` and
`template` cost five to seven), sftp for a file the run chooses, such as a package archive
of megabytes, where piped `dd` (runner/spec.py's choice for Ansible's own transfers) took
twice sftp's time over a 10 mbit, 300 ms link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from lpdeploy.runner.spec import build_spec

PLAYBOOKS = Path(__file__).parents[3] / "playbooks"


def tasks_in(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for item in items:
        for key in ("tasks", "pre_tasks", "post_tasks", "block", "rescue", "always"):
            yield from tasks_in(item.get(key) or [])
        yield item


def uses(module: str) -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(PLAYBOOKS.rglob("*.yml")):
        document = yaml.safe_load(path.read_text())
        if isinstance(document, list):
            for task in tasks_in(document):
                if module in task:
                    yield path, task


def test_runs_send_small_files_piped() -> None:
    spec = build_spec(Path("/tmp/unused"), [], playbook=None)
    assert spec.envvars["ANSIBLE_SSH_TRANSFER_METHOD"] == "piped"


def test_a_file_the_run_chooses_goes_by_sftp() -> None:
    chosen = list(uses("ansible.builtin.copy"))
    assert len(chosen) == 2  # the package archive, to a centre and to a hub
    for path, task in chosen:
        assert str(task["ansible.builtin.copy"]["src"]).startswith("{{"), (path, task["name"])
        assert (task.get("vars") or {}).get("ansible_ssh_transfer_method") == "sftp", (
            path, task["name"])  # fmt: skip


def test_the_roles_own_files_travel_inside_the_module_run() -> None:
    assert list(uses("ansible.builtin.template")) == []
    own = [task["lpdeploy_file"] for _, task in uses("lpdeploy_file")]
    assert len(own) >= 20
    looked_up = [args for args in own if "lookup(" in args["content"]]
    assert len(looked_up) >= 15  # the roles' files/ and templates/, rendered on the controller
