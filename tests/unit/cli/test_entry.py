"""A Ctrl-C while lpdeploy loads: exit 130 and nothing on stderr, not a traceback."""

from __future__ import annotations

import subprocess
import sys

LOADING = (
    "import os, signal\n"
    "from lpdeploy.entry import quiet_interrupt\n"
    "quiet_interrupt()\n"
    "os.kill(os.getpid(), signal.SIGINT)\n"
    "import lpdeploy.cli\n"
    "print('went on')\n"
)


# As a command in the foreground starts, whatever the shell that runs these tests ignores.
FOREGROUND = "import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"


def test_ctrl_c_while_loading_exits_130_quietly() -> None:
    command = [sys.executable, "-c", FOREGROUND + LOADING]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")


def test_a_background_job_keeps_ignoring_it() -> None:
    ignored = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n" + LOADING
    done = subprocess.run([sys.executable, "-c", ignored], capture_output=True, text=True,
                          check=False, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "went on")
