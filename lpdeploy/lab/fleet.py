"""The lab fleet: create, boot, wait for, fault and remove lab servers, from a state file."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
import zlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.errors import InputError, MissingToolError, NotRightError
from lpdeploy.lab import network
from lpdeploy.lab.base import ensure_base
from lpdeploy.lab.emulation import ensure_emulation, machine_arch, release_emulation
from lpdeploy.lab.shaping import LinkShape, clear_link, shape_link, stop_relay
from lpdeploy.lab.state import HostState, LabState, load_state, save_state
from lpdeploy.lab.system import LAB_ROOT, LabError, alive, require_lab_tools, run

CACHE = Path(os.environ.get("LPDEPLOY_CACHE", "/var/cache/lpdeploy")) / "lab"
LAUNCHER = Path(__file__).with_name("launcher.sh")
CGROUP_ROOTS = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))
INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")
BOOT_TIMEOUT = 120.0
EMULATED_SLOWER = 6
"""Boot takes a server of another architecture (emulated) up to this many times longer."""
STOP_TIMEOUT = 20.0
EMULATED_STOP = 5.0
"""An emulated server's poweroff hangs (measured): SIGKILL after this long."""
DISK_GB = int(os.environ.get("LPDEPLOY_LAB_DISK_GB", "64"))
"""Size of each server's own /srv disk: a sparse ext4 image, so it costs only what is written."""
FAKETIME_LIB = "libfaketime.so.1"
SUBNETS = {"main": "10.77.0", "test": "10.78.0"}
"""Other lab names get 10.N.0.0/24 with N from 100 to 199, derived from the name."""
_LAUNCHERS: dict[int, subprocess.Popen[bytes]] = {}
"""Launchers this process started, by PID, reaped when a Lab stops them (servers left
running outlive the Lab object that started them, as after `rehearse`; PID 1 reaps those
this process did not start)."""


@dataclass(frozen=True)
class BootResult:
    host: str
    ok: bool
    detail: str


