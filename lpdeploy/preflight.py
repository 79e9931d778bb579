"""Pre-flight: before any Ansible work, can each centre's server be trusted and used?

Per host, in parallel threads, with paramiko: reachable; the host key is one pinned in a
known_hosts file (RejectPolicy: an unknown key is refused, never added); the login works;
free disk for the planned bundles; an architecture and Debian release the offline package
repository serves. Apply skips the hosts that fail, instead of Ansible spending its
timeouts on them. The same round reads the desired state each server last completed,
so that apply needs no Ansible round of its own to skip servers already there.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lpdeploy.connect import TIMEOUT, Connection, Connector, direct, known_name, pinned_client
from lpdeploy.plan.model import Plan, PlanCentre
from lpdeploy.readiness.report import CheckResult, ReadinessReport, centre_report

if TYPE_CHECKING:
    import paramiko

RETRY_AFTER = 1.0
RELEASES = ("bookworm",)
"""Debian releases the offline package repository is built for (the lab's base)."""
STATE_FILE = "/var/lib/lpdeploy/desired-state"
"""Where a server records the desired-state digest of its last complete apply."""
FACTS = (
    "echo free=$(stat -f -c '%a*%S' /srv 2>/dev/null || stat -f -c '%a*%S' /); "
    "echo held=$(du -sb /srv/lpdeploy/bundles 2>/dev/null | cut -f1); "
    "echo arch=$(dpkg --print-architecture); "
    '. /etc/os-release; echo "release=$VERSION_CODENAME"; '
    f"echo state=$(cat {STATE_FILE} 2>/dev/null)"
)
"""One `name=value` line per fact, whatever a server lacks (no bundles yet: held is empty)."""


@dataclass(frozen=True)
class Facts:
    free: int
    held: int
    arch: str
    release: str
    state: str = ""
    """The desired-state digest the server recorded; empty when it has none."""


@dataclass(frozen=True)
class Survey:
    report: ReadinessReport
    held: dict[str, str | None]
    """Per centre, the desired state its server holds (None: none, or not read)."""


def preflight(
    plan: Plan, connections: dict[str, Connection], files: list[Path], connect: Connector = direct
) -> ReadinessReport:
    """`connect` opens the TCP stream to a server (through a hub's SSH channels, for one)."""
    return survey(plan, connections, files, connect).report


def survey(
    plan: Plan, connections: dict[str, Connection], files: list[Path], connect: Connector = direct
) -> Survey:
    """Pre-flight, and the desired state each server holds, in one SSH round."""
    centres = [c for c in plan.centres if c.id in connections]
    with ThreadPoolExecutor(max_workers=max(1, min(32, len(centres)))) as pool:
        done = list(pool.map(lambda c: _checks(c, connections[c.id], files, connect), centres))
    reports = [
        centre_report(c.id, connections[c.id].address, checks)
        for c, (checks, _) in zip(centres, done, strict=True)
    ]
    report = ReadinessReport(
        plan=plan.profile.name, ready=all(r.ready for r in reports), centres=reports
    )
    held = {
        c.id: (facts.state or None) if facts else None
        for c, (_, facts) in zip(centres, done, strict=True)
    }
    return Survey(report=report, held=held)


def _checks(
    centre: PlanCentre, connection: Connection, files: list[Path], connect: Connector
) -> tuple[list[CheckResult], Facts | None]:
    """paramiko raises a bare EOFError when the server hangs up (as a centre behind a hub
    sometimes does just after an interrupted run), and `_facts` one when the connection went
    before the answer (a hub's, dropped: the tunnel opens a new one): once more after a
    second, then say so."""
    for attempt in (1, 2):
        try:
            return _checks_once(centre, connection, files, connect)
        except EOFError:
            if attempt == 1:
                time.sleep(RETRY_AFTER)
    where = f"{connection.address}:{connection.port}"
    closed = CheckResult(name="login", ok=False, detail="SSH: the server closed the connection")
    return [CheckResult(name="reachable", ok=True, detail=f"{where} answers"), closed], None


def _checks_once(
    centre: PlanCentre, connection: Connection, files: list[Path], connect: Connector
) -> tuple[list[CheckResult], Facts | None]:
    where = f"{connection.address}:{connection.port}"
    try:
        sock = connect(connection.address, connection.port)
    except OSError as exc:
        unreachable = CheckResult(
            name="reachable", ok=False, detail=f"{where}: {exc.strerror or exc}"
        )
        return [unreachable], None
    reachable = CheckResult(name="reachable", ok=True, detail=f"{where} answers")
    import paramiko  # here, not at the top: every lpdeploy command would pay its start-up

    try:
        client = pinned_client(connection, files, sock)
    except paramiko.BadHostKeyException as exc:
        detail = (
            f"HOST KEY CHANGED: pinned {_fingerprint(exc.expected_key)}, the server offers "
            f"{_fingerprint(exc.key)}. Either the server was reinstalled or this is not the "
            "centre's server: check with whoever installed it, then remove the old line from "
            f"the known_hosts that holds it ({', '.join(map(str, files))}) and run "
            "`lpdeploy trust INVENTORY`"
        )
        return [reachable, CheckResult(name="hostkey", ok=False, detail=detail)], None
    except paramiko.AuthenticationException as exc:
        pinned = CheckResult(name="hostkey", ok=True, detail="matches the pinned key")
        return [reachable, pinned, CheckResult(name="login", ok=False, detail=str(exc))], None
    except paramiko.SSHException as exc:
        if "not found in known_hosts" in str(exc):
            detail = (
                f"not pinned: no key for {known_name(connection)} in "
                f"{', '.join(map(str, files))}; check it and run `lpdeploy trust INVENTORY`"
            )
            return [reachable, CheckResult(name="hostkey", ok=False, detail=detail)], None
        return [reachable, CheckResult(name="login", ok=False, detail=f"SSH: {exc}")], None
    except OSError as exc:
        return [reachable, CheckResult(name="login", ok=False, detail=f"SSH: {exc}")], None
    try:
        key = client.get_transport().get_remote_server_key()  # type: ignore[union-attr]
        checks = [
            reachable,
            CheckResult(name="hostkey", ok=True, detail=f"pinned {_fingerprint(key)}"),
            CheckResult(name="login", ok=True, detail=f"as {connection.user or 'default user'}"),
        ]
        facts = _facts(client)
    except (paramiko.SSHException, OSError, ValueError) as exc:
        no_facts = CheckResult(name="platform", ok=False, detail=f"no facts: {exc}")
        return [*checks[:3], no_facts], None
    finally:
        client.close()
    return [*checks, _disk(centre, facts), _platform(centre, facts)], facts


def _facts(client: paramiko.SSHClient) -> Facts:
    _, stdout, _ = client.exec_command(FACTS, timeout=TIMEOUT)
    text = stdout.read().decode(errors="replace")
    if not text.strip():  # every line of FACTS prints something: the connection went first
        raise EOFError("the server closed the connection before it answered")
    found = dict(line.partition("=")[::2] for line in text.splitlines() if "=" in line)
    blocks, _, size = found.get("free", "").partition("*")
    return Facts(
        free=int(blocks) * int(size),
        held=int(found.get("held") or 0),
        arch=found.get("arch", ""),
        release=found.get("release", ""),
        state=found.get("state", "").strip(),
    )


def _disk(centre: PlanCentre, facts: Facts) -> CheckResult:
    room = facts.free + facts.held
    detail = (
        f"{facts.free / 1e9:.1f} GB free + {facts.held / 1e9:.1f} GB of bundles held, "
        f"{centre.bytes_total / 1e9:.1f} GB planned"
    )
    return CheckResult(name="disk", ok=room >= centre.bytes_total, detail=detail)


def _platform(centre: PlanCentre, facts: Facts) -> CheckResult:
    """The server is what the plan says it is: its packages are resolved for that."""
    if facts.arch != centre.arch:
        detail = (
            f"plan: {centre.hardware}, {centre.arch}; server: {facts.arch or '?'} "
            f"(Debian {facts.release or '?'}): correct the centre's hardware in the profile, "
            "or check that this is the centre's server"
        )
        return CheckResult(name="platform", ok=False, detail=detail)
    ok = facts.release in RELEASES
    detail = f"Debian {facts.release or '?'} on {facts.arch}"
    if not ok:
        detail += f"; the package repository serves {'/'.join(RELEASES)}"
    return CheckResult(name="platform", ok=ok, detail=detail)


def _fingerprint(key: paramiko.PKey) -> str:
    return f"{key.get_name()} {key.fingerprint}"
