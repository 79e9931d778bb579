"""A run's shared SSH connections end with it, and their folder in the temporary directory
goes: ControlPersist would keep them a minute after the run, and the folder for good (a day
of test runs had left 847 of them)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

from lpdeploy.runner.relay import close_script
from lpdeploy.runner.run import close_connections, run_to_end
from lpdeploy.runner.spec import build_spec, control_path_dir


def test_a_runs_connection_folder_goes_when_it_ends(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    spec = build_spec(tmp_path / "run", inventory, module="ansible.builtin.ping")
    folder = control_path_dir(spec.private_data_dir)
    folder.mkdir()
    # A socket no master listens on any more, as one whose ssh was killed leaves it.
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(folder / "0123abcd"))
    events = run_to_end(spec)
    assert [e["event"] for e in events if e.get("event") == "runner_on_ok"] == ["runner_on_ok"]
    assert not folder.exists()


def test_connections_that_outlive_the_run_stay_until_their_owner_closes_them(
    tmp_path: Path,
) -> None:
    """apply's runs from this machine share one folder: a later server's staging run opens
    the connection its own wave then uses."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    localhost:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    shared = control_path_dir(tmp_path / "apply")
    spec = build_spec(tmp_path / "run", inventory, module="ansible.builtin.ping",
                      connections=shared)  # fmt: skip
    assert spec.envvars["ANSIBLE_SSH_CONTROL_PATH_DIR"] == str(shared)
    shared.mkdir()
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(shared / "0123abcd"))
    run_to_end(spec)
    assert (shared / "0123abcd").exists()
    assert not control_path_dir(spec.private_data_dir).exists()
    close_connections(shared)
    assert not shared.exists()


def test_the_hubs_end_of_run_script_closes_and_removes_the_folder(tmp_path: Path) -> None:
    """What a relayed run sends the hub as it ends, run here on a folder like the hub's."""
    folder = tmp_path / "lpd-cp-0123456789ab"
    folder.mkdir()
    with socket.socket(socket.AF_UNIX) as stale:
        stale.bind(str(folder / "0123abcd"))
    done = subprocess.run(["sh", "-c", close_script(str(folder))], capture_output=True, check=False)
    assert done.returncode == 0, done.stderr
    assert not folder.exists()
    # Run again, the folder gone (a run whose Ansible never connected): nothing to say.
    done = subprocess.run(["sh", "-c", close_script(str(folder))], capture_output=True, check=False)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
