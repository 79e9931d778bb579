"""Kolibri, the learning platform a centre runs: its pinned version, its wheel, and a copy
on this machine for building channels."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from lpdeploy.errors import MissingToolError
from lpdeploy.language import language_matches
from lpdeploy.settings import state_dir

VERSION = "0.19.5"
"""The Kolibri every centre runs (one universal wheel, its dependencies vendored inside)."""


LANGUAGES = (
    "ar", "bg-bg", "bn-bd", "de", "el", "en", "es-419", "es-es", "fa", "ff-cm", "fr-fr",
    "gu-in", "ha", "hi-in", "ht", "id", "it", "ka", "km", "ko", "mr", "my", "ny", "pa", "pt-br",
    "pt-mz", "sw-tz", "te", "uk", "ur-pk", "vi", "yo", "zh-hans",
)  # fmt: skip
"""Kolibri's interface languages (`kolibri manage provisiondevice --help`)."""


def interface_language(languages: list[str]) -> str:
    """Kolibri's interface language for a centre: its first language Kolibri speaks."""
    for tag in languages:
        for offered in LANGUAGES:
            if language_matches(tag, offered) or language_matches(offered, tag):
                return offered
    return "en"


def wheel_name() -> str:
    return f"kolibri-{VERSION}-py2.py3-none-any.whl"


def fetch_wheel(folder: Path) -> Path:
    """Kolibri's wheel in `folder`, downloaded from the package index once (pip's cache
    makes a second download quick); offline afterwards."""
    wheel = folder / wheel_name()
    if wheel.is_file():
        return wheel
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as tmp:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--dest", tmp, f"kolibri=={VERSION}"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        fetched = Path(tmp) / wheel.name
        if done.returncode != 0 or not fetched.is_file():
            said = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise MissingToolError(f"pip could not fetch Kolibri {VERSION}'s wheel: {said}")
        fetched.rename(wheel)  # whole, or not there: another process may be reading it
    return wheel


def controller_kolibri(home: Path | None = None) -> Path:
    """The `kolibri` command of a virtual environment on this machine (made once, from the
    same wheel the centres get), for building channels."""
    root = (home or state_dir()) / "kolibri" / VERSION
    command = root / "venv" / "bin" / "kolibri"
    if command.is_file():
        return command
    wheel = fetch_wheel(root / "wheels")
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(root / "venv")],
        [str(root / "venv" / "bin" / "pip"), "install", "--quiet", "--no-index", str(wheel)],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            said = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise MissingToolError(f"could not install Kolibri {VERSION} here: {said}")
    return command


def channel_resources(content: Path, channel_id: str) -> int | None:
    """How many resources (nodes that are not topics) a channel's database in a bundle's
    content/ holds, or None when the bundle's files are not here (a catalog index)."""
    database = content / "databases" / f"{channel_id}.sqlite3"
    if not database.is_file():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as db:
            row = db.execute(
                "SELECT COUNT(*) FROM content_contentnode WHERE channel_id = ? AND kind != 'topic'",
                (channel_id,),
            ).fetchone()
    except sqlite3.Error:
        return None
    return int(row[0])
