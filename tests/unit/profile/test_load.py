from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.errors import InputError
from lpdeploy.profile import load_profile

GOOD = """\
name: test-camp
region:
  country: BD
  timezone: Asia/Dhaka
languages: [rhg, my, en]
connectivity: offline
centres:
  - id: lc-01
    learners: 300
  - id: lc-02
    learners: 120
    languages: [rhg, en]
"""

Write = Callable[[str, str], Path]


def problems(path: Path) -> list[tuple[int | None, str, str]]:
    with pytest.raises(InputError) as caught:
        load_profile(path)
    return [(i.line, i.field, i.message) for i in caught.value.issues]


def test_good_profile_loads(write: Write) -> None:
    loaded = load_profile(write("p.yaml", GOOD))
    assert loaded.profile.name == "test-camp"
    assert loaded.profile.centre_languages(loaded.profile.centres[1]) == ["rhg", "en"]
    assert loaded.profile.region.timezone == "Asia/Dhaka"
    assert len(loaded.sha256) == 64


@pytest.mark.parametrize("tag", ["rhg", "my", "ar", "fr", "uk", "tet", "pt-BR"])
def test_valid_language_tags(write: Write, tag: str) -> None:
    text = GOOD.replace(
        "[rhg, my, en]", f"[{tag}, rhg, en]" if tag not in ("rhg", "en") else "[rhg, en]"
    )
    assert load_profile(write("p.yaml", text)).profile.languages[0] == tag


@pytest.mark.parametrize(
    ("old", "new", "line", "field", "words"),
    [
        (
            "connectivity: offline",
            "conectivity: offline",
            6,
            "conectivity",
            "did you mean 'connectivity'",
        ),
        ("country: BD", "country: XX", 3, "region.country", "ISO 3166-1"),
        ("country: BD", "country: [BD]", 3, "region.country", "valid string"),
        ("Asia/Dhaka", "Asia/Atlantis", 4, "region.timezone", "IANA time zone"),
        ("[rhg, my, en]", "[rhg, xx-invalid]", 5, "languages[1]", "BCP 47"),
        ("[rhg, my, en]", "[]", 5, "languages", "at least 1"),
        ("connectivity: offline", "connectivity: dial-up", 6, "connectivity", "'offline'"),
        ("learners: 300", "learners: -5", 9, "centres[0].learners", "greater than 0"),
        ("learners: 300", "learners: lots", 9, "centres[0].learners", "valid integer"),
        ("id: lc-02", "id: lc-01", 10, "centres[1].id", "duplicate centre id 'lc-01'"),
        ("id: lc-02", "id: LC 2", 10, "centres[1].id", "not a slug"),
        (
            "languages: [rhg, en]",
            "languages: [rhg, fr]",
            12,
            "centres[1].languages[1]",
            "'fr' is not among",
        ),
        (
            "    learners: 120\n",
            "    learners: 120\n    hardware: pi-zero\n",
            12,
            "centres[1].hardware",
            "unknown hardware model 'pi-zero'",
        ),
        (
            "    learners: 120\n",
            "    learners: 120\n    hots: 10.0.0.1\n",
            12,
            "centres[1].hots",
            "did you mean 'host'",
        ),
        ("name: test-camp", "name: Test Camp", 1, "name", "not a slug"),
        (
            "connectivity: offline\n",
            "connectivity: offline\nhardware: abacus\n",
            7,
            "hardware",
            "unknown hardware",
        ),
    ],
)
def test_each_error_names_line_and_field(
    write: Write, old: str, new: str, line: int, field: str, words: str
) -> None:
    assert old in GOOD
    found = problems(write("p.yaml", GOOD.replace(old, new, 1)))
    assert any(ln == line and f == field and words in m for ln, f, m in found), found


def test_missing_required_field_is_reported_at_its_parent(write: Write) -> None:
    found = problems(write("p.yaml", GOOD.replace("connectivity: offline\n", "")))
    assert (1, "connectivity", "required, but missing") in found


def test_empty_centres(write: Write) -> None:
    text = GOOD[: GOOD.index("centres:")] + "centres: []\n"
    found = problems(write("p.yaml", text))
    assert any(f == "centres" and "at least 1" in m for _, f, m in found)


def test_all_errors_reported_at_once(write: Write) -> None:
    text = GOOD.replace("country: BD", "country: XX").replace("learners: 300", "learners: 0")
    text = text.replace("connectivity: offline", "connectivity: sometimes")
    assert len(problems(write("p.yaml", text))) == 3


def test_duplicate_yaml_key(write: Write) -> None:
    found = problems(write("p.yaml", GOOD + "name: again\n"))
    assert found == [(13, "name", "duplicate key")]


