"""Read YAML and JSON input files into plain data, and validate them into models.

Every problem becomes an `Issue` naming the file, the line, the field and what was
expected; all problems of a file are reported together. Every file is read within limits
(size, nesting, scalar length, alias expansion) checked before anything spends time or
memory on it: a file built to exhaust them is refused like any other wrong input.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import typing
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import accumulate, chain
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, TypeAdapter, ValidationError

from lpdeploy.errors import InputError, Issue

Loc = tuple[str | int, ...]
FAST_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's loader where PyYAML has it: the same data and marks, ten times faster."""
T = TypeVar("T")

MB = 10**6
MAX_YAML_BYTES = 8 * MB
"""YAML is written by hand (profiles, bundle.yaml, inventories, vaults): the 34,000-centre
benchmark profile is 2.9 MB."""
MAX_JSON_BYTES = 256 * MB
"""JSON is written by lpdeploy (plans, catalog indexes, manifests, journal extracts, usage
exports): a plan of 3,400 centres over a 13,529-bundle catalog is 64 MB."""
MAX_DEPTH = 100
"""Real files nest 4 to 8 levels (inventories the most); deeper ones only exhaust readers."""
MAX_SCALAR = MB
"""The longest text value: names, paths and messages are far shorter."""
MAX_EXPANSION = 10
"""YAML aliases may repeat nodes up to this many per character of text: sharing a block of
settings passes, a "billion laughs" (nine lines, a billion nodes) does not."""

_LONG_STRING = re.compile(rb'"[^"]{%d}' % (MAX_SCALAR + 1))
_NOT_MARKS = bytes(set(range(256)) - set(b'"[]{}'))
_STRING = re.compile(rb'"[^"]*"')
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


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


def read_bytes(path: Path, limit: int) -> bytes:
    """Read an input file of at most `limit` bytes, turning every way of failing into an
    InputError."""
    name = str(path)
    try:
        with path.open("rb") as handle:
            # A big file is refused unread; a pipe, whose size is 0, is read up to the limit.
            size = os.fstat(handle.fileno()).st_size
            raw = b"" if size > limit else handle.read(limit + 1 if size == 0 else -1)
    except FileNotFoundError:
        raise InputError.single(name, "file not found") from None
    except IsADirectoryError:
        raise InputError.single(name, "is a folder, expected a file") from None
    except OSError as exc:
        raise InputError.single(name, f"cannot be read: {exc.strerror}") from None
    if size > limit or len(raw) > limit:
        raise InputError.single(
            name, f"is larger than {limit / MB:g} MB, expected a file of at most that size"
        )
    return raw


def read_text(path: Path, limit: int) -> str:
    """Read a UTF-8 text input file of at most `limit` bytes."""
    return _decode(read_bytes(path, limit), str(path))


def _decode(raw: bytes, name: str) -> str:
    if b"\0" in raw:
        raise InputError.single(name, "is a binary file, expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError.single(name, f"is not UTF-8 text (byte {exc.start})") from None


def load_yaml(path: Path) -> Document:
    """Parse a YAML mapping, refusing syntax errors, duplicate keys, empty files and what
    is beyond the limits."""
    text = read_text(path, MAX_YAML_BYTES)
    name = str(path)
    data = parse_yaml(text, name)
    if not isinstance(data, dict):
        kind = type(data).__name__
        raise InputError.single(name, f"expected a mapping of keys to values, got a {kind}", line=1)
    return Document(path=name, data=data, text=text)


def parse_yaml(text: str, name: str) -> Any:
    """The data of one YAML document within the limits, keys unique in every mapping."""
    loader = FAST_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise InputError.single(name, "is empty, expected a YAML mapping")
        _check_nodes(node, len(text), name)
        duplicates = list(_duplicate_keys(node, ()))
        if duplicates:
            raise InputError(
                [Issue(name, line, format_loc(loc), "duplicate key") for loc, line in duplicates]
            )
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, name) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tag on a wrong value: !!int abc
        raise InputError.single(name, f"YAML value cannot be read: {exc}") from None
    finally:
        loader.dispose()


