"""Bundle pushes as they run: each push (roles/bundle_loader/files/lpdeploy-push) keeps a
small JSON file up to date with its bytes and rate; a wave's progress reads them."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Push:
    """One centre's push: bytes of its bundles accounted for (already there, or put in
    place since) of all it pushes, and its rate over the last seconds, in bytes a second."""

    done: int
    total: int
    rate: int
    bundle: str = ""

    @property
    def finished(self) -> bool:
        return self.done >= self.total

    def seconds_left(self) -> float | None:
        """None while there is no rate to go by."""
        if self.finished:
            return 0.0
        return (self.total - self.done) / self.rate if self.rate > 0 else None


def read_pushes(folder: Path | None, relayed: Iterable[Mapping[str, str]] = ()) -> dict[str, Push]:
    """Every centre's push file in `folder` (`<centre>.json`), and those a hub's relayed
    run read there (centre: text); one being replaced or not yet whole is skipped until the
    next read."""
    texts: dict[str, str] = {}
    for path in folder.glob("*.json") if folder is not None else ():
        with contextlib.suppress(OSError):
            texts[path.stem] = path.read_text()
    for files in relayed:
        texts.update(files)
    found = {}
    for centre, text in texts.items():
        try:
            state = json.loads(text)
            found[centre] = Push(int(state["done"]), int(state["total"]), int(state["rate"]),
                                 str(state.get("bundle", "")))  # fmt: skip
        except (ValueError, KeyError, TypeError):
            continue
    return found


@dataclass(frozen=True)
class Transfer:
    """A wave's pushes together: the centres' links run side by side, so the wave's time
    left is that of the slowest push (None while one has no rate yet)."""

    done: int
    total: int
    rate: int
    running: int
    seconds_left: float | None


def transfer(pushes: dict[str, Push], ended: Container[str] = ()) -> Transfer | None:
    """`ended`: centres whose outcome is final; a push of theirs cut short runs no more."""
    if not pushes:
        return None
    running = [p for name, p in pushes.items() if not p.finished and name not in ended]
    lefts = [p.seconds_left() for p in running]
    return Transfer(
        done=sum(p.done for p in pushes.values()),
        total=sum(p.total for p in pushes.values()),
        rate=sum(p.rate for p in running),
        running=len(running),
        seconds_left=None if None in lefts else max((s or 0.0 for s in lefts), default=0.0),
    )
