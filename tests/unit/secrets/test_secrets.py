"""Secrets: named in the profile, carried by the plan as references, resolved at apply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lpdeploy.errors import InputError
from lpdeploy.plan.model import Plan
from lpdeploy.profile import load_profile
from lpdeploy.runner.vault import encrypt
from lpdeploy.secrets import SecretName, SecretSource, resolve_secrets

PROFILE = """\
name: test-camp
region: {country: BD}
languages: [en]
connectivity: offline
centres:
  - id: lc-01
    learners: 30
"""
SECRET = "planted-Secret-7f3a"


def write_vault(path: Path, text: str, password: str = "vault-pw") -> Path:
    path.write_bytes(encrypt(text, password))
    (path.parent / "pw").write_text(password + "\n")
    return path.parent / "pw"


def messages(caught: pytest.ExceptionInfo[InputError]) -> str:
    return "\n".join(str(i) for i in caught.value.issues)


def test_the_profile_names_sources_not_values(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        PROFILE + "secrets:\n  wifi_passphrase: {env: WIFI}\n"
        "  admin_password: {vault: s.yml, key: admin}\n"
    )
    secrets = load_profile(path).profile.secrets
    assert secrets["wifi_passphrase"] == SecretSource(env="WIFI")
    assert secrets["admin_password"] == SecretSource(vault="s.yml", key="admin")


@pytest.mark.parametrize(
    ("entry", "words"),
    [
        ("wifi: {env: X}", "'wifi_passphrase', 'admin_password' or 'kolibri_admin_password'"),
        ("wifi_passphrase: {env: X, vault: y}", "exactly one of env"),
        ("wifi_passphrase: {}", "exactly one of env"),
        ("wifi_passphrase: {env: X, key: k}", "key: goes with vault"),
        ("wifi_passphrase: {env: 'not a name'}", "pattern"),
        ("wifi_passphrase: {value: hunter2}", "value"),
    ],
)
def test_a_wrong_secret_entry_is_an_input_error(tmp_path: Path, entry: str, words: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(PROFILE + f"secrets:\n  {entry}\n")
    with pytest.raises(InputError) as caught:
        load_profile(path)
    assert words in messages(caught)
    assert [i.line for i in caught.value.issues] == [9]


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("WIFI", SECRET)
    assert resolve_secrets({"wifi_passphrase": SecretSource(env="WIFI")}, tmp_path, None) == {
        "wifi_passphrase": SECRET
    }


def test_an_unset_variable_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("WIFI", raising=False)
    with pytest.raises(InputError) as caught:
        resolve_secrets({"wifi_passphrase": SecretSource(env="WIFI")}, tmp_path, None)
    assert "variable WIFI is not set" in messages(caught)
    assert caught.value.issues[0].field == "secrets.wifi_passphrase"


def test_from_a_vault_beside_the_plan(tmp_path: Path) -> None:
    password = write_vault(tmp_path / "s.yml", f"admin: {SECRET}\nwifi_passphrase: other-one\n")
    sources: dict[SecretName, SecretSource] = {
        "admin_password": SecretSource(vault="s.yml", key="admin"),
        "wifi_passphrase": SecretSource(vault="s.yml"),
    }
    assert resolve_secrets(sources, tmp_path, password) == {
        "admin_password": SECRET,
        "wifi_passphrase": "other-one",
    }


@pytest.mark.parametrize(
    ("vault_text", "password", "words"),
    [
        (f"admin: {SECRET}\n", "wrong", "wrong vault password"),
        ("other: x\n", "vault-pw", "expected a non-empty text under key 'admin'"),
        (f"- {SECRET}\n", "vault-pw", "expected a YAML mapping"),
        (f"admin: [{SECRET}\n", "vault-pw", "expected a YAML mapping"),
    ],
)
def test_vault_problems_never_show_its_content(
    tmp_path: Path, vault_text: str, password: str, words: str
) -> None:
    good = write_vault(tmp_path / "s.yml", vault_text)
    given = tmp_path / "given"
    given.write_text(password)
    with pytest.raises(InputError) as caught:
        resolve_secrets(
            {"admin_password": SecretSource(vault="s.yml", key="admin")}, tmp_path, given
        )
    assert words in messages(caught)
    assert SECRET not in messages(caught)
    assert good.exists()


def test_a_plain_file_is_not_a_vault(tmp_path: Path) -> None:
    (tmp_path / "s.yml").write_text(f"admin: {SECRET}\n")
    (tmp_path / "pw").write_text("x")
    with pytest.raises(InputError) as caught:
        resolve_secrets(
            {"admin_password": SecretSource(vault="s.yml", key="admin")}, tmp_path, tmp_path / "pw"
        )
    assert "not encrypted with ansible-vault" in messages(caught)


def test_a_vault_without_a_password_file_and_a_missing_vault(tmp_path: Path) -> None:
    write_vault(tmp_path / "s.yml", "admin: x\n")
    with pytest.raises(InputError) as caught:
        resolve_secrets(
            {
                "admin_password": SecretSource(vault="s.yml", key="admin"),
                "wifi_passphrase": SecretSource(vault="gone.yml"),
            },
            tmp_path,
            None,
        )
    text = messages(caught)
    assert "--vault-password-file" in text and "vault file not found" in text


def test_the_plan_holds_references_only_when_there_are_some() -> None:
    base = {
        "profile": {"name": "p", "sha256": "0"},
        "catalog": {"sha256": "0"},
        "summary": {
            "centres": 0, "learners": 0, "waves": 0, "bundles_unique": 0, "bytes_total": 0,
            "bytes_unique": 0, "transfer": {"method": "network", "bytes": 0}, "warnings": {},
        },
        "warnings": [],
        "centres": [],
    }  # fmt: skip
    assert "secrets" not in Plan.model_validate(base).model_dump()
    named = Plan.model_validate(base | {"secrets": {"wifi_passphrase": {"env": "WIFI"}}})
    assert json.loads(named.model_dump_json())["secrets"] == {"wifi_passphrase": {"env": "WIFI"}}
