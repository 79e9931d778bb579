"""The `lpdeploy` command. Loading lpdeploy takes about half a second; a Ctrl-C in that
time ends the command quietly with exit 130, as one later does, instead of a traceback."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | signal.Handlers | None


def main() -> None:
    previous = quiet_interrupt()
    from lpdeploy.cli import main as run  # the slow part

    signal.signal(signal.SIGINT, previous)
    run()


def quiet_interrupt() -> Handler:
    """Until the command is loaded, SIGINT exits 130 (unless the shell ignores it for this
    process, as for a background job). Returns the handler to put back."""
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _exit_interrupted)
    return previous


def _exit_interrupted(signum: int, frame: FrameType | None) -> None:
    sys.exit(130)
