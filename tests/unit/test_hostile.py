"""Hostile input (issue 18): every YAML or JSON file lpdeploy reads, built to exhaust time or
memory (an alias bomb, deep nesting, a huge scalar, a huge file), is refused with exit 2 and
the file named, within 2 s and 200 MB (tracemalloc's peak of this process).

Each case drives the command that reads the file, or where none does on its own (an
inventory, a vault), the function that commands call.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lpdeploy.cli import app
from lpdeploy.document import MAX_DEPTH, MAX_JSON_BYTES, MAX_SCALAR, MAX_YAML_BYTES, MB
from lpdeploy.errors import LpdeployError
from lpdeploy.runner.inventory import inventory_connections
from lpdeploy.runner.vault import encrypt
from lpdeploy.secrets import SecretSource, resolve_secrets

SECONDS = 2.0
PEAK_BYTES = 200 * MB
NESTS = 100_000


def billion_laughs() -> str:
    """Nine lines whose aliases expand to 10**9 scalars."""
    lines = ["a: &a [" + ", ".join(["lol"] * 10) + "]"]
    for a, b in itertools.pairwise("abcdefghi"):
        lines.append(f"{b}: &{b} [" + ", ".join([f"*{a}"] * 10) + "]")
    return "\n".join(lines) + "\n"


LAUGHS = billion_laughs()
HUGE = "x" * (MAX_SCALAR * 3 // 2)
"""Past the limit, and small enough that a vault holding it is not past its own."""
YAML_CASES = {
    "alias bomb": LAUGHS,
    "deep nesting": "name: " + "[" * NESTS + "]" * NESTS,
    "nesting past the limit": "name: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH,
    "huge scalar": f"name: {HUGE}\n",
}
JSON_CASES = {
    "deep lists": "[" * NESTS + "]" * NESTS,
    "deep objects": '{"a": ' * NESTS + "1" + "}" * NESTS,
    "huge scalar": f'{{"schema_version": 1, "name": "{HUGE}"}}',
}
OVERSIZED = "oversized file"
"""A sparse file one byte over the limit of its kind: refused unread."""
SAYS = {
    "alias bomb": "aliases expand it past 10 nodes per character",
    "deep nesting": "exceeded maximum nesting depth",  # libyaml's own limit, at 1,000
    "nesting past the limit": f"nests deeper than {MAX_DEPTH} levels",
    "deep lists": f"nests deeper than {MAX_DEPTH} levels",
    "deep objects": f"nests deeper than {MAX_DEPTH} levels",
    "huge scalar": "holds a value longer than 1 MB",
    OVERSIZED: "is larger than",
}
HIDDEN = "expected a YAML mapping of names to values once decrypted"
"""What a vault says of text that does not parse: saying why could quote its secrets."""

Outcome = tuple[int, str]
"""Exit code and what was said on stderr."""


def command(*args: str) -> Callable[[Path], Outcome]:
    """A CLI run with `{}` in its arguments standing for the test's folder, which also
    holds its LPDEPLOY_HOME."""

    def run(folder: Path) -> Outcome:
        env = {"LPDEPLOY_HOME": str(folder / "home")}
        result = CliRunner().invoke(app, [arg.format(folder) for arg in args], env=env)
        return result.exit_code, result.stderr

    return run


def calling(function: Callable[[Path], object]) -> Callable[[Path], Outcome]:
    """A call of what commands call, its error turned into the exit the CLI would make."""

    def run(folder: Path) -> Outcome:
        try:
            function(folder)
        except LpdeployError as exc:
            return exc.exit_code, str(exc)
        return 0, ""

    return run


def vault_secrets(folder: Path) -> object:
    source = SecretSource(vault="secrets.vault.yml", key="admin")
    return resolve_secrets({"admin_password": source}, folder, folder / "pw")


KINDS: dict[str, tuple[str, Callable[[Path], Outcome]]] = {
    "profile": ("profile.yaml", command("profile", "validate", "{}/profile.yaml")),
    "bundle source": ("src/bundle.yaml", command("bundle", "build", "{}/src", "--out", "{}/out")),
    "inventory": ("inventory.yml", calling(lambda f: inventory_connections(f / "inventory.yml"))),
    "secrets vault": ("secrets.vault.yml", calling(vault_secrets)),
    "plan": ("plan.json", command("plan", "show", "{}/plan.json")),
    "catalog index": (
        "catalog/catalog.json",
        command("catalog", "list", "--catalog", "{}/catalog"),
    ),
    "bundle manifest": ("bundle/bundle.json", command("bundle", "verify", "{}/bundle")),
    "kit manifest": ("kit/kit.json", command("kit", "verify", "{}/kit")),
    "journal extract": ("usb/journal.json", command("status", "import", "{}/usb")),
    "usage export": ("export/manifest.json", command("usage", "import", "{}/export")),
}


def cases_of(name: str) -> list[str]:
    return [*(YAML_CASES if name.endswith((".yml", ".yaml")) else JSON_CASES), OVERSIZED]


CASES = [
    pytest.param(kind, case, id=f"{kind}: {case}")
    for kind, (name, _) in KINDS.items()
    for case in cases_of(name)
]


def plant(path: Path, case: str) -> None:
    """Write the hostile file (encrypted, for a vault: what it holds once decrypted)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    yaml = path.suffix in (".yml", ".yaml")
    vault = path.name == "secrets.vault.yml"
    if vault:
        (path.parent / "pw").write_text("vault-pw\n")
    if case == OVERSIZED:
        with path.open("wb") as handle:
            handle.truncate((MAX_YAML_BYTES if yaml else MAX_JSON_BYTES) + 1)
        return
    text = YAML_CASES[case] if yaml else JSON_CASES[case]
    path.write_bytes(encrypt(text, "vault-pw") if vault else text.encode())


@pytest.mark.parametrize(("kind", "case"), CASES)
def test_refused_quickly_naming_the_file(tmp_path: Path, kind: str, case: str) -> None:
    name, run = KINDS[kind]
    plant(tmp_path / name, case)
    hidden = kind == "secrets vault" and case == "deep nesting"
    refused_within_bounds(run, tmp_path, tmp_path / name, HIDDEN if hidden else SAYS[case])


def test_a_usage_file_its_manifest_lists_is_refused_too(tmp_path: Path) -> None:
    export = tmp_path / "export"
    data = JSON_CASES["deep lists"].encode()
    entry = {
        "path": "centres/c1.json",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    (export / "centres").mkdir(parents=True)
    (export / "centres" / "c1.json").write_bytes(data)
    (export / "manifest.json").write_text(json.dumps({"files": [entry]}))
    run = command("usage", "import", "{}/export")
    refused_within_bounds(run, tmp_path, export / "centres" / "c1.json", SAYS["deep lists"])


def test_an_inventory_reads_its_group_vars_within_bounds(tmp_path: Path) -> None:
    (tmp_path / "inventory.yml").write_text("all:\n  hosts:\n    lc-01:\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(LAUGHS)
    run = calling(lambda f: inventory_connections(f / "inventory.yml"))
    refused_within_bounds(run, tmp_path, tmp_path / "group_vars" / "all.yml", SAYS["alias bomb"])


def refused_within_bounds(
    run: Callable[[Path], Outcome], folder: Path, path: Path, says: str
) -> None:
    tracemalloc.start()
    start = time.perf_counter()
    try:
        code, said = run(folder)
    finally:
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert code == 2, said
    assert str(path) in said
    assert says in said
    assert "Traceback" not in said
    assert seconds < SECONDS, f"{seconds:.2f} s"
    assert peak < PEAK_BYTES, f"{peak / MB:.0f} MB"
