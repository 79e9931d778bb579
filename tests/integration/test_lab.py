"""The lab fleet: real Debian servers with systemd, SSH and no way out."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from lpdeploy.lab.fleet import DISK_GB, Lab
from lpdeploy.lab.state import HostState, LabState
from lpdeploy.runner.reduce import reduce_events
from lpdeploy.runner.run import run_to_end
from lpdeploy.runner.spec import build_spec


def hosts(lab: Lab) -> list[HostState]:
    state = lab.status()
    assert state is not None
    return state.hosts


def ssh(
    lab: Lab, host: HostState, *command: str, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        lab.ssh_command(host, *command),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_each_server_answers_at_its_own_address_with_a_pinned_key(lab: Lab) -> None:
    pinned = lab.known_hosts.read_text().splitlines()
    servers = hosts(lab)
    assert len({h.address for h in servers}) == len(servers) == 3
    for host in servers:
        assert any(line.startswith(f"{host.address} ssh-ed25519 ") for line in pinned)
        done = ssh(lab, host, "hostname; systemctl is-system-running; cat /proc/1/comm")
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == [host.id, "running", "systemd"]


def test_a_wrong_host_key_is_refused(lab: Lab, tmp_path: Path) -> None:
    host = hosts(lab)[0]
    other = hosts(lab)[1]
    wrong = tmp_path / "known_hosts"
    key = next(
        line
        for line in lab.known_hosts.read_text().splitlines()
        if line.startswith(f"{other.address} ")
    )
    wrong.write_text(key.replace(other.address, host.address) + "\n")
    command = [a.replace(str(lab.known_hosts), str(wrong)) for a in lab.ssh_command(host, "true")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode != 0
    assert "HOST IDENTIFICATION HAS CHANGED" in done.stderr or "verification failed" in done.stderr


def test_servers_do_not_share_files(lab: Lab) -> None:
    first, second = hosts(lab)[:2]
    assert ssh(lab, first, "echo mine > /root/only-here").returncode == 0
    assert ssh(lab, first, "cat /root/only-here").stdout.strip() == "mine"
    assert ssh(lab, second, "test -e /root/only-here").returncode == 1


def test_no_server_reaches_outside_the_lab(lab: Lab) -> None:
    for host in hosts(lab):
        routes = ssh(lab, host, "ip route show default; ip -6 route show default").stdout
        assert routes.strip() == ""
        # No route: the kernel refuses at once, without a packet leaving the namespace.
        probe = ssh(
            lab,
            host,
            "python3 -c \"import socket; socket.create_connection(('192.0.2.1', 80), 2)\"",
        )
        assert probe.returncode != 0
        assert "unreachable" in probe.stderr.lower()


def test_each_server_has_its_own_bounded_srv_disk(lab: Lab) -> None:
    sizes = {}
    for host in hosts(lab):
        done = ssh(lab, host, "findmnt -n -o SOURCE,FSTYPE /srv; stat -f -c '%b %S' /srv")
        source, blocks = done.stdout.splitlines()
        assert source.split()[1] == "ext4"
        sizes[host.id] = int(blocks.split()[0]) * int(blocks.split()[1])
    assert all(0.9 * DISK_GB * 10**9 < size <= DISK_GB * 10**9 for size in sizes.values()), sizes
    first, second = hosts(lab)[:2]
    assert ssh(lab, first, "fallocate -l 1G /srv/big && df --output=used -B1 /srv").returncode == 0
    try:
        used = ssh(lab, second, "df --output=used -B1 /srv | tail -1").stdout
        assert int(used) < 10**9
    finally:
        ssh(lab, first, "rm -f /srv/big")


def test_a_server_clock_set_off_and_back(lab: Lab) -> None:
    host = hosts(lab)[0]
    lab.clock(host.id, -86400)
    try:
        # A new connection (no shared control socket): the offset applies to new sessions.
        skewed = int(ssh(lab, host, "date +%s").stdout) - time.time()
    finally:
        lab.clock(host.id, 0)
    assert -86400 - 30 < skewed < -86400 + 30
    assert abs(int(ssh(lab, host, "date +%s").stdout) - time.time()) < 30


def test_ansible_ping_through_ansible_runner(lab: Lab, tmp_path: Path) -> None:
    spec = build_spec(tmp_path / "run", lab.inventory, module="ansible.builtin.ping")
    state = reduce_events(run_to_end(spec))
    assert state.complete
    assert {name: h.outcome for name, h in state.hosts.items()} == {
        "centre-01": "ok",
        "centre-02": "ok",
        "centre-03": "ok",
    }


def test_cut_and_heal(lab: Lab) -> None:
    host = hosts(lab)[2]
    lab.cut(host.id)
    try:
        assert ssh(lab, host, "true", timeout=30).returncode == 255
        assert next(h for h in hosts(lab) if h.id == host.id).cut
    finally:
        lab.heal(host.id)
    assert ssh(lab, host, "true").returncode == 0


def test_stop_and_start(lab: Lab) -> None:
    host = hosts(lab)[1]
    lab.stop(host.id)
    assert next(h for h in hosts(lab) if h.id == host.id).status == "stopped"
    assert ssh(lab, host, "true", timeout=30).returncode == 255
    lab.start(host.id)
    assert ssh(lab, host, "systemctl is-system-running").stdout.strip() == "running"


def test_up_again_is_a_no_op_and_resizes(lab: Lab) -> None:
    before = {h.id: h.pid for h in hosts(lab)}
    lab.up(list(before))
    assert {h.id: h.pid for h in hosts(lab)} == before
    lab.up([*before, "centre-04"])
    assert [h.id for h in hosts(lab)] == [*before, "centre-04"]
    lab.up(list(before))
    assert {h.id: h.pid for h in hosts(lab)} == before


def lab_leftovers(name: str, state: LabState) -> list[str]:
    found = []
    netns = subprocess.run(
        ["ip", "netns", "list"], capture_output=True, text=True, check=True
    ).stdout
    found += [line for line in netns.splitlines() if line.startswith(f"lpd-{name}-")]
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    found += [line for line in links.splitlines() if line.startswith((f"lpd{name}", state.bridge))]
    found += [
        line for line in Path("/proc/mounts").read_text().splitlines() if f"/lab/{name}/" in line
    ]
    found += [str(p) for p in Path("/sys/fs/cgroup").glob(f"*/lpdeploy-{name}")]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True, check=True).stdout
    found += [line for line in loops.splitlines() if f"/lab/{name}/" in line]
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if f"/lab/{name}/" in cmdline:
            found.append(f"process {proc.name}: {cmdline[:80]}")
    return found


def test_down_leaves_nothing_behind() -> None:
    lab = Lab("tdown")
    state = lab.up(["lonely-01", "lonely-02"])
    assert lab_leftovers("tdown", state)
    lab.down()
    assert lab_leftovers("tdown", state) == []
    assert not lab.dir.exists()
    assert lab.status() is None
