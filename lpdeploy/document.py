"""Read YAML and JSON input files into plain data, and validate them into models.

Every problem becomes an `Issue` naming the file, the line, the field and what was
expected; all problems of a file are reported together.
"""

from __future__ import annotations

import difflib
import json
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from lpdeploy.errors import InputError, Issue

Loc = tuple[str | int, ...]
FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: the same data and marks, ten times faster."""
T = TypeVar("T")


@dataclass
class Document:
    """Parsed data of one file plus a way to find the line of any field in it."""

    path: str
    data: Any
    text: str
    _lines: dict[Loc, int] | None = field(default=None, repr=False)

    def line_of(self, loc: Loc) -> int | None:
        """Line (1-based) of the deepest part of `loc` that exists in the file."""
        if self._lines is None:
            self._lines = _node_lines(self.text)
        while loc:
            if loc in self._lines:
                return self._lines[loc]
            loc = loc[:-1]
        return self._lines.get((), None)


def format_loc(loc: Iterable[str | int]) -> str:
    """('centres', 3, 'learners') -> 'centres[3].learners'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def read_text(path: Path) -> str:
    """Read a text input file, turning every way of failing into an InputError."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError.single(name, "file not found") from None
    except IsADirectoryError:
        raise InputError.single(name, "is a folder, expected a file") from None
    except OSError as exc:
        raise InputError.single(name, f"cannot be read: {exc.strerror}") from None
    if b"\0" in raw:
        raise InputError.single(name, "is a binary file, expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.single(name, f"is not UTF-8 text (byte {exc.start})") from None


def load_yaml(path: Path) -> Document:
    """Parse a YAML mapping, refusing syntax errors, duplicate keys and empty files."""
    text = read_text(path)
    name = str(path)
    loader = FAST_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError.single(name, "is empty, expected a YAML mapping")
        duplicates = list(_duplicate_keys(node, ()))
        if duplicates:
            raise InputError(
                [Issue(name, line, format_loc(loc), "duplicate key") for loc, line in duplicates]
            )
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise InputError.single(name, f"YAML syntax error: {problem}", line=line) from None
    except yaml.YAMLError as exc:
        raise InputError.single(name, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise InputError.single(name, f"expected a mapping of keys to values, got a {kind}", line=1)
    return Document(path=name, data=data, text=text)


def load_json(path: Path) -> Document:
    """Parse a JSON document (lines of fields are only looked up when something is wrong)."""
    text = read_text(path)
    name = str(path)
    if not text.strip():
        raise InputError.single(name, "is empty, expected a JSON object")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single(name, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError.single(name, "expected a JSON object", line=1)
    return Document(path=name, data=data, text=text)


def validate(
    model: type[BaseModel] | TypeAdapter[T],
    doc: Document,
    data: Any = None,
    base: Loc = (),
) -> Any:
    """Validate `data` (default: the whole document) into `model`, or raise every issue."""
    target = doc.data if data is None else data
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_python(target)
        return model.model_validate(target)
    except ValidationError as exc:
        raise InputError(issues_from(exc, doc, base, model)) from None


def issues_from(
    exc: ValidationError, doc: Document, base: Loc, model: type[BaseModel] | TypeAdapter[Any]
) -> list[Issue]:
    issues = []
    for err in exc.errors(include_url=False):
        loc: Loc = (*base, *err["loc"])
        issues.append(Issue(doc.path, doc.line_of(loc), format_loc(loc), _describe(err, model)))
    return sorted(issues, key=lambda i: (i.line or 0, i.field))


def _describe(err: Any, model: type[BaseModel] | TypeAdapter[Any]) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required, but missing"
    if kind == "extra_forbidden":
        name = str(err["loc"][-1])
        hint = _did_you_mean(name, _known_keys(model, err["loc"][:-1]))
        return f"unknown key '{name}'{hint}"
    message = str(err["msg"])
    message = message.removeprefix("Value error, ")
    got = err.get("input")
    if isinstance(got, (str, int, float, bool)) and kind != "value_error":
        return f"{message[0].lower()}{message[1:]} (got {got!r})"
    return message


def _did_you_mean(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else f"; expected one of: {', '.join(known)}"


def _known_keys(model: type[BaseModel] | TypeAdapter[Any], loc: Iterable[str | int]) -> list[str]:
    """Field names of the model found at `loc`, walking nested models, lists and dicts."""
    current: Any = model if isinstance(model, type) else None
    in_dict = False
    for part in loc:
        if current is None:
            return []
        if isinstance(part, int) or in_dict:
            in_dict = False  # an index, or a key of a mapping of models (hardware_models)
            continue
        info = current.model_fields.get(part)
        current = _model_inside(info.annotation) if info else None
        in_dict = info is not None and typing.get_origin(info.annotation) is dict
    return sorted(current.model_fields) if current is not None else []


def _model_inside(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_inside(arg)
        if found is not None:
            return found
    return None


def _duplicate_keys(node: yaml.Node, loc: Loc) -> Iterable[tuple[Loc, int]]:
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else str(key)
            if name in seen:
                yield (*loc, name), key.start_mark.line + 1
            seen.add(name)
            yield from _duplicate_keys(value, (*loc, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(item, (*loc, index))


def _node_lines(text: str) -> dict[Loc, int]:
    """Map every key path in a YAML (or JSON) text to the line it starts on."""
    try:
        root = yaml.compose(text, Loader=FAST_LOADER)
    except yaml.YAMLError:
        return {}
    lines: dict[Loc, int] = {}

    def walk(node: yaml.Node, loc: Loc, line: int) -> None:
        lines[loc] = line
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                walk(value, (*loc, key.value), key.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index), item.start_mark.line + 1)

    if root is not None:
        walk(root, (), root.start_mark.line + 1)
    return lines
