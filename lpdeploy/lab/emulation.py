"""Lab servers of another architecture than this machine's: Debian's qemu-user-static,
registered with binfmt_misc so that the kernel runs their programs through it.

The registration uses flag F (the kernel opens the interpreter when it is registered), so
it works inside the servers' root filesystems, where no qemu binary exists. What the lab
changes (binfmt_misc mounted, a rule replaced) is written to one shared file and put back
when the last lab that needed it goes down.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import uuid
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from lpdeploy.errors import InputError, MissingToolError
from lpdeploy.lab.system import LAB_ROOT, LabError, alive, flocked, run
from lpdeploy.output import write_atomic

BINFMT = Path("/proc/sys/fs/binfmt_misc")
QEMU = {"arm64": "aarch64", "amd64": "x86_64"}
"""Debian architecture -> qemu's name for it."""
RULES = Path("/usr/lib/binfmt.d")
RECORD = LAB_ROOT / "emulation.json"
"""What the labs changed, shared by every lab (and base build) on this machine."""
LOCK = LAB_ROOT / "emulation.lock"


@functools.cache
def machine_arch() -> str:
    return run(["dpkg", "--print-architecture"]).strip()


def interpreter(arch: str) -> Path:
    return Path(f"/usr/bin/qemu-{QEMU[arch]}-static")


class Changed(BaseModel):
    """What the lab changed on this machine to run one foreign architecture."""

    labs: list[str] = []
    mounted: bool = False
    """binfmt_misc was not mounted: the lab mounted it."""
    previous: str | None = None
    """The rule registered before the lab's, as it registers again."""
    previous_enabled: bool = True


Record = dict[str, Changed]


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """One process at a time reads, changes and writes binfmt_misc and the record: two at
    once lost one's entry, and the other, the last out as it thought, took the rule away
    under the first (a package build failed with "Exec format error" while a lab went down)."""
    with flocked(LOCK):
        yield


def ensure_emulation(arch: str, lab: str, record: Path = RECORD) -> None:
    """Make this machine run `arch` programs; say how when it cannot (exit 2 or 3)."""
    if arch == machine_arch():
        return
    binary, rule = interpreter(arch), RULES / f"qemu-{QEMU[arch]}.conf"
    if not binary.exists() or not rule.exists():
        raise MissingToolError(
            f"{arch} lab servers run under emulation, which needs qemu-user-static: "
            "`apt-get install -y qemu-user-static`"
        )
    with locked():
        _ensure(arch, lab, record)


def _ensure(arch: str, lab: str, record: Path) -> None:
    binary, rule = interpreter(arch), RULES / f"qemu-{QEMU[arch]}.conf"
    kept = _load(record)
    changed = kept.setdefault(arch, Changed())
    if not (BINFMT / "register").exists():
        try:
            run(["mount", "-t", "binfmt_misc", "binfmt_misc", str(BINFMT)])
        except LabError:
            raise InputError.single(
                str(BINFMT),
                f"this machine cannot run {arch} lab servers: its kernel offers no binfmt_misc "
                "(load it with `modprobe binfmt_misc`, or run the lab where the kernel has it; "
                "in a container, mount binfmt_misc on its host)",
                "--arch",
            ) from None
        changed.mounted = True
    current = BINFMT / f"qemu-{QEMU[arch]}"
    ours = _rule(rule, binary)
    if not current.exists() or _registered(current) != _fields(ours):
        if current.exists() and not changed.labs and changed.previous is None:
            changed.previous = _registration(current)
            changed.previous_enabled = current.read_text().startswith("enabled")
        if current.exists():
            current.write_text("-1")
        (BINFMT / "register").write_text(ours)
    if lab not in changed.labs:
        changed.labs.append(lab)
    _save(record, kept)


def release_emulation(lab: str, record: Path = RECORD) -> None:
    """The lab no longer needs emulation: the last lab out puts the machine back."""
    with locked():
        _release(lab, record)


def _release(lab: str, record: Path) -> None:
    kept = _load(record)
    for arch, changed in list(kept.items()):
        if lab not in changed.labs:
            continue
        changed.labs.remove(lab)
        if changed.labs:
            continue
        current = BINFMT / f"qemu-{QEMU[arch]}"
        if current.exists():
            current.write_text("-1")
        if changed.previous:
            (BINFMT / "register").write_text(changed.previous)
            if not changed.previous_enabled:
                current.write_text("0")
        if changed.mounted:
            run(["umount", str(BINFMT)], check=False)
        del kept[arch]
    _save(record, kept)


@contextlib.contextmanager
def emulated(arch: str, user: str) -> Iterator[None]:
    """`arch` programs run inside the block (building a base, resolving its packages).
    Each block is a user of its own (two package builds at once are two users)."""
    user = f"{user}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    ensure_emulation(arch, user)
    try:
        yield
    finally:
        release_emulation(user)


def _rule(packaged: Path, binary: Path) -> str:
    """The packaged rule, with the static interpreter and flag F."""
    fields = packaged.read_text().strip().split(":")
    fields[6], fields[7] = str(binary), "F"
    return ":".join(fields)


def _unescape(text: str) -> str:
    """`\\x7f\\x45...` as the rule writes bytes -> `7f45...` as the kernel shows them."""
    return text.encode("ascii").decode("unicode_escape").encode("latin-1").hex()


def _fields(rule: str) -> dict[str, str]:
    parts = rule.split(":")
    return {
        "interpreter": parts[6],
        "flags:": parts[7],
        "magic": _unescape(parts[4]),
        "mask": _unescape(parts[5]),
    }


def _shown(entry: Path) -> dict[str, str]:
    found = re.findall(r"^(interpreter|flags:|offset|magic|mask) ?(\S*)$", entry.read_text(), re.M)
    return dict(found)


def _registered(entry: Path) -> dict[str, str]:
    """An enabled rule as the kernel shows it, in _fields' terms ({} when disabled)."""
    if not entry.read_text().startswith("enabled"):
        return {}
    shown = _shown(entry)
    return {key: shown.get(key, "") for key in ("interpreter", "flags:", "magic", "mask")}


def _registration(entry: Path) -> str:
    """A rule the kernel holds, written as one registers it again."""
    shown = _shown(entry)

    def escape(hexed: str) -> str:
        return "".join(f"\\x{hexed[i : i + 2]}" for i in range(0, len(hexed), 2))

    return ":".join([
        "", entry.name, "M", shown.get("offset", "0"), escape(shown.get("magic", "")),
        escape(shown.get("mask", "")), shown.get("interpreter", ""), shown.get("flags:", ""),
    ])  # fmt: skip


def _load(record: Path) -> Record:
    """The record, less the `emulated` blocks whose process is gone (killed in the block)."""
    if not record.exists():
        return {}
    with contextlib.suppress(ValueError):
        loaded = json.loads(record.read_text())
        kept = {arch: Changed.model_validate(value) for arch, value in loaded.items()}
        for changed in kept.values():
            changed.labs = [user for user in changed.labs if _alive(user)]
        return kept
    return {}


def _alive(user: str) -> bool:
    """A lab (a name) lives until it goes down; an `emulated` block as long as its process."""
    parts = user.split(":")
    return len(parts) != 3 or not parts[1].isdigit() or alive(int(parts[1]))


def _save(record: Path, kept: Record) -> None:
    if kept:
        record.parent.mkdir(parents=True, exist_ok=True)
        document = {arch: changed.model_dump() for arch, changed in kept.items()}
        write_atomic(record, json.dumps(document, indent=1, sort_keys=True).encode())
    else:
        record.unlink(missing_ok=True)
