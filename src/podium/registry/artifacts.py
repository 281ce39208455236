"""The artifact store: immutable folders under keys, on a local disk or any fsspec filesystem.

A folder appears whole or not at all. On a local disk it is copied into a hidden sibling and
renamed into place (one atomic ``rename``); on an object store its files are uploaded first
and the manifest last, and readers treat a folder without its manifest as absent. A key is
written once: ``put_dir`` refuses a key that already holds something.

Remote folders are read through a local cache that is private to the user: a folder created
0700 (by default in the user's cache folder), refused when another user owns it or when
group or others may write into it, so nobody else can plant a file that podium would load.
A cached copy is used only when its manifest matches the checksum the registry recorded.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import uuid
from pathlib import Path

import fsspec
from fsspec.implementations.local import LocalFileSystem

from podium._internal.fingerprint import file_fingerprint
from podium._internal.redact import redact_url
from podium.errors import IntegrityError, NotFoundError, PodiumError

__all__ = ["ArtifactStore", "ArtifactExists", "MANIFEST", "default_cache_root", "private_dir"]

#: the file written last and read first: a folder without it is incomplete
MANIFEST = "package.json"


class ArtifactExists(PodiumError, FileExistsError):
    """A key that already holds an artifact: artifacts are written once."""


class ArtifactStore:
    """Folders of files under ``/``-separated keys, below one root URL.

    ``url`` is a local folder (the default ``.podium/artifacts``) or any fsspec URL
    (``s3://bucket/podium``, ``memory://tests``). Remote folders are downloaded to
    ``cache_dir`` (default: a folder of this store in ``default_cache_root()``) by
    ``get_local``; versions never change, so a cached copy stays valid.
    """

    def __init__(self, url: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None,
                 **storage_options: object) -> None:
        self.url = str(url)
        self.fs, root = fsspec.core.url_to_fs(self.url, **storage_options)
        self.root = root.rstrip("/") or "/"
        self.local = isinstance(self.fs, LocalFileSystem)
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:16]
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_root() / digest

    def __repr__(self) -> str:
        return f"ArtifactStore({redact_url(self.url)!r})"

    def path(self, key: str) -> str:
        """The filesystem path of ``key`` (as the store's filesystem names it)."""
        parts = [p for p in key.strip("/").split("/") if p]
        if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
            raise ValueError(f"not an artifact key: {key!r}")
        return f"{self.root}/{'/'.join(parts)}" if self.root != "/" else "/" + "/".join(parts)

    def url_for(self, key: str) -> str:
        """A URL that ``ModelPackage.load`` and fsspec open directly."""
        path = self.path(key)
        return path if self.local else self.fs.unstrip_protocol(path)

    def exists(self, key: str) -> bool:
        """Whether anything is stored under ``key`` (complete or not)."""
        return bool(self.fs.exists(self.path(key)))

    def put_dir(self, local_dir: str | os.PathLike[str], key: str, *, manifest: str = MANIFEST) -> str:
        """Store the files of ``local_dir`` under ``key`` atomically; returns the key's path.

        Raises ``ArtifactExists`` when the key already holds something.
        """
        source = Path(local_dir)
        if not source.is_dir():
            raise NotFoundError(f"no folder at {source} to store as artifact '{key}'.")
        dest = self.path(key)
        if self.exists(key):
            raise ArtifactExists(f"artifact '{key}' already exists in {redact_url(self.url)}.",
                                 hint="artifacts are written once; use a new key")
        if self.local:
            self._put_local(source, Path(dest))
        else:
            self._put_remote(source, dest, manifest)
        return dest

    def _put_local(self, source: Path, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
        try:
            shutil.copytree(source, staging)
            for file in staging.rglob("*"):
                if file.is_file():
                    _fsync(file)
            try:
                # rename(2) onto a non-empty folder fails: a concurrent writer cannot be overwritten
                os.rename(staging, dest)
            except OSError as exc:
                if dest.exists():
                    raise ArtifactExists(f"artifact '{dest.name}' was written by someone else meanwhile "
                                         f"at {dest}.") from exc
                raise
            _fsync_dir(dest.parent)
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _put_remote(self, source: Path, dest: str, manifest: str) -> None:
        files = sorted(p for p in source.rglob("*") if p.is_file())
        last = [p for p in files if p.relative_to(source).as_posix() == manifest]
        try:
            for file in [p for p in files if p not in last] + last:
                target = f"{dest}/{file.relative_to(source).as_posix()}"
                self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                self.fs.put_file(str(file), target)
        except BaseException:
            self._remove(dest)
            raise

    def get_local(self, key: str, *, checksum: str | None = None) -> Path:
        """A local folder holding ``key``'s files (a cached download for a remote store).

        ``checksum`` (the sha256 of the folder's manifest, as the registry recorded it) decides
        whether a cached copy may be used: one that does not match is downloaded again.
        """
        path = self.path(key)
        if self.local:
            if not Path(path).is_dir():
                raise NotFoundError(f"no artifact '{key}' in {redact_url(self.url)}.")
            return Path(path)
        cached = self._private_cache() / key.strip("/")
        if (cached / MANIFEST).is_file():
            if checksum is None or file_fingerprint(cached / MANIFEST) == checksum:
                return cached
            _discard(cached)  # changed since it was cached: fetch it again
        if not self.fs.exists(path):
            raise NotFoundError(f"no artifact '{key}' in {redact_url(self.url)}.")
        cached.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=cached.parent, prefix=f".{cached.name}."))
        try:
            for remote in self.fs.find(path):
                relative = remote[len(path.rstrip("/")) + 1:] if remote.startswith(path) else Path(remote).name
                local = staging / relative
                local.parent.mkdir(parents=True, exist_ok=True)
                self.fs.get_file(remote, str(local))
            try:
                os.rename(staging, cached)
            except OSError:
                if not cached.is_dir():  # another process cached the same key meanwhile: keep theirs
                    raise
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return cached

    def _private_cache(self) -> Path:
        """The cache folder, checked private (see ``private_dir``) on every use."""
        return private_dir(self.cache_dir)

    def delete(self, key: str) -> bool:
        """Remove ``key``'s files (and a cached copy); returns whether anything was there."""
        existed = self.exists(key)
        self._remove(self.path(key))
        shutil.rmtree(self.cache_dir / key.strip("/"), ignore_errors=True)
        return existed

    def _remove(self, path: str) -> None:
        """Remove a folder so that no reader sees part of it: the manifest goes first."""
        if self.local:
            folder = Path(path)
            if folder.exists():
                doomed = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.deleted"
                os.rename(folder, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
            return
        try:
            if self.fs.exists(f"{path}/{MANIFEST}"):
                self.fs.rm_file(f"{path}/{MANIFEST}")
            if self.fs.exists(path):
                self.fs.rm(path, recursive=True)
        except FileNotFoundError:
            pass

    def keys(self, prefix: str = "") -> list[str]:
        """The keys holding a complete artifact (one with its manifest) below ``prefix``."""
        base = self.path(prefix) if prefix.strip("/") else self.root
        if not self.fs.exists(base):
            return []
        found = self.fs.find(base)
        root = self.root.rstrip("/") + "/"
        return sorted(p[len(root):].rsplit("/", 1)[0] for p in found
                      if p.rsplit("/", 1)[-1] == MANIFEST and p.startswith(root))


def default_cache_root() -> Path:
    """Where remote artifacts are cached by default: the user's own cache folder.

    ``$XDG_CACHE_HOME/podium/artifacts`` (``~/.cache/...``), or, without a writable home,
    ``<tmp>/podium-<uid>/artifacts``; either is checked private before use.
    """
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # unset, or relative (which the XDG spec says to ignore)
        base = os.path.join(os.path.expanduser("~"), ".cache")
    if os.path.isabs(base) and _writable_or_creatable(Path(base)):
        return Path(base) / "podium" / "artifacts"
    return Path(tempfile.gettempdir()) / f"podium-{os.geteuid()}" / "artifacts"


def private_dir(path: Path) -> Path:
    """``path`` as a folder only this user can write to: created 0700, or checked when it exists.

    Refuses (``IntegrityError``) a symbolic link, a folder another user owns, one that group or
    others may write to, and one inside a folder that another user could swap: anything planted
    there could be loaded as a model.
    """
    hint = "set cache_dir in podium.yaml (or PODIUM_CACHE_DIR) to a folder of yours"
    try:
        missing = [p for p in (path, *path.parents) if not p.exists()]
        for folder in reversed(missing):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:  # made meanwhile (by us or not): checked below like the rest
                pass
        info = os.lstat(path)
    except OSError as exc:
        raise PodiumError(f"cannot create the artifact cache {path}: {exc.strerror}.", hint=hint) from exc
    uid = os.geteuid()
    refuse = f"refusing to load models through the artifact cache {path}"
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise IntegrityError(f"{refuse}: it is not a plain folder (a link?).", hint=f"remove it, or {hint}")
    if info.st_uid != uid:
        raise IntegrityError(f"{refuse}: it belongs to another user (uid {info.st_uid}).",
                             hint=f"remove it, or {hint}")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise IntegrityError(f"{refuse}: other users may write to it (mode {stat.S_IMODE(info.st_mode):o}).",
                             hint=f"chmod 700 {path}, or {hint}")
    for parent in path.resolve().parents:
        above = os.stat(parent)
        if above.st_uid not in (0, uid):
            raise IntegrityError(f"{refuse}: {parent} belongs to another user (uid {above.st_uid}), who "
                                 "could replace the cache.", hint=hint)
        if above.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not above.st_mode & stat.S_ISVTX:
            raise IntegrityError(f"{refuse}: other users may write to {parent} (mode "
                                 f"{stat.S_IMODE(above.st_mode):o}) and so replace the cache.", hint=hint)
    return path


def _writable_or_creatable(path: Path) -> bool:
    while not path.exists():
        if path.parent == path:
            return False
        path = path.parent
    return path.is_dir() and os.access(path, os.W_OK | os.X_OK)


def _discard(folder: Path) -> None:
    doomed = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.stale"
    try:
        os.rename(folder, doomed)
    except OSError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
