"""Writing results: canonical JSON, and files replaced atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def canonical_json(value: Any) -> bytes:
    """Sorted keys, UTF-8, one line per top-level key and per item of a top-level list.

    The same value always gives the same bytes. The layout keeps large documents (a plan of
    thousands of centres) fast to write, with the C encoder, and easy to diff line by line.
    """
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if not isinstance(value, dict) or not value:
        return (_compact(value) + "\n").encode("utf-8")
    parts = []
    for key in sorted(value):
        item = value[key]
        if isinstance(item, list) and item:
            inner = ",\n    ".join(_compact(element) for element in item)
            parts.append(f"  {_compact(key)}: [\n    {inner}\n  ]")
        else:
            parts.append(f"  {_compact(key)}: {_compact(item)}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode("utf-8")


def _compact(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def write_atomic(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
