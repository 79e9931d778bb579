"""Ed25519 signing keys for bundles.

Files: `<name>.key`, the private key as unencrypted PKCS#8 PEM, mode 0600; `<name>.pub`,
one line `lpdeploy-ed25519 <base64 of the 32 raw public bytes> <name>`. A key's
fingerprint is `SHA256:` and the first 16 characters of the base64 sha256 of its raw bytes.
Signature files hold one line: `ed25519 <fingerprint> <base64 signature>`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from lpdeploy.errors import InputError
from lpdeploy.output import write_atomic

PUBLIC_PREFIX = "lpdeploy-ed25519"
SIGNATURE_PREFIX = "ed25519"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class PublicKey:
    key: Ed25519PublicKey
    name: str

    @property
    def fingerprint(self) -> str:
        return fingerprint_of(self.key)

    def verifies(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


def fingerprint_of(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    digest = base64.b64encode(hashlib.sha256(raw).digest()).decode("ascii")
    return f"SHA256:{digest[:16]}"


def generate_keys(folder: Path, name: str) -> tuple[Path, Path, str]:
    """Write a new key pair; refuse to overwrite an existing private key."""
    if not NAME.fullmatch(name):
        raise InputError.single(name, "key name must be letters, digits, '.', '_' or '-'", "--name")
    private_path = folder / f"{name}.key"
    public_path = folder / f"{name}.pub"
    if private_path.exists():
        raise InputError.single(str(private_path), "already exists; choose another --name or --out")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_atomic(private_path, pem, mode=0o600)
    public = private.public_key()
    write_atomic(public_path, public_line(public, name).encode("ascii"))
    return private_path, public_path, fingerprint_of(public)


def public_line(key: Ed25519PublicKey, name: str) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{PUBLIC_PREFIX} {base64.b64encode(raw).decode('ascii')} {name}\n"


def load_private_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InputError.single(str(path), "signing key not found") from None
    except (ValueError, TypeError):
        raise InputError.single(str(path), "not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError.single(str(path), "not an ed25519 key")
    return key


def load_public_key(path: Path) -> PublicKey:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single(str(path), "trusted key not found") from None
    except (OSError, UnicodeDecodeError):
        raise InputError.single(str(path), "cannot be read as a text public key") from None
    parts = text.split()
    expected = f"expected one line '{PUBLIC_PREFIX} <base64 key> <name>'"
    if len(parts) != 3 or parts[0] != PUBLIC_PREFIX:
        raise InputError.single(str(path), expected, line=1)
    try:
        raw = base64.b64decode(parts[1], validate=True)
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise InputError.single(
            str(path), f"the key is not valid base64 ed25519; {expected}", line=1
        ) from None
    return PublicKey(key=key, name=parts[2])


def sign(private: Ed25519PrivateKey, data: bytes) -> bytes:
    """The text of a signature file for `data`."""
    signature = base64.b64encode(private.sign(data)).decode("ascii")
    return f"{SIGNATURE_PREFIX} {fingerprint_of(private.public_key())} {signature}\n".encode(
        "ascii"
    )


def read_signature(text: bytes) -> tuple[str, bytes] | None:
    """(fingerprint, signature) from a signature file, or None when it is not one."""
    parts = text.decode("ascii", errors="replace").split()
    if len(parts) != 3 or parts[0] != SIGNATURE_PREFIX:
        return None
    try:
        return parts[1], base64.b64decode(parts[2], validate=True)
    except ValueError:
        return None
