"""A run's events under Ctrl-C: the thread that puts them never waits on the one that takes
them, wherever a KeyboardInterrupt lands in the taker."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

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
