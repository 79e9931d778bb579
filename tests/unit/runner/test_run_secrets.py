"""A run's secrets reach Ansible, and neither they nor the user's environment stay in the
run's folder (ansible-runner copies the environment into artifacts/*/command)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec

SECRET = "planted-in-vault-5e1"
USERS = "planted-in-env-a9c"


def test_secrets_arrive_and_nothing_stays(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_USER_TOKEN", USERS)
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    spec = build_spec(
        tmp_path / "run", inventory, module="ansible.builtin.debug",
        module_args="msg={{ lpdeploy_secret_x | length }}", secrets={"lpdeploy_secret_x": SECRET},
    )  # fmt: skip
    events = run_to_end(spec)
    said = [e["event_data"]["res"]["msg"] for e in events if e.get("event") == "runner_on_ok"]
    assert said == [len(SECRET)]
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert any(p.name == "command" for p in written)
    assert [p for p in written if SECRET.encode() in p.read_bytes()] == []
    assert [p for p in written if USERS.encode() in p.read_bytes()] == []
    assert not (tmp_path / "run" / "secrets.vault.yml").exists()
