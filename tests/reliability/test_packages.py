"""Package trust: every load checks the checksums (and the signature), whoever loads.

Through the real ``podium`` command on packages that ``podium run`` made: a flipped byte in
any file of a package is refused by ``podium predict`` and ``podium serve`` (and a running
service keeps the version it has); the smoke test refuses it too; with ``require_signed``
an unsigned or wrongly signed package is refused by serve, predict and promote. And the
cache of a remote artifact store is private to the user and checked against the registry.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import uuid
from pathlib import Path

import httpx
import pandas as pd
import pytest
from reliability_support import QUICKSTART, SPEC, cli, serve_cli, until

from podium._internal.fingerprint import file_fingerprint
from podium.automation.promote import smoke_test
from podium.config import load_settings
from podium.errors import IntegrityError
from podium.registry import ArtifactStore, ModelPackage, Registry
from podium.registry.artifacts import default_cache_root
from podium.registry.signing import SigningKey, TrustPolicy, generate_key_pair
from podium.testing.servers import free_port

SIGNED = "signing_key: keys/podium-signing.key\n"
REQUIRE = "require_signed: true\ntrusted_keys: [keys/podium-signing.pub]\n"


def settings(project: Path, *lines: str) -> None:
    (project / "podium.yaml").write_text("n_jobs: 1\n" + "".join(lines))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project where `podium run` made churn:1 (unsigned) and churn:2 (signed, the champion)."""
    root = tmp_path_factory.mktemp("made")
    for name in ("customers.csv", "new_customers.csv"):
        shutil.copy(QUICKSTART / name, root / name)
    (root / "pipeline.yaml").write_text(SPEC)
    settings(root)
    first = cli(root, "run", "pipeline.yaml")
    assert first.returncode == 0, first.stderr
    keys = cli(root, "keys", "signing", "create", "--out", "keys")
    assert keys.returncode == 0, keys.stderr
    assert keys.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    settings(root, SIGNED)
    second = cli(root, "run", "pipeline.yaml")
    assert second.returncode == 0, second.stderr
    registry = Registry.from_settings(load_settings(root))
    assert registry.resolve("churn@champion").version == 2
    return root


