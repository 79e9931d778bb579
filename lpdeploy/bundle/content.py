"""Walk a bundle's content/ tree and refuse what must never travel in a bundle."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from lpdeploy.errors import Issue


@dataclass(frozen=True)
class ContentFile:
    relative: str
    """POSIX path relative to content/."""
    source: Path
    """The file to read (for a link inside the tree, the file it points to)."""


def scan_content(root: Path) -> tuple[list[ContentFile], list[Issue]]:
    """Every regular file under `root`, sorted, and every reason to refuse the tree."""
    files: list[ContentFile] = []
    issues: list[Issue] = []
    folded: dict[str, str] = {}
    top = root.resolve()
    for folder, dirs, names in os.walk(root):
        dirs.sort()
        base = Path(folder)
        for name in sorted(names) + [d for d in dirs if (base / d).is_symlink()]:
            path = base / name
            relative = path.relative_to(root).as_posix()
            problem = _refusal(path, relative, top)
            if problem:
                issues.append(Issue(str(path), None, "", problem))
                continue
            key = relative.casefold()
            if key in folded:
                issues.append(
                    Issue(
                        str(path),
                        None,
                        "",
                        f"name collides with '{folded[key]}' when case is folded",
                    )
                )
                continue
            folded[key] = relative
            files.append(ContentFile(relative=relative, source=path.resolve()))
    files.sort(key=lambda f: f.relative)
    return files, issues


def _refusal(path: Path, relative: str, top: Path) -> str | None:
    try:
        relative.encode("utf-8")
    except UnicodeEncodeError:
        return "file name is not valid UTF-8"
    if "\\" in relative or any(ord(c) < 32 for c in relative):
        return "file name has a backslash or a control character"
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        target = path.resolve()
        if not target.is_relative_to(top):
            return f"symbolic link leaving the bundle (to {path.readlink()})"
        if not target.is_file():
            return "symbolic link to something other than a file"
        return None
    if not stat.S_ISREG(mode):
        return "not a regular file (device, pipe or socket)"
    return None
