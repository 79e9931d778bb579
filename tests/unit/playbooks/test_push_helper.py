"""The push helper that runs on the controller (roles/bundle_loader/files/lpdeploy-push),
with real rsync through a remote shell that runs the server's side here."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import json
import os
import signal
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

HELPER = Path(__file__).parents[3] / "playbooks/roles/bundle_loader/files/lpdeploy-push"
# rsync calls `RSH HOST rsync --server ...`: drop HOST and run the rest here.
LOCAL_SHELL = "sh -c 'shift; exec \"$@\"' rsh"


def run(root: Path, bundles: list[dict[str, str]], *more: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, str(HELPER), LOCAL_SHELL, "centre", str(root), json.dumps(bundles),
            *more]  # fmt: skip
    return subprocess.run(argv, capture_output=True, text=True, check=False)


def source(folder: Path, files: dict[str, bytes]) -> str:
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return str(folder)


def test_each_bundle_lands_in_its_staging_folder(tmp_path: Path) -> None:
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/x.txt": b"x"})
    b = source(tmp_path / "src-b", {"bundle.json": b"{}", "content/y/z.txt": b"z"})
    root = tmp_path / "srv"
    bundles = [{"id": "a", "version": "1", "source": a}, {"id": "b", "version": "2", "source": b}]
    done = run(root, bundles)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) | {"sent": 0} == {
        "pushed": ["a", "b"],
        "changed": True,
        "sent": 0,
    }
    assert (root / "a" / ".staging-1" / "content" / "x.txt").read_bytes() == b"x"
    assert (root / "b" / ".staging-2" / "content" / "y" / "z.txt").read_bytes() == b"z"
    again = run(root, bundles)
    assert json.loads(again.stdout) | {"sent": 0} == {
        "pushed": ["a", "b"],
        "changed": False,
        "sent": 0,
    }


def test_a_failed_push_names_its_bundle_and_stops(tmp_path: Path) -> None:
    a = source(tmp_path / "src-a", {"bundle.json": b"{}"})
    bundles = [{"id": "gone", "version": "1", "source": str(tmp_path / "nowhere")},
               {"id": "a", "version": "1", "source": a}]  # fmt: skip
    done = run(tmp_path / "srv", bundles)
    assert done.returncode != 0
    assert done.stderr.startswith("gone 1: rsync exit ")
    assert json.loads(done.stdout) == {"pushed": [], "changed": False, "sent": 0}
    assert not (tmp_path / "srv" / "a").exists()


def load_helper() -> types.ModuleType:
    loader = importlib.machinery.SourceFileLoader("lpdeploy_push", str(HELPER))
    helper = types.ModuleType(loader.name)
    loader.exec_module(helper)
    return helper


def test_rsyncs_output_is_read_whole_whatever_its_chunks(tmp_path: Path) -> None:
    """rsync's output as it writes it (progress lines after "\\r", itemized lines, stats),
    cut anywhere, some pieces slower than the reads gather: the last progress value, the
    files found there and every other line come out as from the whole."""
    helper = load_helper()
    lines = [".d          ./", ".f          old.bin",
             "\r      4,194,304  57%    0.00kB/s    0:00:00", ">f+++++++++ then.bin",
             "\r      5,000,000  68%   10.00MB/s    0:00:01",
             "\r      7,340,034 100%   10.00MB/s    0:00:01 (xfr#1, to-chk=0/3)", "",
             "Number of files: 3 (reg: 2, dir: 1)", "Total bytes sent: 3,146,000", ""]  # fmt: skip
    output = "\n".join(lines).replace("\n\r", "\r").encode()
    pieces = [output[i : i + 7] for i in range(0, len(output), 7)]
    script = tmp_path / "rsync.py"
    script.write_text(
        "import sys, time\n"
        f"for number, piece in enumerate({pieces!r}):\n"
        "    sys.stdout.buffer.write(piece); sys.stdout.flush()\n"
        "    if number % 40 == 0: time.sleep(0.05)\n"
    )
    meter = helper.Meter(None, 7_340_034)
    tree = {"old.bin": [4_194_304, 1], "then.bin": [3_145_730, 2]}
    code, kept, errors = helper.run_rsync([sys.executable, str(script)], meter, tree)
    assert (code, errors) == (0, "")
    assert meter.current == 7_340_034 and meter.before == meter.present == 4_194_304
    assert [line for line in kept.splitlines() if line] == [
        ".d          ./", ".f          old.bin", ">f+++++++++ then.bin",
        "Number of files: 3 (reg: 2, dir: 1)", "Total bytes sent: 3,146,000"]  # fmt: skip
    assert helper.sent_bytes(kept) == 3_146_000 and helper.changed(kept.partition("Number")[0])


def test_a_bandwidth_limit_goes_to_rsync_and_a_wrong_one_is_refused(tmp_path: Path) -> None:
    helper = load_helper()
    assert "--bwlimit=488" in helper.rsync("ssh", "src", "c:/t", 488)
    assert not any(a.startswith("--bwlimit") for a in helper.rsync("ssh", "src", "c:/t"))
    a = source(tmp_path / "src-a", {"bundle.json": b"{}"})
    bundles = [{"id": "a", "version": "1", "source": a}]
    limited = run(tmp_path / "srv", bundles, "100000")
    assert limited.returncode == 0, limited.stderr
    assert json.loads(limited.stdout)["pushed"] == ["a"]
    assert run(tmp_path / "srv", bundles, "4mbit").returncode == 2


def test_a_cut_push_sends_only_what_is_missing_the_next_time(tmp_path: Path) -> None:
    """What arrived before the cut stays in staging (in place) and is matched, not sent."""
    data = os.urandom(4 << 20)
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/big.bin": data})
    root = tmp_path / "srv"
    arrived = root / "a" / ".staging-1" / "content" / "big.bin"
    arrived.parent.mkdir(parents=True)
    arrived.write_bytes(data[: 3 << 20])  # three quarters came before the cut
    done = run(root, [{"id": "a", "version": "1", "source": a}])
    assert done.returncode == 0, done.stderr
    assert arrived.read_bytes() == data
    sent = json.loads(done.stdout)["sent"]
    assert 1 << 20 <= sent <= 1.1 * (1 << 20)


def test_the_server_hashes_each_file_as_it_arrives(tmp_path: Path) -> None:
    files = {"bundle.json": b"{}", **{f"content/f{n}.bin": os.urandom(300_000) for n in range(5)}}
    a = source(tmp_path / "src-a", files)
    root = tmp_path / "srv"
    server = {**os.environ, **server_helper(tmp_path)}
    argv = [sys.executable, str(HELPER), LOCAL_SHELL, "centre", str(root),
            json.dumps([{"id": "a", "version": "1", "source": a}])]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=server, check=False)
    assert done.returncode == 0, done.stderr
    record = json.loads((root / "a" / ".hashes-1.json").read_text())
    assert sorted(record) == [f"f{n}.bin" for n in range(5)]
    for name, (size, _, digest) in record.items():
        data = files[f"content/{name}"]
        assert (size, digest) == (len(data), hashlib.sha256(data).hexdigest())


def watched_push(
    tmp_path: Path, source_dir: str, kib: int, progress: Path
) -> tuple[int, dict[str, Any], list[dict[str, Any]]]:
    """Push bundle `a` at `kib` KiB/s, reading its progress file as it goes: the exit code,
    the result, and each state seen."""
    argv = [sys.executable, str(HELPER), LOCAL_SHELL, "centre", str(tmp_path / "srv"),
            json.dumps([{"id": "a", "version": "1", "source": source_dir}]), str(kib),
            str(progress)]  # fmt: skip
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    seen = []
    while child.poll() is None:
        if progress.exists():
            seen.append(json.loads(progress.read_text()))
        time.sleep(0.1)
    out, _ = child.communicate()
    return child.returncode, json.loads(out) if child.returncode == 0 else {}, seen


def test_progress_counts_the_files_already_there_and_the_bytes_as_they_arrive(
    tmp_path: Path,
) -> None:
    # old.bin, found there, comes first in rsync's order: then.bin is pushed after it
    files = {"bundle.json": b"{}", "content/old.bin": os.urandom(4 << 20),
             "content/then.bin": os.urandom(3 << 20)}  # fmt: skip
    a = source(tmp_path / "src-a", files)
    there = tmp_path / "srv" / "a" / ".staging-1" / "content" / "old.bin"
    there.parent.mkdir(parents=True)
    there.write_bytes(files["content/old.bin"])
    stat = (tmp_path / "src-a" / "content" / "old.bin").stat()
    os.utime(there, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    progress = tmp_path / "progress.json"
    code, out, seen = watched_push(tmp_path, a, 512, progress)
    assert code == 0
    assert out["changed"] is True
    total = sum(len(data) for data in files.values())
    assert {s["total"] for s in seen} == {total} and {s["bundle"] for s in seen} == {"a"}
    moving = [s for s in seen if (4 << 20) <= s["done"] < total and s["rate"] > 0]
    assert moving, seen  # 3 MiB at 512 KiB/s: six seconds, a write each, rated from the third
    # the rate is what moved: the 4 MiB found there do not count (512 KiB/s asked)
    assert max(s["rate"] for s in seen) < 1 << 20, seen
    assert json.loads(progress.read_text())["done"] == total


def test_no_rate_is_given_until_the_push_has_run_a_few_seconds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its first second is rsync's file list over a slow link, and a push of staged files
    sends little more: a rate from that alone would read as weeks left (seen on the lab's
    10 mbit, 300 ms link: 1.3 kbit/s, 21097 min)."""
    helper = load_helper()
    clock = [1000.0]
    monkeypatch.setattr(helper, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    progress = tmp_path / "progress.json"
    meter = helper.Meter(str(progress), 200_000_000)
    meter.counted = True  # bytes sent: set by hand below, as the kernel would count them
    meter.note(force=True)
    clock[0] += 1.0
    meter.sent = 170  # the file list
    meter.note(force=True)
    assert json.loads(progress.read_text())["rate"] == 0
    clock[0] += 3.0
    meter.sent = 600  # files found staged already: matched, hardly a byte sent
    meter.note(force=True)
    assert json.loads(progress.read_text())["rate"] == 0
    clock[0] += 2.0
    meter.sent += 2_250_000  # 9 Mbit/s for two seconds
    meter.note(force=True)
    assert 350_000 < json.loads(progress.read_text())["rate"] < 400_000  # 2.25 MB over 6 s


def test_a_resumed_files_rate_is_what_crosses_the_link_not_what_is_matched(
    tmp_path: Path,
) -> None:
    """Three quarters of a file came before a cut: rsync matches them at disk speed, but the
    rate is that of the bytes it sends, within the limit."""
    data = os.urandom(6 << 20)
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/big.bin": data})
    arrived = tmp_path / "srv" / "a" / ".staging-1" / "content" / "big.bin"
    arrived.parent.mkdir(parents=True)
    arrived.write_bytes(data[: (9 << 20) // 2])
    code, out, seen = watched_push(tmp_path, a, 256, tmp_path / "progress.json")
    assert code == 0 and arrived.read_bytes() == data
    assert out["sent"] < 2 << 20  # the missing 1.5 MiB, and rsync's own
    rates = [s["rate"] for s in seen if s["rate"] > 0]
    assert rates and max(rates) < 2 * 256 * 1024, seen  # 256 KiB/s asked


def session(sid: int) -> list[int]:
    """The processes still in a session."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # it ended while we looked
            if int(fields[3]) == sid:
                found.append(int(entry.name))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stopped_push_ends_its_rsync_and_closes_its_connection(
    tmp_path: Path, signum: int
) -> None:
    """Stopped mid-file (Ansible's run ended), the push leaves no rsync, watch or ssh
    connection behind, and what arrived stays in staging for the next push."""
    ssh = fake_ssh(tmp_path)
    log = tmp_path / "ssh.log"
    env = {**os.environ, "FAKE_SSH_LOG": str(log), "FAKE_FLAGS": X86}
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/big.bin": os.urandom(4 << 20)})
    progress = tmp_path / "progress.json"
    argv = [sys.executable, str(HELPER), f"{ssh} -o ControlPersist=60s", "centre",
            str(tmp_path / "srv"), json.dumps([{"id": "a", "version": "1", "source": a}]),
            "256", str(progress)]  # fmt: skip
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and child.poll() is None:
            if progress.exists() and json.loads(progress.read_text())["done"] > 2:
                break
            time.sleep(0.1)
        assert child.poll() is None  # 4 MiB at 256 KiB/s: 16 s
        child.send_signal(signum)
        assert child.wait(timeout=15) == 128 + signum
        left = []
        for _ in range(50):
            left = session(child.pid)
            if not left:
                break
            time.sleep(0.1)
        assert left == []
    finally:
        child.stdout.close()  # type: ignore[union-attr]
        for pid in [child.pid, *session(child.pid)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    bulk = [call for call in calls if "-S" in call]
    assert bulk[-1][-2:] == ["exit", "centre"]  # the connection was closed
    assert all(call[:2] == ["-o", "ControlPersist=10s"] for call in bulk)
    assert not Path(bulk[0][bulk[0].index("-S") + 1]).parent.exists()
    arrived = tmp_path / "srv" / "a" / ".staging-1" / "content" / "big.bin"
    assert arrived.stat().st_size > 0


# An ssh that logs its arguments and runs the command here: the server's CPU features line
# comes from $FAKE_FLAGS, and where its rsync is unless $FAKE_NO_RSYNC.
FAKE_SSH = """#!{python}
import json, os, subprocess, sys
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
if os.environ.get("FAKE_SSH_POLICY"):  # the scheduling policy ssh was started with
    with open(os.environ["FAKE_SSH_POLICY"], "a") as policies:
        policies.write(str(os.sched_getscheduler(0)) + "\\n")
if "check" in sys.argv and os.environ.get("FAKE_MASTER_PID"):  # ssh -O check: the master
    sys.stderr.write("Master running (pid=%s)\\n" % os.environ["FAKE_MASTER_PID"])
    sys.exit(0)
rest = sys.argv[sys.argv.index("centre") + 1:]
if "cpuinfo" in " ".join(rest):
    print(os.environ["FAKE_FLAGS"])
    print("rsync: " + ("" if os.environ.get("FAKE_NO_RSYNC") else "/usr/bin/rsync"))
elif rest:
    sys.exit(subprocess.run(["sh", "-c", " ".join(rest)]).returncode)
"""

AUTOGROUPS = Path("/proc/self/autogroup").exists()
"""Whether this kernel groups tasks by session (Debian's does)."""
OUR_AUTOGROUP = Path("/proc/self/autogroup").read_text() if AUTOGROUPS else ""

X86 = "flags\t\t: fpu vme sse2 aes pclmulqdq avx2"
PI4 = "Features\t: fp asimd evtstrm crc32 cpuid"
PI5 = "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics cpuid"


def test_the_push_has_a_connection_of_its_own_with_aes_gcm_where_both_ends_have_aes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    helper = load_helper()
    assert [helper.has_aes(line) for line in (X86, PI4, PI5, "")] == [True, False, True, False]
    ssh = fake_ssh(tmp_path)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/x.txt": b"x"})
    bundles = [{"id": "a", "version": "1", "source": a}]
    rsh = f"{ssh} -C -o 'UserKnownHostsFile=/k 1 /k 2' -o ControlPath=/cp/%C"
    for server, local, gcm in ((PI5, X86, True), (PI4, X86, False), (X86, PI4, False)):
        log.write_text("")
        monkeypatch.setenv("FAKE_FLAGS", server)
        monkeypatch.setattr(helper, "local_flags", lambda local=local: local)
        with helper.bulk_shell(rsh, "centre") as (shell, rsync_there):
            assert rsync_there
            result, code = helper.push(shell, "centre", str(tmp_path / "srv"), bundles)
        assert code == 0 and result["pushed"] == ["a"]
        calls = [json.loads(line) for line in log.read_text().splitlines()]
        asked, *bulk = calls
        assert "-S" not in asked  # asked through rsh's own connection
        assert not any("-C" in call for call in bulk)  # bundles are not compressed again
        assert all("UserKnownHostsFile=/k 1 /k 2" in call for call in bulk)
        sockets = {call[call.index("-S") + 1] for call in bulk}
        assert len(sockets) == 1
        assert [call[-2:] for call in bulk if "-N" in call or "-O" in call] == [
            ["-N", "centre"], ["exit", "centre"]]  # fmt: skip
        assert all(("-c" in call) == gcm for call in bulk)
        assert not Path(sockets.pop()).parent.exists()
    assert (tmp_path / "srv" / "a" / ".staging-1" / "content" / "x.txt").read_bytes() == b"x"


def fake_ssh(tmp_path: Path) -> Path:
    ssh = tmp_path / "bin" / "ssh"
    ssh.parent.mkdir(exist_ok=True)
    ssh.write_text(FAKE_SSH.format(python=sys.executable))
    ssh.chmod(0o755)
    return ssh


def server_helper(tmp_path: Path) -> dict[str, str]:
    """The environment of a push whose server (here) has the bundle helper."""
    helper = tmp_path / "lpdeploy-bundle"  # as the role installs it on the server
    helper.write_text(
        f'#!/bin/sh\nexec {sys.executable} {HELPER.with_name("lpdeploy-bundle")} "$@"\n'
    )
    helper.chmod(0o755)
    return {"LPDEPLOY_BUNDLE_HELPER": str(helper)}


def test_a_server_without_rsync_gets_its_bundles_by_tar_and_rsync_then_sends_none(
    tmp_path: Path,
) -> None:
    """Staging ahead of a first apply: no rsync on the server yet. The bundle arrives as a
    tar stream, each file with its time to the nanosecond and hashed as it arrives; the
    server's own wave, by rsync, then finds it all there."""
    ssh = fake_ssh(tmp_path)
    files = {"bundle.json": b"{}", "content/a/b.bin": os.urandom(300_000),
             "content/c.txt": b"c"}  # fmt: skip
    a = source(tmp_path / "src-a", files)
    os.utime(Path(a) / "content/c.txt", ns=(1_600_000_000_123_456_789,) * 2)
    root = tmp_path / "srv"
    log = tmp_path / "ssh.log"
    env = {**os.environ, **server_helper(tmp_path), "FAKE_SSH_LOG": str(log),
           "FAKE_FLAGS": X86, "FAKE_NO_RSYNC": "1"}  # fmt: skip
    bundles = json.dumps([{"id": "a", "version": "1", "source": a}])
    argv = [sys.executable, str(HELPER), f"{ssh} -o ControlPersist=60s", "centre", str(root),
            bundles]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["pushed"] == ["a"] and result["changed"]
    assert sum(map(len, files.values())) < result["sent"] < 400_000  # the stream, headers too
    calls = " ".join(" ".join(call) for call in map(json.loads, log.read_text().splitlines()))
    assert "tar -x" in calls and "rsync --server" not in calls
    staged = root / "a" / ".staging-1"
    for path, data in files.items():
        assert (staged / path).read_bytes() == data
        assert (staged / path).stat().st_mtime_ns == (Path(a) / path).stat().st_mtime_ns
    record = json.loads((root / "a" / ".hashes-1.json").read_text())
    assert {name: digest for name, (_, _, digest) in record.items()} == {
        path[len("content/"):]: hashlib.sha256(data).hexdigest()
        for path, data in files.items() if path.startswith("content/")
    }  # fmt: skip
    again = run(root, [{"id": "a", "version": "1", "source": a}])  # the wave, by rsync
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["changed"] is False


def test_without_rsync_a_bandwidth_limit_is_not_overrun_the_push_is_refused(
    tmp_path: Path,
) -> None:
    ssh = fake_ssh(tmp_path)
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/x.bin": b"x" * 1000})
    env = {**os.environ, "FAKE_SSH_LOG": str(tmp_path / "ssh.log"), "FAKE_FLAGS": X86,
           "FAKE_NO_RSYNC": "1"}  # fmt: skip
    argv = [sys.executable, str(HELPER), str(ssh), "centre", str(tmp_path / "srv"),
            json.dumps([{"id": "a", "version": "1", "source": a}]), "500"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 3
    assert "no rsync yet" in done.stderr and "its own wave" in done.stderr
    assert json.loads(done.stdout)["pushed"] == []
    assert not (tmp_path / "srv").exists()


@pytest.mark.parametrize("rsync_there", [True, False])
def test_an_idle_push_runs_at_idle_priority_here_and_on_the_server(
    tmp_path: Path, rsync_there: bool
) -> None:
    """Staging ahead sets LPDEPLOY_PUSH_IDLE: every process the push starts here (rsync or
    tar, ssh) is SCHED_IDLE, and so is its side on the server (through chrt). Each session
    it runs in has its autogroup at nice 19: its own (the Ansible run's), its ssh master's,
    and on the server the shell's and that of the sshd above it."""
    ssh = fake_ssh(tmp_path)
    a = source(tmp_path / "src-a", {"bundle.json": b"{}", "content/x.bin": b"x" * 1000})
    policies, log = tmp_path / "policies", tmp_path / "ssh.log"
    # A session of its own as the push's ssh master, whose pid `ssh -O check` gives.
    master = subprocess.Popen(["sleep", "60"], start_new_session=True)
    env = {**os.environ, "FAKE_SSH_LOG": str(log), "FAKE_FLAGS": X86,
           "FAKE_SSH_POLICY": str(policies), "LPDEPLOY_PUSH_IDLE": "1",
           "FAKE_MASTER_PID": str(master.pid),
           **({} if rsync_there else {"FAKE_NO_RSYNC": "1"})}  # fmt: skip
    argv = [sys.executable, str(HELPER), str(ssh), "centre", str(tmp_path / "srv"),
            json.dumps([{"id": "a", "version": "1", "source": a}])]  # fmt: skip
    try:
        # In a session of its own, as Ansible runs it: it lowers its own session's autogroup.
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False,
                              start_new_session=True)  # fmt: skip
        assert done.returncode == 0, done.stderr
        if AUTOGROUPS:
            assert Path(f"/proc/{master.pid}/autogroup").read_text().split()[-1] == "19"
    finally:
        master.kill()
        master.wait()
    assert set(policies.read_text().split()) == {str(os.SCHED_IDLE)}
    calls = [" ".join(json.loads(line)) for line in log.read_text().splitlines()]
    unpacking = [call for call in calls if "tar -x" in call or "rsync --server" in call]
    assert unpacking and all("chrt --idle 0 " in call for call in unpacking)
    watching = [call for call in calls if " watch " in call]
    assert watching
    for call in [*unpacking, *watching]:
        assert "echo 19 >/proc/self/autogroup; echo 19 >/proc/$PPID/autogroup;" in call
    if AUTOGROUPS:  # the test's own session is not the push's: left as it was
        assert Path("/proc/self/autogroup").read_text() == OUR_AUTOGROUP
    assert (tmp_path / "srv" / "a" / ".staging-1" / "content" / "x.bin").read_bytes() == b"x" * 1000
    plain = run(tmp_path / "srv2", [{"id": "a", "version": "1", "source": a}])
    assert plain.returncode == 0 and "chrt" not in " ".join(load_helper().rsync("ssh", a, "c:/t"))


def test_a_tar_push_that_fails_says_what_tar_said(tmp_path: Path) -> None:
    ssh = fake_ssh(tmp_path)
    env = {**os.environ, "FAKE_SSH_LOG": str(tmp_path / "ssh.log"), "FAKE_FLAGS": "",
           "FAKE_NO_RSYNC": "1"}  # fmt: skip
    gone = [{"id": "gone", "version": "1", "source": str(tmp_path / "nowhere")}]
    argv = [sys.executable, str(HELPER), str(ssh), "centre", str(tmp_path / "srv"),
            json.dumps(gone)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    assert done.returncode != 0
    assert done.stderr.startswith("gone 1: tar exit ") and "nowhere" in done.stderr
    assert json.loads(done.stdout)["pushed"] == []
