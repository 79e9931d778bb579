"""playbooks/library/lpdeploy_file.py, the module that writes the roles' small files in one
module run each, run by real ansible-core on this machine (connection local)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

LIBRARY = Path(__file__).parents[3] / "playbooks" / "library"
ANSIBLE = Path(sys.executable).parent / "ansible"


def run(tmp_path: Path, *flags: str, **args: Any) -> dict[str, Any]:
    """The module's result on localhost, from Ansible's `HOST | STATE => {json}` output."""
    env = os.environ | {
        "ANSIBLE_LIBRARY": str(LIBRARY),
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.minimal",
        "ANSIBLE_NOCOLOR": "1",
    }
    done = subprocess.run(
        [str(ANSIBLE), "localhost", "-c", "local", "-i", "localhost,", "-m", "lpdeploy_file",
         "-a", json.dumps(args), *flags],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    head, _, body = done.stdout.partition(" => ")
    result: dict[str, Any] = json.loads(body)
    result["failed"] = "FAILED" in head  # the minimal callback leaves it out of the JSON
    return result


def test_writes_a_new_file_with_its_mode_then_finds_it_unchanged(tmp_path: Path) -> None:
    dest = tmp_path / "lpdeploy.conf"
    first = run(tmp_path, dest=str(dest), content="a = 1\n", mode="0640")
    assert first["changed"] is True and first["failed"] is False
    assert dest.read_text() == "a = 1\n"
    assert dest.stat().st_mode & 0o777 == 0o640
    again = run(tmp_path, dest=str(dest), content="a = 1\n", mode="0640")
    assert again["changed"] is False
    assert list(tmp_path.glob(".lpdeploy-*")) == []  # no temporary file left


def test_a_new_content_or_mode_is_a_change(tmp_path: Path) -> None:
    dest = tmp_path / "unit.service"
    dest.write_text("old\n")
    dest.chmod(0o644)
    assert run(tmp_path, dest=str(dest), content="new\n", mode="0644")["changed"] is True
    assert dest.read_text() == "new\n"
    assert run(tmp_path, dest=str(dest), content="new\n", mode="0755")["changed"] is True
    assert dest.stat().st_mode & 0o777 == 0o755


def test_check_mode_says_so_and_writes_nothing(tmp_path: Path) -> None:
    dest = tmp_path / "timezone"
    result = run(tmp_path, "--check", dest=str(dest), content="Africa/Ndjamena\n", mode="0644")
    assert result["changed"] is True
    assert not dest.exists()


def test_a_refused_validation_keeps_the_old_file(tmp_path: Path) -> None:
    dest = tmp_path / "sudoers"
    dest.write_text("old\n")
    result = run(tmp_path, dest=str(dest), content="broken\n", validate="grep -qx ok %s")
    assert result["failed"] is True
    assert "refused the new content" in result["msg"]
    assert dest.read_text() == "old\n"
    assert list(tmp_path.glob(".lpdeploy-*")) == []
    assert run(tmp_path, dest=str(dest), content="ok\n", validate="grep -qx ok %s")["changed"]
    assert dest.read_text() == "ok\n"


def test_the_content_is_never_in_the_result(tmp_path: Path) -> None:
    dest = tmp_path / "hostapd.conf"
    result = run(tmp_path, dest=str(dest), content="wpa_passphrase=s3cret-passphrase\n")
    assert result["changed"] is True
    assert "s3cret-passphrase" not in json.dumps(result)


def test_a_missing_folder_is_a_clear_failure(tmp_path: Path) -> None:
    dest = tmp_path / "missing" / "lpdeploy.conf"
    result = run(tmp_path, dest=str(dest), content="x\n")
    assert result["failed"] is True
    assert result["msg"] == f"the folder of {dest} does not exist"


def test_without_force_a_file_already_there_is_left_as_it_is(tmp_path: Path) -> None:
    """Staging ahead installs the bundle helper only where there is none: a server's own
    wave, not the staging run, brings it a new one."""
    dest = tmp_path / "lpdeploy-bundle"
    first = run(tmp_path, dest=str(dest), content="new\n", mode="0755", force=False)
    assert first["changed"] is True and dest.read_text() == "new\n"
    dest.write_text("old\n")
    dest.chmod(0o700)
    again = run(tmp_path, dest=str(dest), content="newer\n", mode="0755", force=False)
    assert again["changed"] is False and again["failed"] is False
    assert dest.read_text() == "old\n" and dest.stat().st_mode & 0o777 == 0o700
    assert run(tmp_path, dest=str(dest), content="newer\n", mode="0755")["changed"] is True
