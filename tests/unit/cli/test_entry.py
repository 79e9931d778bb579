"""A Ctrl-C while lpdeploy loads, or an apply stopped before its run: exit 130, not a
traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROFILE = Path(__file__).parents[2] / "fixtures" / "profiles" / "lab3.yaml"

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


# An apply stopped by SIGTERM while it still builds its package repository (seconds, before
# any run exists): the same clean stop as later, and with --json stdout still holds one
# document.
EARLY_STOP = (
    "import os, signal, sys\n"
    "import lpdeploy.cli.apply as apply\n"
    "def stop(*args, **kwargs):\n"
    "    os.kill(os.getpid(), signal.SIGTERM)\n"
    "    raise AssertionError('went on')\n"
    "apply.package_repos = stop\n"
    "from lpdeploy.cli import app\n"
    "app(sys.argv[1:])\n"
)


def test_an_apply_stopped_before_its_run_exits_130_with_a_document(tmp_path: Path) -> None:
    env = {**os.environ, "LPDEPLOY_HOME": str(tmp_path), "NO_COLOR": "1"}
    plan = tmp_path / "plan.json"
    made = subprocess.run([sys.executable, "-m", "lpdeploy", "plan", str(PROFILE), "--out",
                           str(plan)], capture_output=True, text=True, env=env, check=False,
                          timeout=120)  # fmt: skip
    assert made.returncode == 0, made.stderr
    command = [sys.executable, "-c", FOREGROUND + EARLY_STOP, "apply", str(plan), "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=False,
                          timeout=120)  # fmt: skip
    assert done.returncode == 130, done.stderr
    assert json.loads(done.stdout) == {
        "ok": False, "exit_code": 130, "errors": [{"message": "interrupted"}]
    }  # fmt: skip
    assert "interrupted" in done.stderr
    assert "Traceback" not in done.stderr
