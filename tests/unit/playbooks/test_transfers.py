"""Which way each copied file crosses the link: Ansible's piped `dd` for the roles' own small
files (runner/spec.py sets it), sftp for a file the run chooses, such as a package archive
of megabytes, where piped took twice sftp's time over a 10 mbit, 300 ms link."""

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


def copies() -> Iterator[tuple[Path, dict[str, Any]]]:
    for path in sorted(PLAYBOOKS.rglob("*.yml")):
        document = yaml.safe_load(path.read_text())
        if isinstance(document, list):
            for task in tasks_in(document):
                if "ansible.builtin.copy" in task:
                    yield path, task


def test_runs_send_small_files_piped() -> None:
    spec = build_spec(Path("/tmp/unused"), [], playbook=None)
    assert spec.envvars["ANSIBLE_SSH_TRANSFER_METHOD"] == "piped"


def test_a_file_the_run_chooses_goes_by_sftp() -> None:
    chosen = [(path, task) for path, task in copies()
              if str(task["ansible.builtin.copy"].get("src", "")).startswith("{{")]  # fmt: skip
    assert len(chosen) == 2  # the package archive, to a centre and to a hub
    for path, task in chosen:
        assert (task.get("vars") or {}).get("ansible_ssh_transfer_method") == "sftp", (
            path, task["name"])  # fmt: skip
    own = [task for _, task in copies() if "src" in task["ansible.builtin.copy"]]
    assert len(own) > len(chosen)
