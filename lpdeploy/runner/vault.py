"""ansible-vault, the format Ansible users keep secrets in: read them, and hand them on."""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.parsing.vault import VaultLib, VaultSecret, is_encrypted


class VaultError(Exception):
    """A vault that is not one, or the wrong password (the message never holds content)."""


def decrypt(data: bytes, password: str) -> str:
    if not is_encrypted(data):
        raise VaultError("not encrypted with ansible-vault; run `ansible-vault encrypt FILE`")
    vault = VaultLib([("default", VaultSecret(password.encode("utf-8")))])
    try:
        plain: bytes = vault.decrypt(data)
    except AnsibleError:
        raise VaultError("cannot decrypt: wrong vault password, or the file is damaged") from None
    try:
        return plain.decode("utf-8")
    except UnicodeDecodeError:
        raise VaultError("decrypted, but not UTF-8 text") from None


def encrypt(text: str, password: str) -> bytes:
    vault = VaultLib([("default", VaultSecret(password.encode("utf-8")))])
    encrypted: bytes = vault.encrypt(text.encode("utf-8"))
    return encrypted
