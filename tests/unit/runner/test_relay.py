"""The relay's transmit / worker / process round trip, with the hub played by this machine:
its "ssh" runs the worker's command in a local shell, so the whole stream is real."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from lpdeploy.connect import Connection
from lpdeploy.runner import hub as hubs
from lpdeploy.runner.hub import Hub
from lpdeploy.runner.relay import _on_hub, _stage, relay_problem
from lpdeploy.runner.run import run_to_end, start_run
from lpdeploy.runner.spec import build_spec

from .test_job import gone, local_inventory, sleeper

SECRET = "relayed-secret-77f"


class LocalHub(Hub):
    def ssh(self, script: str) -> list[str]:
        return ["sh", "-c", script]


@pytest.fixture(name="hub")
def fixture_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hub:
    monkeypatch.setattr(hubs, "ROOT", str(tmp_path / "hub"))
    monkeypatch.setattr(hubs, "VENV", sys.prefix)
    return LocalHub(name="hub", connection=Connection(host="hub", address="127.0.0.1"),
                    known_hosts=())  # fmt: skip


def test_a_relayed_run_streams_events_back_and_leaves_nothing_on_the_hub(
    tmp_path: Path, hub: Hub
) -> None:
    spec = build_spec(
        tmp_path / "run", local_inventory(tmp_path), module="ansible.builtin.debug",
        module_args="msg={{ lpdeploy_secret_x | length }}", limit="here",
        secrets={"lpdeploy_secret_x": SECRET}, via=hub,
    )  # fmt: skip
    events = run_to_end(spec)
    said = [e["event_data"]["res"]["msg"] for e in events if e.get("event") == "runner_on_ok"]
    assert said == [len(SECRET)]
    assert any(e.get("event") == "playbook_on_stats" for e in events)
    assert list((tmp_path / "hub" / "jobs").iterdir()) == []  # job folder and pid file gone
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert [p for p in written if SECRET.encode() in p.read_bytes()] == []


def test_cancel_reaches_the_worker_and_all_under_it(tmp_path: Path, hub: Hub) -> None:
    spec = build_spec(
        tmp_path / "run", local_inventory(tmp_path), module="ansible.builtin.command",
        module_args=sleeper(tmp_path / "sleeper.pid"), limit="here", via=hub,
    )  # fmt: skip
    run = start_run(spec)
    jobs = tmp_path / "hub" / "jobs"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(jobs.glob("*.pid")):
        time.sleep(0.1)
    pid = int(next(jobs.glob("*.pid")).read_text())
    time.sleep(2)
    started = time.monotonic()
    run.cancel()
    while not run.finished and time.monotonic() - started < 60:
        time.sleep(0.1)
    assert run.finished and time.monotonic() - started < 30
    assert not Path(f"/proc/{pid}").exists()
    assert list(jobs.iterdir()) == []
    # The command Ansible's worker ran (in a session of its own) ended with it.
    assert gone(int((tmp_path / "sleeper.pid").read_text()))


def test_the_job_is_staged_with_the_hubs_paths(tmp_path: Path) -> None:
    inventory = local_inventory(tmp_path)
    pinned = tmp_path / "known_hosts"
    pinned.write_text("10.1.1.12 ssh-ed25519 AAAA\n")
    script = tmp_path / "check.py"
    script.write_text("print(1)\n")
    spec = build_spec(
        tmp_path / "run", [inventory, inventory], module="ansible.builtin.script",
        module_args=f"{script} arg", limit="a,b", known_hosts=[pinned], files=[script],
        extravars={"lpdeploy_push_progress": str(tmp_path / "run" / "pushes"), "n": 1},
    )  # fmt: skip
    job = "/var/lib/lpdeploy-hub/jobs/x1"
    _stage(spec, spec.private_data_dir, job)
    staged = spec.private_data_dir
    assert sorted(p.name for p in (staged / "inventory").iterdir()) == [
        "00-inventory.yml", "01-inventory.yml", "99-hub.yml",
    ]  # fmt: skip
    settings = yaml.safe_load((staged / "inventory" / "99-hub.yml").read_text())
    assert set(settings["all"]["hosts"]) == {"a", "b"}
    assert (
        f"UserKnownHostsFile={job}/known_hosts"
        in settings["all"]["hosts"]["a"]["ansible_ssh_common_args"]
    )
    assert (staged / "known_hosts").read_text() == pinned.read_text()
    assert (staged / "project" / "check.py").exists()
    there = _on_hub(spec, staged, job)
    assert there.module_args == f"{job}/project/check.py arg"
    assert there.envvars["ANSIBLE_HOME"] == f"{job}/ansible"
    assert str(staged) not in json.dumps(there.envvars)
    assert there.envvars["PATH"].startswith(f"{hubs.VENV}/bin:")
    assert there.extravars == {"lpdeploy_push_progress": f"{job}/pushes", "n": 1}


def test_the_centres_key_reaches_ssh_agent_on_the_hub_and_no_file(tmp_path: Path, hub: Hub) -> None:
    key = tmp_path / "centres_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    fingerprint = subprocess.run(
        ["ssh-keygen", "-l", "-f", str(key)], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    with_key = dataclasses.replace(hub, centre_key=key)
    spec = build_spec(
        tmp_path / "run", local_inventory(tmp_path), module="ansible.builtin.command",
        module_args="ssh-add -l", limit="here", via=with_key,
    )  # fmt: skip
    events = run_to_end(spec)
    said = [e["event_data"]["res"]["stdout"] for e in events if e.get("event") == "runner_on_ok"]
    assert len(said) == 1 and fingerprint in said[0]
    secret = key.read_bytes().splitlines()[1]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != key]
    assert [p for p in written if secret in p.read_bytes()] == []


def test_a_hub_without_lpdeploy_says_so(
    tmp_path: Path, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hubs, "VENV", str(tmp_path / "no-venv"))
    spec = build_spec(
        tmp_path / "run", local_inventory(tmp_path), module="ansible.builtin.ping", limit="here",
        via=hub,
    )  # fmt: skip
    events = run_to_end(spec)
    assert not any(e.get("event") == "playbook_on_stats" for e in events)
    assert "run `lpdeploy hub prepare`" in relay_problem(spec)


class GarbledHub(Hub):
    """A hub whose worker answers with a broken stream."""

    def ssh(self, script: str) -> list[str]:
        if "worker" not in script:
            return ["true"]
        return ["sh", "-c", "cat >/dev/null; echo '{\"zipfile\": 100}'; echo garbage"]


def test_a_broken_stream_is_said_not_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    hub = GarbledHub(name="hub", connection=Connection(host="hub", address="x"), known_hosts=())
    spec = build_spec(
        tmp_path / "run", local_inventory(tmp_path), module="ansible.builtin.ping", limit="here",
        via=hub,
    )  # fmt: skip
    assert run_to_end(spec) == []
    assert "the job's stream broke" in relay_problem(spec)
    assert "Traceback" not in capfd.readouterr().err


def test_a_relayed_runs_push_progress_is_read_on_the_hub_as_it_changes(
    tmp_path: Path, hub: Hub
) -> None:
    script = tmp_path / "push.sh"  # a push that writes its progress file as it goes
    script.write_text(
        'mkdir -p "$1"\nfor i in 1 2 3 4 5 6 7 8; do\n'
        '  printf \'{"done": %d, "total": 8, "rate": 1}\' "$i" > "$1/here.json.new"\n'
        '  mv "$1/here.json.new" "$1/here.json"; sleep 0.5\ndone\n'
    )
    spec = build_spec(
        tmp_path / "run", local_inventory(tmp_path), module="ansible.builtin.script",
        module_args=f"{script} {{{{ lpdeploy_push_progress }}}}", limit="here", via=hub,
        files=[script], extravars={"lpdeploy_push_progress": str(tmp_path / "run" / "pushes")},
    )  # fmt: skip
    run = start_run(spec)
    seen = set()
    while not run.finished:
        state = run.push_files.get("here")
        if state:
            seen.add(json.loads(state)["done"])
        time.sleep(0.2)
    assert len(seen) >= 3 and seen <= set(range(1, 9)), seen  # read while it ran, not at the end
    assert list((tmp_path / "hub" / "jobs").iterdir()) == []