@pytest.fixture
def project(made: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(made, copy)
    return copy


def package_dir(project: Path, version: int) -> Path:
    return project / ".podium" / "artifacts" / "models" / "churn" / str(version)


def flip_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line a refused command prints (and no traceback)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def refused_by_serve(project: Path, ref: str) -> str:
    """`podium serve` refuses ``ref``: it exits with one clear error and never listens."""
    port = free_port()
    result = cli(project, "serve", ref, "--port", str(port), "--workers", "1", timeout=60)
    line = error_line(result)
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
    return line


def refused_by_predict(project: Path, ref: str) -> str:
    result = cli(project, "predict", ref, "-i", "new_customers.csv", "-o", "scored.csv")
    assert not (project / "scored.csv").exists()
    return error_line(result)


# -- checksums: every load, every file ----------------------------------------------------------
def test_a_signed_package_made_by_podium_run_verifies_and_predicts(project: Path) -> None:
    settings(project, REQUIRE)
    manifest = json.loads((package_dir(project, 2) / "package.json").read_text())
    key = SigningKey.load(project / "keys" / "podium-signing.key")
    assert manifest["signature"]["key_id"] == key.public_key.key_id
    assert "package.sig" not in manifest["files"]  # the signature covers the manifest, not the reverse
    result = cli(project, "predict", "churn", "-i", "new_customers.csv", "-o", "scored.csv")
    assert result.returncode == 0, result.stderr
    scored = pd.read_csv(project / "scored.csv")
    assert len(scored) == len(pd.read_csv(project / "new_customers.csv"))
    assert set(scored["prediction"]) <= {"yes", "no"}
    shown = cli(project, "models", "show", "churn:2", "--json")
    assert shown.returncode == 0, shown.stderr
    assert key.public_key.key_id in shown.stdout


@pytest.mark.parametrize(("name", "says"), [
    ("model.joblib", "failed its checksum on model.joblib"),
    ("package.json", "failed its checksum on package.json"),
    ("package.sig", "has a signature that does not match its manifest"),
])
def test_a_tampered_package_file_is_refused_by_predict_and_serve(project: Path, name: str, says: str) -> None:
    # no trust settings at all: checksums and a declared signature are checked regardless
    flip_byte(package_dir(project, 2) / name)
    assert says in refused_by_predict(project, "churn")
    assert says in refused_by_serve(project, "churn@champion")


def test_a_removed_signature_is_refused(project: Path) -> None:
    (package_dir(project, 2) / "package.sig").unlink()
    assert "says it is signed but has no package.sig" in refused_by_predict(project, "churn:2")


def test_a_running_service_does_not_switch_to_a_tampered_version(project: Path) -> None:
    registry = Registry.from_settings(load_settings(project))
    row = pd.read_csv(project / "new_customers.csv").drop(columns=["customer_id"]) \
        .iloc[0].to_dict()
    with serve_cli(project, "churn@champion", "--workers", "1", "--no-auth", "--reload-interval", "0.2",
                   "--access-log", "off") as (url, log):
        assert httpx.post(f"{url}/v1/models/churn/predict", json=row, timeout=10).json()["version"] == 2
        third = registry.register("churn", registry.load("churn:2"), alias=None)
        flip_byte(package_dir(project, third) / "model.joblib")
        registry.set_alias("churn", "champion", third)  # moved behind podium's back: no check here
        until(lambda: f"could not load churn version {third}" in log.read_text(), 60,
              "the service to refuse the new version", log=log)
        answer = httpx.post(f"{url}/v1/models/churn/predict", json=row, timeout=10)
        assert answer.status_code == 200 and answer.json()["version"] == 2
        assert "failed its checksum on model.joblib" in log.read_text()


def test_the_smoke_test_refuses_a_tampered_package(project: Path) -> None:
    registry = Registry.from_settings(load_settings(project))
    info = registry.resolve("churn:2")
    folder = registry.package_folder(info)
    rows = pd.read_csv(project / "new_customers.csv").drop(columns=["churned"], errors="ignore")
    expected = registry.load("churn:2").predict_frame(rows)[0]["prediction"].to_numpy()
    assert smoke_test(folder, rows, expected, checksum=info.checksum, trust=registry.trust) is None
    manifest_path = folder / "package.json"
    original = manifest_path.read_bytes()
    manifest = json.loads(original)
    manifest["metrics"]["accuracy"] = 0.99  # valid JSON, files untouched: only the registry's checksum sees it
    manifest_path.write_text(json.dumps(manifest, indent=2))
    failure = smoke_test(folder, rows, expected, checksum=info.checksum)
    assert failure is not None and "failed its checksum on package.json" in failure
    manifest_path.write_bytes(original)
    flip_byte(folder / "model.joblib")
    failure = smoke_test(folder, rows, expected, checksum=info.checksum)
    assert failure is not None and "failed its checksum on model.joblib" in failure


# -- signatures -------------------------------------------------------------------------------
def test_unsigned_packages_are_refused_when_signatures_are_required(project: Path) -> None:
    settings(project, REQUIRE)
    says = "is not signed, and this project accepts only signed packages"
    assert says in refused_by_predict(project, "churn:1")
    assert says in refused_by_serve(project, "churn:1")
    assert says in error_line(cli(project, "models", "promote", "churn:1"))
    registry = Registry.from_settings(load_settings(project))
    assert registry.resolve("churn@champion").version == 2
    # the signed champion is still served
    assert cli(project, "predict", "churn", "-i", "new_customers.csv", "-o", "scored.csv").returncode == 0


def test_a_run_without_the_signing_key_is_not_promoted_when_signatures_are_required(project: Path) -> None:
    settings(project, REQUIRE)  # no signing_key: this run registers an unsigned package
    result = cli(project, "run", "pipeline.yaml", "--json")
    summary = json.loads(result.stdout)
    assert summary["status"] == "not_promoted", result.stderr
    assert "is not signed" in summary["promotion"]["message"]
    assert Registry.from_settings(load_settings(project)).resolve("churn@champion").version == 2


def test_a_package_signed_by_an_untrusted_key_is_refused(project: Path) -> None:
    generate_key_pair(project / "other")
    settings(project, "require_signed: true\ntrusted_keys: [other/podium-signing.pub]\n")
    says = "is signed by key"
    assert says in refused_by_predict(project, "churn:2")
    assert says in refused_by_serve(project, "churn:2")
    settings(project, SIGNED, REQUIRE)
    assert cli(project, "models", "promote", "churn:1").returncode != 0  # unsigned: stays refused
    # and a trusted list is honoured even when signatures are optional
    settings(project, "trusted_keys: [other/podium-signing.pub]\n")
    assert "not one of the trusted_keys" in refused_by_predict(project, "churn:2")


def test_a_signature_from_another_key_over_the_same_manifest_is_refused(project: Path) -> None:
    """Re-signing a changed manifest with one's own key (and its public key inside) is caught."""
    folder = package_dir(project, 2)
    other = SigningKey.load(generate_key_pair(project / "other")[0])
    manifest = json.loads((folder / "package.json").read_text())
    manifest["signature"] = other.manifest_block()
    raw = json.dumps(manifest, indent=2).encode()
    (folder / "package.sig").write_bytes(other.sign(raw))
    (folder / "package.json").write_bytes(raw)
    # verified by its own embedded key it is consistent; only trust and the registry tell
    with pytest.raises(IntegrityError, match="is signed by key"):
        ModelPackage.verify(folder, trust=TrustPolicy.from_files([project / "keys" / "podium-signing.pub"],
                                                                 require_signed=True))
    assert "failed its checksum on package.json" in refused_by_predict(project, "churn:2")


# -- the cache of a remote artifact store ------------------------------------------------------
def remote_registry(tmp_path: Path, **kwargs: object) -> Registry:
    store = ArtifactStore(f"memory://podium-tests-{uuid.uuid4().hex}", **kwargs)  # type: ignore[arg-type]
    return Registry(f"sqlite:///{tmp_path / 'registry.db'}", store)


def test_the_remote_cache_is_private_to_the_user(made: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_root() == tmp_path / "xdg" / "podium" / "artifacts"
    registry = remote_registry(tmp_path)
    registry.register("churn", Registry.from_settings(load_settings(made)).load("churn:2"))
    folder = registry.package_folder(registry.resolve("churn:1"))
    assert folder.is_relative_to(tmp_path / "xdg" / "podium" / "artifacts")
    for made_by_podium in (tmp_path / "xdg" / "podium", tmp_path / "xdg" / "podium" / "artifacts",
                           registry.artifacts.cache_dir):
        assert stat.S_IMODE(made_by_podium.stat().st_mode) == 0o700, made_by_podium
    assert registry.load("churn").predict_frame(pd.read_csv(made / "new_customers.csv"))[0]["prediction"].size


def test_without_a_home_the_cache_is_a_private_folder_of_the_user_in_tmp(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_root() == tmp_path / "home" / ".cache" / "podium" / "artifacts"
    monkeypatch.setenv("HOME", str(tmp_path / "a-file" / "home"))
    (tmp_path / "a-file").write_text("not a folder")
    root = default_cache_root()
    assert root.parent.name == f"podium-{os.geteuid()}" and root.name == "artifacts"


@pytest.mark.parametrize("case", ["group-writable", "world-writable-parent", "symlink", "other-owner"])
def test_a_cache_others_could_plant_files_in_is_refused(made: Path, tmp_path: Path, case: str) -> None:
    cache = tmp_path / "cache"
    if case == "group-writable":
        cache.mkdir(mode=0o700)
        os.chmod(cache, 0o770)
        says = "other users may write to it (mode 770)"
    elif case == "world-writable-parent":
        shared = tmp_path / "shared"
        shared.mkdir()
        os.chmod(shared, 0o777)  # no sticky bit: anyone could rename our folder away
        cache = shared / "cache"
        says = f"other users may write to {shared}"
    elif case == "symlink":
        (tmp_path / "elsewhere").mkdir(mode=0o700)
        cache.symlink_to(tmp_path / "elsewhere")
        says = "not a plain folder"
    else:
        if os.geteuid() != 0:
            pytest.skip("giving a folder to another user needs root")
        cache.mkdir(mode=0o700)
        os.chown(cache, 65534, 65534)
        says = "belongs to another user (uid 65534)"
    registry = remote_registry(tmp_path, cache_dir=cache)
    registry.register("churn", Registry.from_settings(load_settings(made)).load("churn:2"))
    with pytest.raises(IntegrityError, match="refusing to load models through the artifact cache") as caught:
        registry.load("churn")
    assert says in str(caught.value)


def test_a_planted_cached_copy_is_replaced_by_the_registered_one(made: Path, tmp_path: Path) -> None:
    source = Registry.from_settings(load_settings(made))
    registry = remote_registry(tmp_path, cache_dir=tmp_path / "cache")
    registry.register("churn", source.load("churn:2"))
    info = registry.resolve("churn:1")
    genuine = registry.load("churn:1")
    cached = registry.package_folder(info)
    for file in package_dir(made, 1).iterdir():  # a whole other (valid) package put in its place
        shutil.copy(file, cached / file.name)
    assert ModelPackage.verify(cached)  # consistent in itself: only the registry's checksum tells
    again = registry.load("churn:1")
    assert again.manifest == genuine.manifest != source.load("churn:1").manifest
    assert file_fingerprint(registry.package_folder(info) / "package.json") == info.checksum
    flip_byte(cached / "model.joblib")  # a changed file under the genuine manifest is still refused
    with pytest.raises(IntegrityError, match="failed its checksum on model.joblib"):
        registry.load("churn:1")
