"""Pre-flight's reading of a server's facts and its verdicts on them."""

from __future__ import annotations

import contextlib
import io
import socket
import subprocess
import threading
from dataclasses import replace
from typing import Any, cast

import pytest

from lpdeploy.connect import Connection, direct, known_name
from lpdeploy.lab.emulation import machine_arch
from lpdeploy.plan.model import PlanCentre
from lpdeploy.preflight import FACTS, Facts, _checks, _facts, _platform


class FakeClient:
    """Runs the facts command in a local shell, as a server's would."""

    def __init__(self, script: str) -> None:
        self.script = script

    def exec_command(self, command: str, timeout: float) -> tuple[None, io.BytesIO, None]:
        assert command == FACTS
        done = subprocess.run(["sh", "-c", self.script], capture_output=True, check=True)
        return None, io.BytesIO(done.stdout), None


def client(script: str) -> Any:
    return FakeClient(script)


def test_facts_of_a_server_with_bundles() -> None:
    out = "echo free=100*4096; echo held=5000; echo arch=arm64; echo release=bookworm"
    assert _facts(client(out)) == Facts(free=409600, held=5000, arch="arm64", release="bookworm")


def test_facts_of_a_bare_server_hold_no_bundles() -> None:
    out = "echo free=7*512; echo held=; echo arch=amd64; echo release=bookworm"
    assert _facts(client(out)) == Facts(free=3584, held=0, arch="amd64", release="bookworm")


def test_facts_carry_the_desired_state_the_server_recorded() -> None:
    out = "echo free=1*1; echo held=; echo arch=amd64; echo release=bookworm; echo state=ab12"
    assert _facts(client(out)).state == "ab12"
    assert _facts(client(out.replace("state=ab12", "state="))).state == ""


def test_the_facts_command_runs_in_a_shell_here() -> None:
    facts = _facts(client(FACTS))
    assert facts.free > 0 and facts.arch == machine_arch()


def test_no_disk_answer_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        _facts(client("echo arch=amd64"))


def test_no_answer_at_all_is_a_closed_connection_tried_once_more() -> None:
    """Through a hub whose connection dropped mid-command, the command's output comes back
    empty: an EOFError, which pre-flight tries once more (once said as "no facts: invalid
    literal for int() with base 10: ''")."""
    with pytest.raises(EOFError, match="closed the connection"):
        _facts(client("true"))


def centre(hardware: str = "rpi4-128g", arch: str = "arm64") -> PlanCentre:
    return PlanCentre.model_validate({
        "id": "c", "host": None, "wave": 1, "hardware": hardware, "arch": arch,
        "storage_budget_bytes": 0, "services": [], "bundles": [], "bytes_total": 0,
        "learners": 1, "languages": ["en"], "timezone": "UTC",
    })  # fmt: skip


@pytest.mark.parametrize(
    ("release", "arch", "ok"),
    [("bookworm", "arm64", True), ("bullseye", "arm64", False), ("bookworm", "amd64", False)],
)
def test_platform(release: str, arch: str, ok: bool) -> None:
    verdict = _platform(centre(), Facts(free=1, held=0, arch=arch, release=release))
    assert verdict.ok is ok
    assert release in verdict.detail


def test_an_architecture_other_than_the_plans_names_both() -> None:
    facts = Facts(free=1, held=0, arch="amd64", release="bookworm")
    verdict = _platform(centre("rpi4-128g", "arm64"), facts)
    assert not verdict.ok
    assert verdict.detail.startswith("plan: rpi4-128g, arm64; server: amd64")
    verdict = _platform(centre("nuc-512g", "amd64"), replace(facts, arch="arm64"))
    assert verdict.detail.startswith("plan: nuc-512g, amd64; server: arm64")


def test_known_name_brackets_a_port_other_than_22() -> None:
    assert known_name(Connection(host="c", address="10.0.0.1")) == "10.0.0.1"
    assert known_name(Connection(host="c", address="10.0.0.1", port=2222)) == "[10.0.0.1]:2222"


def test_a_server_that_hangs_up_mid_handshake_fails_login_after_one_more_try() -> None:
    """paramiko raises a bare EOFError when the server closes cleanly after its banner (as a
    centre behind a hub can): pre-flight tries once more, then says so; it never escapes."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(5)
    accepted: list[int] = []

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                while conn.recv(65536):
                    pass
            conn.shutdown(socket.SHUT_RDWR)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    try:
        connection = Connection(host="c", address="127.0.0.1", port=server.getsockname()[1])
        checks, facts = _checks(cast(PlanCentre, None), connection, [], direct)
    finally:
        server.close()
    assert facts is None and len(accepted) == 2
    assert [(c.name, c.ok) for c in checks] == [("reachable", True), ("login", False)]
    assert checks[1].detail == "SSH: the server closed the connection"
