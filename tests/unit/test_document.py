"""The limits every input file is read within: where each one starts, and that real uses of
what they limit (anchors, brackets in text, INI inventories) still pass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from lpdeploy.document import (
    MAX_DEPTH,
    MAX_SCALAR,
    check_yaml,
    load_json,
    load_yaml,
    read_bytes,
)
from lpdeploy.errors import InputError

Write = Callable[[str, str], Path]


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


def test_json_nests_up_to_the_limit(write: Write) -> None:
    assert load_json(write("ok.json", nested(MAX_DEPTH))).data["a"]
    with pytest.raises(InputError, match=rf"deep\.json: nests deeper than {MAX_DEPTH} levels"):
        load_json(write("deep.json", nested(MAX_DEPTH + 1)))


def test_brackets_and_escaped_quotes_in_json_text_are_not_nesting(write: Write) -> None:
    text = '{"a": "' + "[" * 300 + '", "b": "\\"' + "{" * 300 + '", "c": "\\\\", "d": [[]]}'
    assert load_json(write("text.json", text)).data["d"] == [[]]


def test_yaml_nests_up_to_the_limit(write: Write) -> None:
    flow = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # the mapping is one level
    assert load_yaml(write("ok.yaml", flow)).data["a"]
    block = "".join("  " * level + f"k{level}:\n" for level in range(MAX_DEPTH + 1)) + "  x: 1\n"
    with pytest.raises(InputError, match=rf"deep\.yaml:{MAX_DEPTH + 1}: nests deeper"):
        load_yaml(write("deep.yaml", block))


def test_a_value_longer_than_the_limit_is_refused_at_its_line(write: Write) -> None:
    fits = "x" * MAX_SCALAR
    assert load_json(write("ok.json", f'{{"a": "{fits}"}}')).data["a"] == fits
    with pytest.raises(InputError, match=r"long\.json:3: holds a value longer than 1 MB"):
        load_json(write("long.json", f'{{\n"a": 1,\n"b": "{fits}x"}}'))
    with pytest.raises(InputError, match=r"long\.yaml:2: holds a value longer than 1 MB"):
        load_yaml(write("long.yaml", f"a: 1\nb: {fits}x\n"))


def test_anchors_shared_by_many_entries_pass(write: Write) -> None:
    centres = "".join(f"  - {{<<: *defaults, id: lc-{n:03d}}}\n" for n in range(300))
    text = "defaults: &defaults {hardware: rpi4-128g, languages: [rhg, my, en]}\ncentres:\n"
    data = load_yaml(write("shared.yaml", text + centres)).data
    assert data["centres"][299] == {
        "hardware": "rpi4-128g",
        "languages": ["rhg", "my", "en"],
        "id": "lc-299",
    }


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a: &a [x, x, x, x, x, x, x, x]\n" + "".join(
            f"{b}: &{b} [*{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}, *{a}]\n"
            for a, b in zip("abcde", "bcdef", strict=True)
        ), id="aliases of aliases"),
        pytest.param("a: &a [1, *a]\n", id="an alias holding itself"),
    ],
)  # fmt: skip
def test_aliases_that_expand_past_the_limit_are_refused(write: Write, text: str) -> None:
    with pytest.raises(InputError, match=r"bomb\.yaml: aliases expand it past 10 nodes per char"):
        load_yaml(write("bomb.yaml", text))


def test_a_file_without_a_size_is_read_up_to_the_limit() -> None:
    with pytest.raises(InputError, match=r"/dev/zero: is larger than 0\.001 MB"):
        read_bytes(Path("/dev/zero"), 1000)


def test_text_that_is_not_yaml_passes_only_when_it_may_be_ini() -> None:
    ini = "[centres]\nlc-01 ansible_host=10.0.0.1\n"
    check_yaml(ini, "hosts", lenient=True)
    with pytest.raises(InputError, match=r"hosts\.yml:2: YAML syntax error"):
        check_yaml(ini, "hosts.yml")
    with pytest.raises(InputError, match="hosts: aliases expand it past"):
        check_yaml("a: &a [1, *a]\n", "hosts", lenient=True)


@pytest.mark.parametrize("value", ["!!int abc", "!!float x1", "!!timestamp 2026-13-45"])
def test_a_tag_on_a_value_it_cannot_hold_is_an_input_error(write: Write, value: str) -> None:
    with pytest.raises(InputError, match=r"tagged\.yaml: YAML"):
        load_yaml(write("tagged.yaml", f"name: {value}\n"))
