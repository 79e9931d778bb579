"""binfmt_misc registration for foreign lab servers: made, shared, and put back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from lpdeploy.errors import RC, LpdeployError
from lpdeploy.lab import emulation
from lpdeploy.lab.emulation import BINFMT, ensure_emulation, interpreter
from lpdeploy.lab.system import LabError

needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not interpreter("arm64").exists(),
    reason="registers binfmt rules: needs root and qemu-user-static (CI has both)",
)
ENTRY = BINFMT / "qemu-aarch64"
OTHER = (
    ":qemu-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00"
    "\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff"
    "\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:/usr/bin/qemu-aarch64-static:"
)
"""A rule someone else made: same magic, no flag F."""


def registered() -> str | None:
    return ENTRY.read_text() if ENTRY.exists() else None


@needs_root
def test_the_last_lab_out_puts_back_what_was_there(tmp_path: Path) -> None:
    record = tmp_path / "emulation.json"
    mounted = (BINFMT / "register").exists()
    if not mounted:
        subprocess.run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)], check=True)
    # The machine's lock held throughout: no lab or package build of another test worker
    # registers, relies on or removes the rule meanwhile (they wait).
    with emulation.locked():
        if registered() is not None:
            pytest.skip("this machine has a qemu-aarch64 rule in use: the test leaves it be")
        (BINFMT / "register").write_text(OTHER)
        try:
            theirs = registered()
            assert theirs is not None and "flags: \n" in theirs
            emulation._ensure("arm64", "one", record)
            emulation._ensure("arm64", "two", record)
            ours = registered()
            assert ours is not None and "flags: F" in ours
            emulation._release("one", record)
            assert registered() == ours  # lab two still runs arm64 servers
            emulation._release("two", record)
            assert registered() == theirs
            assert not record.exists()
        finally:
            if ENTRY.exists():
                ENTRY.write_text("-1")
            if not mounted:
                subprocess.run(["umount", str(BINFMT)], check=False)


def test_a_kernel_without_binfmt_misc_is_said_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulation, "BINFMT", tmp_path / "binfmt_misc")
    monkeypatch.setattr(emulation, "machine_arch", lambda: "amd64")
    monkeypatch.setattr(emulation, "interpreter", lambda arch: Path("/bin/sh"))
    monkeypatch.setattr(emulation, "RULES", tmp_path)
    (tmp_path / "qemu-aarch64.conf").write_text(":qemu-aarch64:M::x:y:/q:OCF\n")

    def no_mount(command: list[str], **kwargs: object) -> str:
        raise LabError("mount: unknown filesystem type 'binfmt_misc'")

    monkeypatch.setattr(emulation, "run", no_mount)
    with pytest.raises(LpdeployError, match="modprobe binfmt_misc") as said:
        ensure_emulation("arm64", "one", tmp_path / "record.json")
    assert said.value.exit_code == RC.INPUT


def test_without_qemu_the_install_command_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(emulation, "machine_arch", lambda: "amd64")
    monkeypatch.setattr(emulation, "interpreter", lambda arch: tmp_path / "no-qemu")
    with pytest.raises(LpdeployError, match="apt-get install -y qemu-user-static") as said:
        ensure_emulation("arm64", "one", tmp_path / "record.json")
    assert said.value.exit_code == RC.ENVIRONMENT


def test_each_emulated_block_is_a_user_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two package builds at once both named themselves "package-repo": the first out was
    the last out, as the record said, and took the rule away under the other."""
    calls: list[tuple[str, str]] = []
    monkeypatch.setattr(emulation, "ensure_emulation", lambda arch, u: calls.append(("+", u)))
    monkeypatch.setattr(emulation, "release_emulation", lambda u: calls.append(("-", u)))
    with emulation.emulated("arm64", "package-repo"), emulation.emulated("arm64", "package-repo"):
        pass
    users = [user for _, user in calls]
    assert [sign for sign, _ in calls] == ["+", "+", "-", "-"] and len(set(users)) == 2
    assert all(u.startswith(f"package-repo:{os.getpid()}:") for u in users)


def test_a_block_whose_process_is_gone_no_longer_counts(tmp_path: Path) -> None:
    record = tmp_path / "emulation.json"
    gone = subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True).stdout.strip()
    users = ["hub", f"package-repo:{os.getpid()}:0a1b2c3d", f"base-build:{gone}:4e5f6a7b"]
    record.write_text(json.dumps({"arm64": {"labs": users}}))
    assert emulation._load(record)["arm64"].labs == users[:2]
