from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import fsspec
import pytest

from podium.errors import IntegrityError, SpecError, UserError
from podium.registry import MANIFEST, ModelPackage, Registry
from podium.registry.signing import SIGNATURE_FILE, PublicKey, SigningKey, TrustPolicy, generate_key_pair


@pytest.fixture
def keys(tmp_path: Path) -> tuple[SigningKey, Path]:
    private, public = generate_key_pair(tmp_path / "keys")
    return SigningKey.load(private), public


def test_a_key_pair_is_written_private_and_never_overwritten(tmp_path: Path) -> None:
    private, public = generate_key_pair(tmp_path / "keys", "ci")
    assert (private.name, public.name) == ("ci.key", "ci.pub")
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert SigningKey.load(private).public_key == PublicKey.load(public)
    with pytest.raises(UserError, match="already exists: refusing to overwrite a key"):
        generate_key_pair(tmp_path / "keys", "ci")


def test_a_signing_key_others_can_read_is_refused(tmp_path: Path) -> None:
    private, public = generate_key_pair(tmp_path)
    os.chmod(private, 0o644)
    with pytest.raises(UserError, match="may be read by other users \\(mode 644\\)"):
        SigningKey.load(private)
    with pytest.raises(SpecError, match="is not an unencrypted PEM private key"):
        os.chmod(public, 0o600)
        SigningKey.load(public)
    with pytest.raises(SpecError, match="cannot be read"):
        PublicKey.load(tmp_path / "missing.pub")


def test_require_signed_needs_a_trusted_key() -> None:
    with pytest.raises(SpecError, match="require_signed is on but trusted_keys lists no key"):
        TrustPolicy.from_files([], require_signed=True)


def test_sign_then_verify_and_what_each_policy_refuses(classifier_package: ModelPackage, keys, tmp_path: Path) -> None:
    signer, public = keys
    manifest = classifier_package.save(None, tmp_path / "pkg", signer=signer)
    assert manifest["signature"]["key_id"] == signer.public_key.key_id
    trusted = TrustPolicy.from_files([public], require_signed=True)
    assert ModelPackage.load(tmp_path / "pkg", trust=trusted).describe()["signed_by"] == signer.public_key.key_id

    classifier_package.save(None, tmp_path / "unsigned")
    assert not (tmp_path / "unsigned" / SIGNATURE_FILE).exists()
    ModelPackage.verify(tmp_path / "unsigned")  # optional signatures: fine
    with pytest.raises(IntegrityError, match="is not signed, and this project accepts only signed packages"):
        ModelPackage.verify(tmp_path / "unsigned", trust=trusted)

    other = TrustPolicy.from_files([generate_key_pair(tmp_path / "other")[1]], require_signed=True)
    with pytest.raises(IntegrityError, match=f"is signed by key {signer.public_key.key_id}, which is not one"):
        ModelPackage.verify(tmp_path / "pkg", trust=other)

    raw = bytearray((tmp_path / "pkg" / SIGNATURE_FILE).read_bytes())
    raw[0] ^= 0x01
    (tmp_path / "pkg" / SIGNATURE_FILE).write_bytes(bytes(raw))
    with pytest.raises(IntegrityError, match="signature that does not match its manifest"):
        ModelPackage.verify(tmp_path / "pkg")  # a declared signature is checked without any policy


def test_a_signed_package_on_an_object_store(regressor_package: ModelPackage, keys) -> None:
    signer, public = keys
    fs = fsspec.filesystem("memory")
    regressor_package.save(fs, "/signed-package/v1", signer=signer)
    ModelPackage.load("memory://signed-package/v1", trust=TrustPolicy.from_files([public], require_signed=True))
    manifest = json.loads(fs.cat_file("/signed-package/v1/" + MANIFEST))
    manifest["metrics"]["r2"] = 1.0  # a forged figure: the signature no longer matches
    fs.pipe_file("/signed-package/v1/" + MANIFEST, json.dumps(manifest).encode())
    with pytest.raises(IntegrityError, match="signature that does not match"):
        ModelPackage.verify("memory://signed-package/v1")
    fs.rm("/signed-package", recursive=True)


def test_the_registry_signs_what_it_registers_and_checks_what_it_promotes(
        classifier_package: ModelPackage, keys, tmp_path: Path) -> None:
    from podium.automation.promote import promote

    signer, public = keys
    trust = TrustPolicy.from_files([public], require_signed=True)
    url, artifacts = f"sqlite:///{tmp_path / 'r.db'}", str(tmp_path / "artifacts")
    with Registry(url, artifacts, signing_key=tmp_path / "keys" / "podium-signing.key", trust=trust) as signing:
        assert signing.register("m", classifier_package) == 1
        assert signing.load("m").describe()["signed_by"] == signer.public_key.key_id
    with Registry(url, artifacts) as plain:
        plain.register("m", classifier_package, alias=None)  # unsigned version 2
    with Registry(url, artifacts, trust=trust) as checking:
        with pytest.raises(IntegrityError, match="is not signed"):
            promote(checking, "m:2")
        assert checking.resolve("m@champion").version == 1