def check_yaml(text: str, name: str, lenient: bool = False) -> None:
    """Check YAML another program (Ansible) will read: refuse it when it does not parse or
    is built to exhaust its reader; `lenient` lets text that is not YAML through (INI)."""
    try:
        node = yaml.compose(text, Loader=FAST_LOADER)
    except yaml.YAMLError as exc:
        if lenient:
            return
        raise _yaml_error(exc, name) from None
    if node is not None:
        _check_nodes(node, len(text), name)


def _yaml_error(exc: yaml.YAMLError, name: str) -> InputError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        return InputError.single(name, f"YAML syntax error: {problem}", line=line)
    return InputError.single(name, f"YAML error: {exc}")


def _check_nodes(root: yaml.Node, chars: int, name: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH, a scalar longer than MAX_SCALAR, or aliases that
    expand the document past MAX_EXPANSION nodes per character. Walked one depth at a time,
    each node once per depth with the number of times aliases repeat it there: the walk
    costs what the text holds, never what it expands to (nor forever, where an alias holds
    itself)."""
    level: dict[yaml.Node, int] = {root: 1} if isinstance(root, yaml.CollectionNode) else {}
    expanded = depth = 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise _too_deep(name, next(iter(level)).start_mark.line + 1)
        below: dict[yaml.Node, int] = {}
        for node, times in level.items():
            pairs = isinstance(node, yaml.MappingNode)
            for part in chain.from_iterable(node.value) if pairs else node.value:
                expanded += times
                if not isinstance(part, yaml.ScalarNode):
                    below[part] = below.get(part, 0) + times
                elif len(part.value) > MAX_SCALAR:
                    raise _too_long(name, part.start_mark.line + 1)
        if expanded > MAX_EXPANSION * chars:
            why = f"aliases expand it past {MAX_EXPANSION} nodes per character, expected fewer"
            raise InputError.single(name, why)
        level = below


def load_json(path: Path) -> Document:
    """Parse a JSON document (lines of fields are only looked up when something is wrong)."""
    name = str(path)
    text = _decode(read_json(path), name)
    if not text.strip():
        raise InputError.single(name, "is empty, expected a JSON object")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError.single(name, f"not valid JSON: {exc.msg}", line=exc.lineno) from None
    if not isinstance(data, dict):
        raise InputError.single(name, "expected a JSON object", line=1)
    return Document(path=name, data=data, text=text)


def read_json(path: Path) -> bytes:
    """The bytes of a JSON file within the limits, for any JSON parser. Scanned in C-speed
    passes over the bytes: a parser would recurse through deep nesting before failing."""
    raw = read_bytes(path, MAX_JSON_BYTES)
    # Without escapes, every quote opens or closes a string.
    bare = raw.replace(b"\\\\", b"").replace(b'\\"', b"") if b"\\" in raw else raw
    long = _LONG_STRING.search(bare)
    if long:
        raise _too_long(str(path), bare.count(b"\n", 0, long.start()) + 1)
    # Quotes and brackets only; then empty strings (and quotes with nothing between them,
    # which joins two strings) and strings holding brackets go; the brackets are left.
    marks = bare.translate(None, _NOT_MARKS).replace(b'""', b"")
    steps = array("b", _STRING.sub(b"", marks).translate(_STEPS, b'"'))  # +1 and -1
    if max(accumulate(steps), default=0) > MAX_DEPTH:
        raise _too_deep(str(path), None)
    return raw


def _too_long(name: str, line: int) -> InputError:
    why = f"holds a value longer than {MAX_SCALAR // MB} MB, expected shorter text"
    return InputError.single(name, why, line=line)


def _too_deep(name: str, line: int | None) -> InputError:
    why = f"nests deeper than {MAX_DEPTH} levels, expected a flatter document"
    return InputError.single(name, why, line=line)


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
