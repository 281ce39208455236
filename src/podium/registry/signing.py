"""Ed25519 signatures on model packages: who made a package, checked before it is loaded.

A signed package holds ``package.sig``, an Ed25519 signature over the exact bytes of its
manifest (``package.json``). The manifest names its signer in a ``signature`` block (algorithm,
key id, public key) and lists every other file with its sha256, so a changed file, manifest or
signature fails the check, and so does a removed signature: the manifest says it is signed.

``TrustPolicy`` says which signatures count: with ``require_signed`` an unsigned package is
refused, and with ``trusted`` keys a package signed by any other key is refused. Keys are PEM
files (PKCS#8 private keys, SubjectPublicKeyInfo public keys), as ``generate_key_pair`` writes
them (``podium keys signing create``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import IntegrityError, SpecError, UserError

__all__ = ["ALGORITHM", "SIGNATURE_FILE", "PublicKey", "SigningKey", "TrustPolicy", "generate_key_pair",
           "check_signature"]

ALGORITHM = "ed25519"
#: the detached signature over the manifest's bytes, beside the manifest
SIGNATURE_FILE = "package.sig"

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# cryptography is imported where a key is used: a service whose packages are unsigned (a
# deploy image) loads the registry without it

_RESIGN = "re-register the model from a trusted machine (podium run with signing_key set)"


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key (its 32 raw bytes)."""

    raw: bytes

    @property
    def key_id(self) -> str:
        """A short fingerprint: the first 16 hex digits of the key's sha256."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PublicKey:
        """Read a PEM public key file (SubjectPublicKeyInfo)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        data = _read(path, "trusted key")
        try:
            key = serialization.load_pem_public_key(data)
        except ValueError:
            raise SpecError(f"trusted key {path} is not a PEM public key.",
                            hint="use the .pub file that podium keys signing create wrote") from None
        if not isinstance(key, Ed25519PublicKey):
            raise SpecError(f"trusted key {path} is not an Ed25519 key.",
                            hint="make one with: podium keys signing create")
        return cls(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))

    def pem(self) -> str:
        """The key as PEM text (SubjectPublicKeyInfo)."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        key = Ed25519PublicKey.from_public_bytes(self.raw)
        return key.public_bytes(serialization.Encoding.PEM,
                                serialization.PublicFormat.SubjectPublicKeyInfo).decode()

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``data``."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


class SigningKey:
    """An Ed25519 private key that signs package manifests."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        from cryptography.hazmat.primitives import serialization

        self._key = key
        self.public_key = PublicKey(key.public_key().public_bytes(serialization.Encoding.Raw,
                                                                  serialization.PublicFormat.Raw))

    def __repr__(self) -> str:
        return f"SigningKey({self.public_key.key_id})"

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SigningKey:
        """Read a PEM private key file (PKCS#8, unencrypted), refusing one others can read."""
        mode = _mode(path, "signing key")
        if mode & 0o077:
            raise UserError(f"signing key {path} may be read by other users (mode {mode:o}).",
                            hint=f"chmod 600 {path}")
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        data = _read(path, "signing key")
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise SpecError(f"signing key {path} is not an unencrypted PEM private key.",
                            hint="make one with: podium keys signing create") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise SpecError(f"signing key {path} is not an Ed25519 key.",
                            hint="make one with: podium keys signing create")
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        """The Ed25519 signature of ``data`` (64 bytes)."""
        return self._key.sign(data)

    def manifest_block(self) -> dict[str, str]:
        """What a signed manifest says about its signature."""
        return {"file": SIGNATURE_FILE, "algorithm": ALGORITHM, "key_id": self.public_key.key_id,
                "public_key": base64.b64encode(self.public_key.raw).decode()}


@dataclass(frozen=True)
class TrustPolicy:
    """Which packages may be loaded: signed ones only (``require_signed``), by which keys."""

    require_signed: bool = False
    trusted: tuple[PublicKey, ...] = ()

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike[str]], *, require_signed: bool = False) -> TrustPolicy:
        """A policy trusting the PEM public keys at ``paths``."""
        trusted = tuple(PublicKey.load(p) for p in paths)
        if require_signed and not trusted:
            raise SpecError("require_signed is on but trusted_keys lists no key: no package could be loaded.",
                            hint="add the signer's public key: trusted_keys: [keys/podium-signing.pub]")
        return cls(require_signed=require_signed, trusted=trusted)

    def to_json(self) -> dict[str, Any]:
        """The policy as JSON (for another process)."""
        return {"require_signed": self.require_signed,
                "trusted": [base64.b64encode(k.raw).decode() for k in self.trusted]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrustPolicy:
        return cls(require_signed=bool(data.get("require_signed")),
                   trusted=tuple(PublicKey(base64.b64decode(k)) for k in data.get("trusted") or ()))


def check_signature(where: str, manifest: Mapping[str, Any], manifest_bytes: bytes, signature: bytes | None,
                    policy: TrustPolicy | None) -> str | None:
    """Check a package's signature under ``policy``; returns the signer's key id (None: unsigned).

    A signature the manifest declares is always checked (a broken one is refused even when
    signatures are optional); raises ``IntegrityError`` with what is wrong and what to do.
    """
    policy = policy or TrustPolicy()
    block = manifest.get("signature")
    if block is None:
        if policy.require_signed:
            raise IntegrityError(f"model package at {where} is not signed, and this project accepts only "
                                 "signed packages (require_signed in podium.yaml).", hint=_RESIGN)
        return None
    if signature is None:
        raise IntegrityError(f"model package at {where} says it is signed but has no {SIGNATURE_FILE}: it "
                             "was modified.", hint=_RESIGN)
    try:
        if block.get("algorithm") != ALGORITHM:
            raise ValueError(block.get("algorithm"))
        key = PublicKey(base64.b64decode(str(block["public_key"]), validate=True))
        valid = len(key.raw) == 32 and key.verify(signature, manifest_bytes)
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error):
        valid = False
    if not valid:
        raise IntegrityError(f"model package at {where} has a signature that does not match its manifest: "
                             "the package or its signature was modified.", hint=_RESIGN)
    if (policy.require_signed or policy.trusted) and key not in policy.trusted:
        trusted = ", ".join(k.key_id for k in policy.trusted) or "none"
        raise IntegrityError(f"model package at {where} is signed by key {key.key_id}, which is not one of "
                             f"the trusted_keys in podium.yaml ({trusted}).",
                             hint="add that key's .pub file to trusted_keys if you trust it, or " + _RESIGN)
    return key.key_id


def generate_key_pair(out_dir: str | os.PathLike[str], name: str = "podium-signing") -> tuple[Path, Path]:
    """Write a new Ed25519 key pair: ``NAME.key`` (private, mode 0600) and ``NAME.pub``.

    Refuses to overwrite existing files; returns (private path, public path).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / f"{name}.key", folder / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise UserError(f"{path} already exists: refusing to overwrite a key.",
                            hint="choose another folder with --out, or remove the old pair first")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private_pem)
    os.chmod(private_path, 0o600)  # whatever the umask
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    public_path.write_bytes(public)
    return private_path, public_path


def _mode(path: str | os.PathLike[str], what: str) -> int:
    try:
        return os.stat(path).st_mode & 0o777
    except OSError as exc:
        raise SpecError(f"{what} {path} cannot be read: {exc.strerror}.",
                        hint="check the path in podium.yaml (relative paths start at the project folder)") from None


def _read(path: str | os.PathLike[str], what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SpecError(f"{what} {path} cannot be read: {exc.strerror}.",
                        hint="check the path in podium.yaml (relative paths start at the project folder)") from None
