"""Secrets a rollout needs (Wi-Fi passphrase, admin password): where the profile says they
live, and their values, read only at apply time and handed to the runner, never printed.

A profile names a source per secret, never a value:

    secrets:
      wifi_passphrase: {env: LPDEPLOY_WIFI_PASSPHRASE}
      admin_password: {vault: secrets.vault.yml, key: admin_password}

The plan carries these references. `vault` is a file encrypted with `ansible-vault`
holding a YAML mapping; its password comes from `--vault-password-file`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from lpdeploy.document import MAX_YAML_BYTES, check_yaml, parse_yaml, read_bytes
from lpdeploy.errors import InputError

SecretName = Literal["wifi_passphrase", "admin_password", "kolibri_admin_password"]
ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"


class SecretSource(BaseModel):
    """Where one secret is read from: an environment variable, or a key of a vault file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str | None = Field(default=None, pattern=ENV_NAME)
    vault: str | None = Field(default=None, min_length=1)
    key: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one_source(self) -> SecretSource:
        if (self.env is None) == (self.vault is None):
            raise ValueError("expected exactly one of env: VARIABLE or vault: FILE")
        if self.env is not None and self.key is not None:
            raise ValueError("key: goes with vault:, not with env:")
        return self


Secrets = Mapping[SecretName, SecretSource]


def resolve_secrets(
    sources: Secrets, plan_dir: Path, vault_password_file: Path | None
) -> dict[str, str]:
    """Each named secret's value. A relative vault path is looked for beside the plan, then
    in the current folder. Every problem is reported at once; no value is ever in a message."""
    values: dict[str, str] = {}
    problems: list[InputError] = []
    vaults: dict[Path, dict[str, object]] = {}
    for name, source in sorted(sources.items()):
        try:
            values[name] = _value(name, source, plan_dir, vault_password_file, vaults)
        except InputError as exc:
            problems.append(exc)
    if problems:
        raise InputError([issue for p in problems for issue in p.issues])
    return values


def _value(
    name: str,
    source: SecretSource,
    plan_dir: Path,
    password_file: Path | None,
    vaults: dict[Path, dict[str, object]],
) -> str:
    where = f"secrets.{name}"
    if source.env is not None:
        # Read once and taken out of this process's environment: ansible-runner copies the
        # environment into every run's artifacts/*/command, and children inherit it.
        value = os.environ.pop(source.env, None)
        if not value:
            raise InputError.single(
                "environment", f"variable {source.env} is not set or empty", where
            )
        return value
    path = _vault_path(source.vault or "", plan_dir, where)
    if path not in vaults:
        vaults[path] = _open_vault(path, password_file, where)
    key = source.key or name
    found = vaults[path].get(key)
    if not isinstance(found, str | int) or isinstance(found, bool) or str(found) == "":
        raise InputError.single(
            str(path), f"expected a non-empty text under key '{key}'", f"{where}.key"
        )
    return str(found)


def _vault_path(named: str, plan_dir: Path, where: str) -> Path:
    candidates = [Path(named)] if Path(named).is_absolute() else [plan_dir / named, Path(named)]
    for path in candidates:
        if path.is_file():
            return path.resolve()
    tried = ", ".join(str(p) for p in candidates)
    raise InputError.single(named, f"vault file not found (looked at {tried})", f"{where}.vault")


def _open_vault(path: Path, password_file: Path | None, where: str) -> dict[str, object]:
    if password_file is None:
        raise InputError.single(
            str(path), "a vault needs --vault-password-file (or LPDEPLOY_VAULT_PASSWORD_FILE)",
            f"{where}.vault",
        )  # fmt: skip
    try:
        password = password_file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError.single(str(password_file), f"cannot read: {reason}") from None
    from lpdeploy.runner.vault import VaultError, decrypt  # Ansible loads slowly: only here

    try:
        text = decrypt(read_bytes(path, MAX_YAML_BYTES), password)
    except VaultError as exc:
        raise InputError.single(str(path), str(exc), f"{where}.vault") from None
    check_yaml(text, str(path), lenient=True)  # the limits' messages never quote the text
    try:
        document = parse_yaml(text, str(path))
    except InputError:
        # A YAML error may quote the text; it holds secrets.
        document = None
    if not isinstance(document, dict):
        raise InputError.single(
            str(path), "expected a YAML mapping of names to values once decrypted, each once", where
        )
    return document
