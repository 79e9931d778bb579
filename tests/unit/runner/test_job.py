"""A run's events under Ctrl-C: the thread that puts them never waits on the one that takes
them, wherever a KeyboardInterrupt lands in the taker. A run stopped hard leaves nothing
of Ansible's running."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lpdeploy.runner.job import end_trees
from lpdeploy.runner.run import start_run
from lpdeploy.runner.spec import build_spec

STORM = textwrap.dedent(
    """
    import os, queue, signal, sys, threading, time
    from pathlib import Path
    from lpdeploy.runner.job import Run
    from lpdeploy.runner.spec import build_spec

    sys.setswitchinterval(0.0002)
    # Ctrl-C raises here, as in a terminal: a process started with SIGINT ignored (a test
    # runner's worker) would otherwise keep it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    run = Run(spec=build_spec(Path(sys.argv[1]), Path(sys.argv[1]) / "inventory.yml"))
    flags = {"go": False, "done": False, "stop": False}  # no locks: the storm would hit them
    puts = [0]

    def runner():  # as ansible-runner's thread: an event, as fast as they come
        while not flags["stop"]:
            run.events.put({"event": "runner_on_ok"})
            puts[0] += 1

    def ctrl_c():
        while not flags["go"]:
            time.sleep(0.01)
        for _ in range(400):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.0003)
        flags["done"] = True

    threading.Thread(target=runner, daemon=True).start()
    threading.Thread(target=ctrl_c, daemon=True).start()
    interrupts = 0
    flags["go"] = True
    while True:
        try:
            while not flags["done"]:  # as the apply's wave loop takes them
                try:
                    run.events.get_nowait()
                except queue.Empty:
                    pass
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            break
        except KeyboardInterrupt:
            interrupts += 1
    before = puts[0]
    time.sleep(0.5)
    print(interrupts, puts[0] - before, flush=True)
    os._exit(0)
    """
)


def test_the_runner_thread_never_waits_on_an_interrupted_apply(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", STORM, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    interrupts, puts_after = map(int, done.stdout.split())
    assert interrupts > 100  # the storm hit the taker
    assert puts_after > 0  # and the putting thread still puts


def local_inventory(tmp_path: Path) -> Path:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(
        "all:\n  hosts:\n    here:\n      ansible_connection: local\n"
        f"      ansible_python_interpreter: {sys.executable}\n"
    )
    return inventory


def sleeper(pid_file: Path) -> str:
    """A command for Ansible's command module: it writes its pid, then sleeps two minutes."""
    return f"sh -c 'echo $$ > {pid_file}; exec sleep 120'"


def gone(pid: int, within: float = 10.0) -> bool:
    """The process ended, or does within `within` s: a process sent SIGKILL ends once the
    kernel runs it again, later on a busy machine (a CI run saw one not yet ended). A
    zombie has ended: an orphan's may wait long for a reaper."""
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


TREE = """
setsid sh -c 'sleep 120 & echo $! >> "$0"; wait' "$0" &
echo $! >> "$0"
sleep 120 & echo $! >> "$0"
wait
"""
"""A process with a child of its own session (its own child under it), as Ansible's
workers are, and a plain child: each writes its pid to the file named in $0."""


def test_end_trees_kills_a_tree_across_sessions(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    root = subprocess.Popen(["sh", "-c", TREE, str(pids)])
    under: list[int] = []
    try:
        deadline = time.monotonic() + 10
        while len(under) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.05)
            under = [int(pid) for pid in pids.read_text().split()] if pids.exists() else []
        assert len({os.getsid(pid) for pid in under}) == 2  # one in a session of its own
        end_trees([root.pid])
        assert root.wait(timeout=10) == -signal.SIGKILL
        assert all(gone(pid) for pid in under)
    finally:
        for pid in [root.pid, *under]:  # what a failed end_trees left
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        root.wait()


CUT = textwrap.dedent(
    """
    import os, signal, subprocess, sys, threading, time
    from lpdeploy.runner import job

    signal.signal(signal.SIGINT, signal.default_int_handler)
    job.END_TREES = "sleep 1; " + job.END_TREES  # a script slow enough to be cut
    sleeper = subprocess.Popen(["sleep", "120"])
    threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
    started = time.monotonic()
    try:
        job.end_trees([sleeper.pid])
    except KeyboardInterrupt:
        waited = time.monotonic() - started
        try:
            print(round(waited, 1), sleeper.wait(timeout=5), flush=True)
        finally:
            sleeper.kill()  # a stopped one, where the script was cut
    """
)


def test_a_ctrl_c_during_end_trees_waits_for_it_then_raises() -> None:
    """Cut between its stops and its kills, the script would leave the tree stopped."""
    done = subprocess.run([sys.executable, "-c", CUT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    waited, status = done.stdout.split()
    assert float(waited) >= 1.0 and int(status) == -signal.SIGKILL


def test_a_cancelled_run_leaves_nothing_of_ansible_running(tmp_path: Path) -> None:
    inventory = local_inventory(tmp_path)
    pid_file = tmp_path / "sleeper.pid"
    spec = build_spec(
        tmp_path / "run", inventory, module="ansible.builtin.command",
        module_args=sleeper(pid_file), limit="here",
    )  # fmt: skip
    run = start_run(spec)
    deadline = time.monotonic() + 60
    while not pid_file.exists() or not pid_file.read_text().strip():
        assert time.monotonic() < deadline and not run.finished
        time.sleep(0.1)
    ansible = run.process_group()
    assert ansible is not None
    run.cancel()
    while not run.finished:
        assert time.monotonic() < deadline + 30
        time.sleep(0.1)
    # Ansible ran the command from a worker in a session of its own: killing Ansible's
    # group alone left it running to its end.
    assert gone(ansible)
    assert gone(int(pid_file.read_text()))