@pytest.mark.parametrize(
    ("content", "words", "line"),
    [
        ("", "is empty", None),
        ("# only a comment\n", "is empty", None),
        ("- a\n- b\n", "expected a mapping", 1),
        ("just words\n", "expected a mapping", 1),
        ("name: [unclosed\nregion: x\n", "YAML syntax error", 2),
        ("a: b\n\tc: d\n", "YAML syntax error", 2),
    ],
)
def test_file_level_errors(write: Write, content: str, words: str, line: int | None) -> None:
    [(found_line, _, message)] = problems(write("p.yaml", content))
    assert words in message
    assert found_line == line


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\x7fELF\x02\x01\x00\x00binary")
    assert "binary file" in problems(path)[0][2]


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes("name: caf\u00e9\n".encode("latin-1"))
    assert "not UTF-8" in problems(path)[0][2]


def test_missing_file(tmp_path: Path) -> None:
    assert problems(tmp_path / "none.yaml")[0][2] == "file not found"


def test_folder_instead_of_file(tmp_path: Path) -> None:
    assert "is a folder" in problems(tmp_path)[0][2]


def test_cli_error_exit_2_without_traceback(runner: CliRunner, write: Write) -> None:
    path = write("p.yaml", GOOD.replace("learners: 300", "learners: -1"))
    result = runner.invoke(app, ["profile", "validate", str(path)])
    assert result.exit_code == 2
    assert f"{path}:9: centres[0].learners:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout == ""


def test_cli_error_json_document(runner: CliRunner, write: Write) -> None:
    path = write("p.yaml", GOOD.replace("learners: 300", "learners: -1"))
    result = runner.invoke(app, ["profile", "validate", str(path), "--json"])
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert document["ok"] is False
    assert document["errors"][0]["line"] == 9
    assert document["errors"][0]["field"] == "centres[0].learners"


def test_cli_validate_json(runner: CliRunner, write: Write) -> None:
    result = runner.invoke(app, ["profile", "validate", str(write("p.yaml", GOOD)), "--json"])
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] is True
    assert document["profile"]["centres"][0]["id"] == "lc-01"
    assert document["profile"]["hardware"] == "rpi4-128g"


def test_cli_validate_summary(runner: CliRunner, write: Write) -> None:
    result = runner.invoke(app, ["profile", "validate", str(write("p.yaml", GOOD))])
    assert result.exit_code == 0
    assert "Rohingya" in result.stdout
    assert "2 with 420 learners" in result.stdout


def test_cli_schema(runner: CliRunner) -> None:
    result = runner.invoke(app, ["profile", "schema"])
    schema = json.loads(result.stdout)
    assert "centres" in schema["required"]
    assert schema["additionalProperties"] is False


def test_examples_validate(runner: CliRunner) -> None:
    examples = sorted((Path(__file__).parents[3] / "examples" / "profiles").glob("*.yaml"))
    assert len(examples) >= 3
    for example in examples:
        result = runner.invoke(app, ["profile", "validate", str(example)])
        assert result.exit_code == 0, (example, result.stderr)


HUBS = (
    GOOD
    + """\
  - id: lc-03
    learners: 90
  - id: hq-01
    learners: 40
hubs:
  - id: north-hub
    host: 10.9.0.2
    centres: [lc-0*]
  - id: hq-hub
    centres: [hq-01]
"""
)


def test_hubs_serve_centres_by_id_or_pattern(write: Write) -> None:
    profile = load_profile(write("p.yaml", HUBS)).profile
    assert profile.hub_of() == {
        "lc-01": "north-hub", "lc-02": "north-hub", "lc-03": "north-hub", "hq-01": "hq-hub",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("change", "line", "field", "words"),
    [
        (("[hq-01]", "[hq-02]"), 22, "hubs[1].centres[0]", "'hq-02' names no centre"),
        (("[hq-01]", "[lc-02]"), 22, "hubs[1].centres[0]", "served by hub 'north-hub' already"),
        (("id: hq-hub", "id: north-hub"), 21, "hubs[1].id", "duplicate hub id 'north-hub'"),
        (("id: hq-hub", "id: lc-01"), 21, "hubs[1].id", "'lc-01' is a centre's id"),
        (("[hq-01]", "[]"), 22, "hubs[1].centres", "at least 1 item"),
    ],
)
def test_hub_mistakes_are_named(
    write: Write, change: tuple[str, str], line: int, field: str, words: str
) -> None:
    found = problems(write("p.yaml", HUBS.replace(*change)))
    assert any((at, where) == (line, field) and words in message for at, where, message in found), (
        found
    )