class Lab:
    """One named lab: its servers, bridge, key, known_hosts and inventory."""

    def __init__(self, name: str = "main", root: Path | None = None, cache: Path | None = None):
        if not name.isalnum() or len(name) > 8 or not name.islower():
            raise InputError.single(name, "a lab name is 1-8 lowercase letters or digits", "--lab")
        self.name = name
        self.dir = (root or LAB_ROOT) / name
        self.cache = cache or CACHE
        self.state_file = self.dir / "state.json"
        self.key = self.dir / "id_ed25519"
        self.known_hosts = self.dir / "known_hosts"
        self.inventory = self.dir / "inventory.yml"

    # -- what the CLI and the tests call ------------------------------------------------

    def up(
        self,
        names: list[str],
        hub: str | None = None,
        arches: dict[str, str] | None = None,
        hubs: dict[str, list[str]] | None = None,
    ) -> LabState:
        """Make the lab hold exactly these servers, booted and answering SSH. `hubs`: servers
        that each join this machine's network and a network of their own with the centres
        listed for them, which only they reach (`hub`: one hub with every centre behind it).
        `arches`: a server's Debian architecture where it is not this machine's (emulated)."""
        require_lab_tools()
        if hub is not None:
            hubs = {hub: [n for n in names if n != hub]}
        hubs = hubs or {}
        behind = {centre: h for h, centres in hubs.items() for centre in centres}
        names = [*hubs, *[n for n in names if n not in hubs]]
        arch_of = {name: (arches or {}).get(name) or machine_arch() for name in names}
        state = self._load() or LabState(
            name=self.name, subnet=subnet_of(self.name), bridge=f"lpdbr-{self.name}"
        )
        had = {h.id: h.behind for h in state.hosts if h.status != "creating"}
        if state.hosts and (state.hubs != list(hubs) or any(
            had.get(n, behind.get(n)) != behind.get(n) for n in names
        )):  # fmt: skip
            raise InputError.single(
                self.name, "the lab exists with another topology: `lpdeploy lab down` it first",
                "--hubs",
            )  # fmt: skip
        self.dir.mkdir(parents=True, exist_ok=True)
        self._save(state)
        for arch in sorted(set(arch_of.values())):
            ensure_emulation(arch, self.name)
        wanted = sorted({machine_arch(), *arch_of.values()})
        with ThreadPoolExecutor(max_workers=len(wanted)) as pool:  # downloads overlap
            built = pool.map(lambda arch: str(ensure_base(self.cache, arch)), wanted)
            bases = dict(zip(wanted, built, strict=True))
        state.base = bases[machine_arch()]
        self._ensure_key()
        network.ensure_bridge(state.bridge, state.gateway)
        state.hubs = list(hubs)
        self._save(state)
        for number in range(1, len(hubs) + 1):
            network.ensure_bridge(self.far_bridge(number), None)
            network.refuse_route(state.far_subnet_of(number), present=True)
        for host in [h for h in state.hosts if h.id not in names or h.arch != arch_of[h.id]]:
            self._destroy(state, host)
        self._tune_inotify(state, len(names))
        for name in names:
            host = state.host(name) or self._create(
                state, name, arch_of[name], bases, behind.get(name)
            )
            if host.status != "running":
                self._start(state, host)
        results = self._wait(state, [h for h in state.hosts])
        self._write_inventory(state)
        failed = [r for r in results if not r.ok]
        if failed:
            lines = "".join(f"\n  {r.host}: {r.detail}" for r in failed)
            raise NotRightError(f"{len(failed)} lab servers did not come up:{lines}")
        return state

    def far_bridge(self, number: int) -> str:
        """The bridge of hub `number`'s network (interface names hold 15 characters)."""
        return f"lpdfar-{self.name}" if number == 1 else f"lpdf{number}-{self.name}"

    def down(self) -> None:
        """Stop and remove everything the state file says the lab made."""
        state = self._load()
        if state is None:
            return
        if os.geteuid() != 0:
            require_lab_tools()
        for host in list(state.hosts):
            self._destroy(state, host)
        network.remove_bridge(state.bridge)
        for number in range(1, len(state.hubs) + 1):
            network.remove_bridge(self.far_bridge(number))
            network.refuse_route(state.far_subnet_of(number), present=False)
        if state.inotify_restore is not None:
            INOTIFY.write_text(f"{state.inotify_restore}\n")
        for path in (
            self.state_file,
            self.known_hosts,
            self.inventory,
            self.key,
            self.key.with_suffix(".pub"),
        ):
            path.unlink(missing_ok=True)
        for cgroup in self._lab_cgroups():
            _remove_cgroup_tree(cgroup)
        release_emulation(self.name)
        for folder in (self.dir / "hosts", self.dir):
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()

    def status(self) -> LabState | None:
        state = self._load()
        if state is not None:
            for host in state.hosts:
                if host.status == "running" and not alive(host.pid):
                    host.status = "stopped"
        return state

    def cut(self, host_id: str) -> None:
        state, host = self._existing(host_id)
        network.set_link(host.veth, up=False)
        host.cut = True
        self._save(state)

    def heal(self, host_id: str) -> None:
        state, host = self._existing(host_id)
        network.set_link(host.veth, up=True)
        host.cut = False
        self._save(state)

    def shape(self, host_id: str, shape: LinkShape | None, far: bool = False) -> LinkShape | None:
        """Shape a server's link (a hub's link to its centres with `far`), or with None put
        it back as it was; the shape as it now stands."""
        state, host = self._existing(host_id)
        if far and not host.far_veth:
            raise InputError.single(host_id, "only a hub has a far link (its centres' network)")
        outside, inside = (host.far_veth, "eth1") if far else (host.veth, "eth0")
        assert outside is not None
        bridge = self._bridge_of(state, host, far)
        before = host.far_shape if far else host.shape
        if before is not None:
            clear_link(before, outside, host.netns, inside, bridge)
        tap = ("lpu" if far else "lpt") + outside[3:]  # as long as the veth's name
        now = shape_link(shape, outside, host.netns, inside, bridge, tap) if shape else None
        if far:
            host.far_shape = now
        else:
            host.shape = now
        self._save(state)
        return now

    def _bridge_of(self, state: LabState, host: HostState, far: bool) -> str:
        if far:
            assert host.far_bridge is not None
            return host.far_bridge
        if host.behind:
            return self.far_bridge(state.hubs.index(host.behind) + 1)
        return state.bridge

    def clock(self, host_id: str, offset: int) -> None:
        """Set a server's clock `offset` seconds off in every login session (0 puts it back).

        Lab servers share this machine's kernel clock and may not set it, so the offset is
        libfaketime, preloaded through /etc/environment into each SSH session and all it
        runs (Ansible's modules, verify's checks); the SSH daemon itself keeps the true time.
        """
        _, host = self._existing(host_id)
        root = self.host_dir(host.id) / "root"
        environment = root / "etc" / "environment"
        kept = [
            line
            for line in (environment.read_text().splitlines() if environment.exists() else [])
            if not line.startswith(("LD_PRELOAD=", "FAKETIME"))
        ]
        if offset:
            inside = Path("/usr/local/lib/lpdeploy-lab") / FAKETIME_LIB
            copy = root / inside.relative_to("/")
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(_faketime_library().read_bytes())
            kept += [
                f"LD_PRELOAD={inside}",
                f"FAKETIME={offset:+d}",
                "FAKETIME_DONT_FAKE_MONOTONIC=1",
            ]
        environment.write_text("".join(f"{line}\n" for line in kept))

    def stop(self, host_id: str) -> None:
        state, host = self._existing(host_id)
        self._stop(host)
        host.status = "stopped"
        self._save(state)

    def start(self, host_id: str) -> None:
        state, host = self._existing(host_id)
        if host.status != "running":
            self._start(state, host)
        failed = [r for r in self._wait(state, [host]) if not r.ok]
        if failed:
            raise NotRightError(f"{host_id} did not come up: {failed[0].detail}")

    def ssh_command(self, host: HostState, *command: str) -> list[str]:
        """An ssh command line to a lab server that checks its host key (run from the
        hub's namespace for a server behind the hub)."""
        inside = ["ip", "netns", "exec", host.reach_netns] if host.reach_netns else []
        return [
            *inside, "ssh", "-i", str(self.key), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "ConnectTimeout=3",
            "-o", "ServerAliveInterval=5", "-o", "ServerAliveCountMax=3", "-o", "LogLevel=ERROR",
            f"root@{host.address}", *command,
        ]  # fmt: skip

    def host_dir(self, host_id: str) -> Path:
        return self.dir / "hosts" / host_id

    # -- one server ---------------------------------------------------------------------

    def _create(
        self,
        state: LabState,
        name: str,
        arch: str,
        bases: dict[str, str],
        behind: str | None = None,
    ) -> HostState:
        used = {h.index for h in state.hosts}
        index = next(i for i in range(1, 240) if i not in used)
        hub = state.host(behind) if behind else None
        subnet = state.far_subnet_of(state.hubs.index(behind) + 1) if behind else state.subnet
        host = HostState(
            id=name,
            index=index,
            address=f"{subnet}.{10 + index}",
            netns=f"lpd-{self.name}-{index}",
            veth=f"lpd{self.name}{index}",
            reach_netns=hub.netns if hub else None,
            behind=behind,
            arch=arch,
            base="" if bases[arch] == state.base else bases[arch],
        )
        if name in state.hubs:
            number = state.hubs.index(name) + 1
            host.far_address = f"{state.far_subnet_of(number)}.1"
            host.far_veth = f"lpf{self.name}{index}"
            host.far_bridge = self.far_bridge(number)
        state.hosts.append(host)
        self._save(state)
        folder = self.host_dir(name)
        for part in ("upper", "work", "root"):
            (folder / part).mkdir(parents=True, exist_ok=True)
        network.add_host_link(
            self._bridge_of(state, host, far=False), host.netns, host.veth, host.address
        )
        if host.far_veth and host.far_address and host.far_bridge:
            network.add_host_link(
                host.far_bridge, host.netns, host.far_veth, host.far_address, device="eth1"
            )
        self._mount(state, host)
        self._personalise(folder / "root", host)
        return host

    def _mount(self, state: LabState, host: HostState) -> None:
        """Root: an overlay on the base. /srv: the server's own disk, bounded like a real one."""
        folder = self.host_dir(host.id)
        if not os.path.ismount(folder / "root"):
            lower = host.base or state.base
            options = f"lowerdir={lower},upperdir={folder / 'upper'},workdir={folder / 'work'}"
            run(["mount", "-t", "overlay", "overlay", "-o", options, str(folder / "root")])
        image, srv = folder / "disk.img", folder / "srv"
        if not image.exists():
            with image.open("wb") as handle:
                handle.truncate(DISK_GB * 10**9)
            run(["mkfs.ext4", "-q", "-F", "-m", "0", "-i", "65536", "-L", "srv",
                 "-E", "lazy_itable_init=1,lazy_journal_init=1", str(image)])  # fmt: skip
        srv.mkdir(exist_ok=True)
        if not os.path.ismount(srv):
            run(["mount", "-o", "loop,noinit_itable", str(image), str(srv)])

    def _personalise(self, root: Path, host: HostState) -> None:
        (root / "etc" / "hostname").write_text(f"{host.id}\n")
        (root / "etc" / "hosts").write_text(f"127.0.0.1 localhost\n127.0.1.1 {host.id}\n")
        (root / "etc" / "machine-id").write_text(uuid.uuid4().hex + "\n")
        ssh = root / "root" / ".ssh"
        ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys = ssh / "authorized_keys"
        keys.write_text(self.key.with_suffix(".pub").read_text())
        keys.chmod(0o600)

    def _start(self, state: LabState, host: HostState) -> None:
        folder = self.host_dir(host.id)
        self._mount(state, host)
        cgroups = [
            root / f"lpdeploy-{self.name}" / host.id for root in CGROUP_ROOTS if root.is_dir()
        ]
        for cgroup in cgroups:
            cgroup.mkdir(parents=True, exist_ok=True)
        pidfile = folder / "launcher.pid"
        pidfile.unlink(missing_ok=True)
        nspawn = [
            "--quiet", "--boot", "--register=no", "--keep-unit", f"--directory={folder / 'root'}",
            f"--machine={host.id}", f"--network-namespace-path=/run/netns/{host.netns}",
            "--link-journal=no", "--resolv-conf=off", "--timezone=off", "--console=read-only",
            f"--bind={folder / 'srv'}:/srv",
        ]  # fmt: skip
        with (folder / "console.log").open("ab") as log:
            launcher = subprocess.Popen(
                [str(LAUNCHER), str(pidfile), *map(str, cgroups), "--", *nspawn],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + 10
        while not pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not pidfile.exists():
            raise LabError(f"{host.id}: the launcher did not start (see {folder / 'console.log'})")
        host.pid = int(pidfile.read_text())
        _LAUNCHERS[host.pid] = launcher
        host.status = "running"
        self._save(state)

    def _stop(self, host: HostState) -> None:
        """SIGTERM powers the server off; SIGKILL ends whatever hangs, then every process
        left in its cgroups (an emulated server's outlive systemd-nspawn)."""
        if host.pid and _is_launcher(host.pid):
            os.kill(host.pid, signal.SIGTERM)
            wait = EMULATED_STOP if host.arch != machine_arch() else STOP_TIMEOUT
            deadline = time.monotonic() + wait
            while alive(host.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if alive(host.pid):
                os.kill(host.pid, signal.SIGKILL)
        for pid in self.host_pids(host):
            _kill(pid)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.host_pids(host) and time.monotonic() < deadline:
            time.sleep(0.1)
        child = _LAUNCHERS.pop(host.pid, None) if host.pid else None
        if child is not None:
            child.wait(timeout=STOP_TIMEOUT)
        host.pid = None

    def _destroy(self, state: LabState, host: HostState) -> None:
        self._stop(host)
        for shape in (host.shape, host.far_shape):
            if shape is not None and shape.relay_pid is not None:
                stop_relay(shape.relay_pid)
        folder = self.host_dir(host.id)
        for mount in (folder / "srv", folder / "root"):
            if os.path.ismount(mount):
                run(["umount", str(mount)], check=False)
                if os.path.ismount(mount):
                    run(["umount", "--lazy", str(mount)])
        network.remove_netns(host.netns)
        network.remove_link(host.veth)
        if host.far_veth:
            network.remove_link(host.far_veth)
        for cgroup in self._host_cgroups(host):
            _remove_cgroup_tree(cgroup)
        if folder.exists():
            run(["rm", "-rf", "--one-file-system", str(folder)])
        state.hosts.remove(host)
        self._save(state)

    # -- waiting ------------------------------------------------------------------------

    def _wait(self, state: LabState, hosts: list[HostState]) -> list[BootResult]:
        """Wait for every host key, pin them, then for `systemctl is-system-running`."""
        emulated = any(h.arch != machine_arch() for h in hosts)
        deadline = time.monotonic() + BOOT_TIMEOUT * (EMULATED_SLOWER if emulated else 1)
        keys = {h.id: self._host_key(h, deadline) for h in hosts}
        self._write_known_hosts(state)
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(hosts)))) as pool:
            return list(pool.map(lambda h: self._wait_running(h, keys[h.id], deadline), hosts))

    def _host_key(self, host: HostState, deadline: float) -> str | None:
        path = self.host_dir(host.id) / "root" / "etc" / "ssh" / "ssh_host_ed25519_key.pub"
        while time.monotonic() < deadline:
            if path.exists() and path.stat().st_size > 0:
                return " ".join(path.read_text().split()[:2])
            time.sleep(0.1)
        return None

    def _wait_running(self, host: HostState, key: str | None, deadline: float) -> BootResult:
        if key is None:
            return BootResult(host.id, False, "made no SSH host key (see its console.log)")
        said = ""
        while time.monotonic() < deadline:
            command = self.ssh_command(host, "systemctl", "is-system-running", "--wait")
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            lines = (done.stdout.strip() or done.stderr.strip()).splitlines()
            said = lines[-1] if lines else ""
            if said == "running":
                return BootResult(host.id, True, "running")
            if said in ("degraded", "maintenance", "stopping"):
                failed = subprocess.run(
                    self.ssh_command(host, "systemctl", "--failed", "--plain", "--no-legend"),
                    capture_output=True, text=True, check=False,
                ).stdout.split()  # fmt: skip
                units = ", ".join(u for u in failed if "." in u)
                return BootResult(host.id, False, f"{said}: failed units {units or 'unknown'}")
            time.sleep(0.2)
        return BootResult(host.id, False, f"no answer over SSH in time ({said or 'no reply'})")

    # -- files the lab writes -----------------------------------------------------------

    def _ensure_key(self) -> None:
        if not self.key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"lpdeploy-lab-{self.name}",
                 "-f", str(self.key)])  # fmt: skip

    def _write_known_hosts(self, state: LabState) -> None:
        lines = []
        for host in state.hosts:
            path = self.host_dir(host.id) / "root" / "etc" / "ssh" / "ssh_host_ed25519_key.pub"
            if path.exists() and path.stat().st_size > 0:
                lines.append(f"{host.address} {' '.join(path.read_text().split()[:2])}\n")
        self.known_hosts.write_text("".join(lines))

    def _write_inventory(self, state: LabState) -> None:
        ssh_args = (
            f"-o UserKnownHostsFile={self.known_hosts} -o StrictHostKeyChecking=yes "
            "-o ServerAliveInterval=5 -o ServerAliveCountMax=3"
        )
        lines = [
            "# Written by `lpdeploy lab up`: the lab's servers, named after their centres.",
            "all:",
            "  vars:",
            "    ansible_user: root",
            f"    ansible_ssh_private_key_file: {self.key}",
            f'    ansible_ssh_common_args: "{ssh_args}"',
            "    ansible_python_interpreter: /usr/bin/python3",
            f"    lpdeploy_lab_gateway: {state.gateway}",
            "  hosts:",
        ]
        lines += [f"    {h.id}:\n      ansible_host: {h.address}" for h in state.hosts]
        self.inventory.write_text("\n".join(lines) + "\n")

    # -- bookkeeping --------------------------------------------------------------------

    def _load(self) -> LabState | None:
        return load_state(self.state_file)

    def _save(self, state: LabState) -> None:
        save_state(self.state_file, state)

    def _existing(self, host_id: str) -> tuple[LabState, HostState]:
        require_lab_tools()
        state = self._load()
        host = state.host(host_id) if state else None
        if state is None or host is None:
            known = ", ".join(h.id for h in state.hosts) if state else "none: run `lpdeploy lab up`"
            raise InputError.single(host_id, f"no such lab server (servers: {known})", "HOST")
        return state, host

    def _tune_inotify(self, state: LabState, hosts: int) -> None:
        """Each server takes 4-5 inotify instances; the default 128 runs out near 25."""
        current = int(INOTIFY.read_text())
        needed = 64 + 8 * hosts
        if current < needed:
            if state.inotify_restore is None:
                state.inotify_restore = current
                self._save(state)
            INOTIFY.write_text(f"{needed}\n")

    def _lab_cgroups(self) -> list[Path]:
        return [root / f"lpdeploy-{self.name}" for root in CGROUP_ROOTS]

    def _host_cgroups(self, host: HostState) -> list[Path]:
        return [cgroup / host.id for cgroup in self._lab_cgroups()]

    def host_pids(self, host: HostState) -> list[int]:
        return sorted({pid for cgroup in self._host_cgroups(host) for pid in _cgroup_pids(cgroup)})


def subnet_of(name: str) -> str:
    return SUBNETS.get(name) or f"10.{100 + zlib.crc32(name.encode()) % 100}.0"


def _faketime_library() -> Path:
    found = sorted(Path("/usr/lib").glob(f"*/faketime/{FAKETIME_LIB}"))
    if not found:
        raise MissingToolError(
            "setting a lab server's clock needs libfaketime: `apt-get install -y libfaketime`"
        )
    return found[0]


def _is_launcher(pid: int) -> bool:
    """The PID is still our launcher (and not a reused number)."""
    try:
        return str(LAUNCHER) in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return False


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _cgroup_pids(cgroup: Path) -> Iterable[int]:
    if not cgroup.is_dir():
        return []
    pids: list[int] = []
    for procs in cgroup.rglob("cgroup.procs"):
        try:
            pids += [int(line) for line in procs.read_text().split()]
        except OSError:
            continue
    return pids


def _remove_cgroup_tree(cgroup: Path) -> None:
    """Remove a cgroup and the ones below it, deepest first."""
    if not cgroup.is_dir():
        return
    folders = sorted((p for p in cgroup.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for folder in [*folders, cgroup]:
        try:
            folder.rmdir()
        except OSError:
            continue
