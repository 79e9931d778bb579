"""bundle_loader's helper tasks are `raw`: one command line each, quoted by the task. Each
renders, with values that need quoting, to the argv the helper expects."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

TASKS = Path(__file__).parents[3] / "playbooks/roles/bundle_loader/tasks"
BUNDLES = [{"id": "it's", "version": "1 0", "files_sha256": "ab"}]
VARS: dict[str, Any] = {
    "bundle_loader_root": "/srv/a root",
    "lpdeploy_bundles": BUNDLES,
    "bundle_loader_keep": [{"id": "old", "version": "0"}],
    "bundle_loader_push_idle": True,
    "ansible_playbook_python": "/opt/py thon/bin/python",
    "role_path": "/roles/bundle loader",
    "bundle_loader_ssh": "ssh -o 'UserKnownHostsFile=/a b' -o ControlPath=/c/%C",
    "bundle_loader_remote": "root@10.0.0.2",
    "bundle_loader_missing": {"stdout": '[{"id": "it\'s", "version": "1 0"}]\n'},
    "bundle_loader_bwlimit_kib": 512,
    "bundle_loader_progress": "",
}


def command_line(tasks: str, name: str) -> list[str]:
    task = next(t for t in yaml.safe_load((TASKS / tasks).read_text()) if t["name"] == name)
    templar = Templar(loader=DataLoader(), variables=VARS)
    return shlex.split(templar.template(trust_as_template(task["ansible.builtin.raw"])))


def test_missing_and_install_get_the_root_and_the_bundles_as_one_argument_each() -> None:
    missing = command_line("stage.yml", "Find which planned bundles the server does not hold yet")
    assert missing[:3] == ["/usr/local/sbin/lpdeploy-bundle", "missing", "/srv/a root"]
    assert yaml.safe_load(missing[3]) == BUNDLES and len(missing) == 4
    install = command_line(
        "configure.yml", "Check pushed bundles, put them in place and remove unplanned ones"
    )
    assert install[:3] == ["/usr/local/sbin/lpdeploy-bundle", "install", "/srv/a root"]
    assert yaml.safe_load(install[3]) == BUNDLES
    assert yaml.safe_load(install[4]) == [{"id": "old", "version": "0"}] and len(install) == 5


def test_the_push_gets_its_priority_and_eight_arguments_an_empty_one_kept() -> None:
    push = command_line("stage.yml", "Push missing bundles into staging with rsync")
    assert push == [
        "LPDEPLOY_PUSH_IDLE=1",
        "/opt/py thon/bin/python",
        "/roles/bundle loader/files/lpdeploy-push",
        "ssh -o 'UserKnownHostsFile=/a b' -o ControlPath=/c/%C",
        "root@10.0.0.2",
        "/srv/a root",
        '[{"id": "it\'s", "version": "1 0"}]',
        "512",
        "",
    ]
