"""Datasets and their immutable versions, in the registry database and artifact store.

A dataset is a name bound to a source (``podium datasets add sales postgresql://…``). A
snapshot reads the source and, when the content changed since the latest version, stores a
new version: its fingerprint, rows, schema, profile and drift against the previous version
in the database, its data as Parquet under ``datasets/<name>/<version>/data.parquet`` in
the artifact store. A version is written like a model version:

1. its number is reserved by a ``pending`` row (unique by (name, version));
2. the data and then its manifest are stored (the folder appears whole or not at all);
3. one transaction marks the row ``ready``.

Only ``ready`` rows are versions: a crash leaves at worst an invisible pending row and an
unreferenced folder.

::

    store = DatasetStore(registry, psi_threshold=0.2, p_threshold=0.01)
    store.add("sales", "data/sales.csv", options={"target": "churn"})
    version = store.snapshot("sales")        # None when nothing changed
    frame = store.load("sales:3")            # or "sales", "sales@latest"
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    delete,
    exc,
    func,
    insert,
    select,
    update,
)

from podium._internal.fingerprint import file_fingerprint, frame_fingerprint
from podium._internal.redact import redact_url
from podium._internal.suggest import did_you_mean
from podium.data.drift import P_THRESHOLD, PSI_THRESHOLD, DriftReport, drift_report
from podium.data.profile import profile_frame
from podium.data.source import Source, resolve_source
from podium.errors import DataError, IntegrityError, NotFoundError, PodiumError, SpecError, UserError
from podium.registry._json import dumps, to_jsonable
from podium.registry.artifacts import MANIFEST, ArtifactExists
from podium.registry.refs import LATEST, check_name, parse_ref
from podium.registry.tables import PENDING, READY, JSONText, RegistryTables, UTCDateTime, metadata

if TYPE_CHECKING:
    from podium.registry.store import Registry

__all__ = ["DatasetStore", "DatasetInfo", "DatasetVersionInfo", "datasets_table", "dataset_versions_table",
           "DATA_FILE"]

logger = logging.getLogger("podium.registry")

DATA_FILE = "data.parquet"
_ATTEMPTS = 50
#: a pending version older than this was left by a crash: it no longer holds its content back
_PENDING_FOR = timedelta(minutes=5)
_UNKNOWN = "unknown"
_EXAMPLES = 5

datasets_table = Table(
    "datasets",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("source", JSONText),  # as given (a URL or a mapping), secrets included: needed to re-read
    Column("description", Text),  # the source as shown, secrets redacted
    Column("options", JSONText),
    Column("created_at", UTCDateTime, nullable=False),
)

dataset_versions_table = Table(
    "dataset_versions",
    metadata,
    Column("name", String(200), ForeignKey("datasets.name"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("state", String(10), nullable=False),
    Column("fingerprint", String(64), nullable=False, index=True),
    Column("rows", Integer, nullable=False),
    Column("schema", JSONText),
    Column("profile", JSONText),
    Column("drift", JSONText),
    Column("drifted", Boolean, nullable=False, default=False),
    Column("artifact_key", String(500), nullable=False),
    Column("checksum", String(64)),  # sha256 of the version's manifest
    Column("origin", Text),  # where the rows came from, secrets redacted (the source or an uploaded file)
    Column("creator", String(200)),
    Column("created_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset: its source (as shown, secrets redacted), options and latest version."""

    name: str
    source: str | None
    options: dict[str, Any]
    created_at: datetime
    versions: int
    latest_version: int | None
    latest_at: datetime | None


@dataclass(frozen=True)
class DatasetVersionInfo:
    """One immutable dataset version and what was computed on it."""

    name: str
    version: int
    fingerprint: str
    rows: int
    schema: list[dict[str, str]]
    profile: dict[str, Any]
    drift: dict[str, Any] | None
    drifted: bool
    artifact_key: str
    checksum: str | None
    origin: str | None
    creator: str | None
    created_at: datetime

    @property
    def ref(self) -> str:
        """The pinned reference, ``name:version``."""
        return f"{self.name}:{self.version}"

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.schema]

    @property
    def drifted_columns(self) -> list[str]:
        return list((self.drift or {}).get("drifted_columns") or [])

    def drift_report(self) -> DriftReport | None:
        """The drift against the previous version, as a report (``None`` for a first version)."""
        return None if self.drift is None else DriftReport.from_dict(self.drift)


def _now() -> datetime:
    return datetime.now(timezone.utc)


class DatasetStore(RegistryTables):
    """Datasets and their versions in ``registry``'s database and artifact store.

    ``psi_threshold`` and ``p_threshold`` decide when a column of a new version is flagged
    as drifted against the previous one (see ``podium.data.drift``).
    """

    def __init__(self, registry: Registry, *, psi_threshold: float = PSI_THRESHOLD,
                 p_threshold: float = P_THRESHOLD) -> None:
        super().__init__(registry)
        self.psi_threshold = psi_threshold
        self.p_threshold = p_threshold

    # -- datasets -----------------------------------------------------------------------------
    def add(self, name: str, source: str | Mapping[str, Any], *, options: Mapping[str, Any] | None = None,
            replace: bool = False) -> DatasetInfo:
        """Bind ``name`` to ``source`` (checked, not read). ``options``: e.g. ``{"target": "churn"}``.

        Adding the same binding again changes nothing; binding the name to another source
        (or other options) needs ``replace=True``.
        """
        check_name(name, "dataset name")
        stored = dict(source) if isinstance(source, Mapping) else str(source)
        description = resolve_source(stored).describe()
        values = dict(options or {})
        with self._write() as conn:
            row = conn.execute(select(datasets_table).where(datasets_table.c.name == name)).mappings().first()
            if row is None:
                conn.execute(insert(datasets_table).values(name=name, source=stored, description=description,
                                                           options=values, created_at=_now()))
            elif (row["source"], row["options"] or {}) != (to_jsonable(stored), to_jsonable(values)):
                if not replace:
                    shown = row["description"] or "no source (uploads only)"
                    raise UserError(f"dataset '{name}' is already bound to {shown}.",
                                    hint="pass replace=True (podium datasets add --replace) to rebind it")
                conn.execute(update(datasets_table).where(datasets_table.c.name == name).values(
                    source=stored, description=description, options=values))
        return self.info(name)

    def info(self, name: str) -> DatasetInfo:
        """One dataset, with its number of versions."""
        with self._read() as conn:
            row = self._dataset_row(conn, name)
            return self._dataset_info(conn, row)

    def list_datasets(self) -> list[DatasetInfo]:
        """Every dataset, by name."""
        with self._read() as conn:
            rows = conn.execute(select(datasets_table).order_by(datasets_table.c.name)).mappings().all()
            return [self._dataset_info(conn, r) for r in rows]

    def source(self, name: str) -> Source:
        """The source ``name`` is bound to (to read it, or fingerprint it cheaply)."""
        with self._read() as conn:
            row = self._dataset_row(conn, name)
        if row["source"] is None:
            raise UserError(f"dataset '{name}' has no source: its versions come from uploaded files.",
                            hint=f"upload a file (podium datasets upload {name} FILE) or bind a source "
                                 f"(podium datasets add {name} SOURCE --replace)")
        return resolve_source(row["source"])

    # -- versions: writing --------------------------------------------------------------------
    def snapshot(self, name: str, *, frame: pd.DataFrame | None = None, creator: str = "cli",
                 origin: str | None = None) -> DatasetVersionInfo | None:
        """Store the data of ``name``'s source (or ``frame``) as a new version.

        Returns ``None`` and stores nothing when the content equals the latest version's.
        """
        with self._read() as conn:
            row = self._dataset_row(conn, name)
        options = row["options"] or {}
        if frame is None:
            frame = self.source(name).read()
            origin = origin or row["description"]
        frame = _normalized(frame, name)
        fingerprint = frame_fingerprint(frame)
        previous = self._latest(name)
        if previous is not None and previous.fingerprint == fingerprint:
            return None
        target = options.get("target")
        profile = profile_frame(frame, target=target if target in frame.columns else None)
        drift = None
        if previous is not None:
            try:
                drift = self.drift(previous.ref, frame)
            except IntegrityError as err:  # a lost reference must not block new versions
                logger.warning("no drift report for the new version of %s: %s", name, err)
        schema = [{"name": c, "dtype": p["dtype"], "type": p["type"]} for c, p in profile["columns"].items()]
        record = {"fingerprint": fingerprint, "rows": int(len(frame)), "schema": schema, "profile": profile,
                  "drift": None if drift is None else drift.to_dict(),
                  "drifted": bool(drift is not None and drift.drifted), "origin": origin, "creator": creator}
        with tempfile.TemporaryDirectory(prefix="podium-dataset-") as tmp:
            folder = Path(tmp)
            data_path = folder / DATA_FILE
            _write_parquet(frame, data_path, name)
            manifest = {"kind": "podium.dataset", "name": name, "fingerprint": fingerprint,
                        "rows": int(len(frame)), "columns": schema, "data": DATA_FILE,
                        "data_sha256": file_fingerprint(data_path)}
            return self._store(name, folder, manifest, record)

    def upload(self, name: str, path_or_frame: str | Path | pd.DataFrame, *, creator: str = "cli",
               options: Mapping[str, Any] | None = None) -> DatasetVersionInfo | None:
        """A version from a file (or a frame). A new ``name`` is created, bound to that file.

        An existing dataset keeps its source: the upload only adds a version.
        """
        if isinstance(path_or_frame, pd.DataFrame):
            frame, origin = path_or_frame, "uploaded frame"
            source: str | None = None
        else:
            source = str(path_or_frame)
            origin = redact_url(source)
            frame = resolve_source(source).read()
        if not self._exists(name):
            if source is not None:
                self.add(name, source, options=options)
            else:
                self._add_unbound(name, options)
        return self.snapshot(name, frame=frame, creator=creator, origin=origin)

    def _add_unbound(self, name: str, options: Mapping[str, Any] | None) -> None:
        check_name(name, "dataset name")
        try:
            with self._write() as conn:
                conn.execute(insert(datasets_table).values(name=name, source=None, description=None,
                                                           options=dict(options or {}), created_at=_now()))
        except exc.IntegrityError:  # created meanwhile by another writer: keep theirs
            pass

    def _store(self, name: str, folder: Path, manifest: dict[str, Any],
               record: dict[str, Any]) -> DatasetVersionInfo | None:
        for _ in range(_ATTEMPTS):
            version = self._reserve(name, record)
            if version is None:  # another writer stored the same content meanwhile
                return None
            key = _artifact_key(name, version)
            (folder / MANIFEST).write_text(dumps({**manifest, "version": version}, indent=2))
            checksum = file_fingerprint(folder / MANIFEST)
            try:
                self.registry.artifacts.put_dir(folder, key)
            except ArtifactExists:
                # left by another registry sharing this store: never overwrite it; the pending
                # row keeps the number taken, so the next reservation moves on
                logger.warning("artifact %s already exists; skipping version %d of dataset %s", key, version, name)
                continue
            except BaseException:
                self._release(name, version)
                raise
            try:
                self._publish(name, version, checksum=checksum)
            except BaseException:
                state = self._version_state(name, version)
                if state == READY:  # the commit landed after all
                    return self.get(f"{name}:{version}")
                if state != _UNKNOWN:  # never delete files a committed version might use
                    self._discard(name, version, key)
                raise
            return self.get(f"{name}:{version}")
        raise PodiumError(f"could not store a new version of dataset '{name}': no free version number "
                          f"after {_ATTEMPTS} tries.", hint="check the artifact store for stray folders")

    def _reserve(self, name: str, record: Mapping[str, Any]) -> int | None:
        """Take the next version number with a pending row; ``None`` if the latest has this content
        or another writer is storing it (a pending row younger than ``_PENDING_FOR``)."""
        t = dataset_versions_table
        for attempt in range(_ATTEMPTS):
            try:
                with self._write() as conn:
                    latest = conn.execute(select(t.c.fingerprint).where(t.c.name == name, t.c.state == READY)
                                          .order_by(t.c.version.desc()).limit(1)).scalar()
                    if latest == record["fingerprint"]:
                        return None
                    # another writer (a second watcher) is storing this very content right now
                    storing = conn.execute(select(t.c.version).where(
                        t.c.name == name, t.c.state == PENDING, t.c.fingerprint == record["fingerprint"],
                        t.c.created_at > _now() - _PENDING_FOR)).first()
                    if storing is not None:
                        return None
                    current = conn.execute(select(func.max(t.c.version)).where(t.c.name == name)).scalar()
                    version = int(current or 0) + 1
                    conn.execute(insert(t).values(name=name, version=version, state=PENDING,
                                                  artifact_key=_artifact_key(name, version), created_at=_now(),
                                                  **record))
                return version
            except exc.IntegrityError:  # (name, version) taken by a concurrent writer
                time.sleep(random.uniform(0.002, 0.02) * (1 + attempt))
        raise PodiumError(f"could not reserve a version number for dataset '{name}' after {_ATTEMPTS} tries "
                          "(too many concurrent snapshots).", hint="try again")

    def _publish(self, name: str, version: int, *, checksum: str) -> None:
        """Make a stored version visible, in one transaction."""
        t = dataset_versions_table
        with self._write() as conn:
            done = conn.execute(update(t).where(t.c.name == name, t.c.version == version, t.c.state == PENDING)
                                .values(state=READY, checksum=checksum, created_at=_now())).rowcount
            if done != 1:
                raise PodiumError(f"version {version} of dataset '{name}' is no longer reserved.")

    def _version_state(self, name: str, version: int) -> str | None:
        t = dataset_versions_table
        try:
            with self._read() as conn:
                state: str | None = conn.execute(select(t.c.state).where(
                    t.c.name == name, t.c.version == version)).scalar()
                return state
        except exc.SQLAlchemyError:
            return _UNKNOWN

    def _release(self, name: str, version: int) -> None:
        """Drop a reservation (best effort: a leftover pending row is harmless)."""
        t = dataset_versions_table
        try:
            with self._write() as conn:
                conn.execute(delete(t).where(t.c.name == name, t.c.version == version, t.c.state == PENDING))
        except exc.SQLAlchemyError as err:
            logger.warning("could not release version %d of dataset %s: %s", version, name, err)

    def _discard(self, name: str, version: int, key: str) -> None:
        try:
            self.registry.artifacts.delete(key)
        except Exception as err:  # noqa: BLE001  an unreferenced artifact is harmless
            logger.warning("could not remove artifact %s: %s", key, err)
        self._release(name, version)

    # -- versions: reading --------------------------------------------------------------------
    def versions(self, name: str) -> list[DatasetVersionInfo]:
        """The versions of ``name``, oldest first."""
        t = dataset_versions_table
        with self._read() as conn:
            self._dataset_row(conn, name)
            rows = conn.execute(select(t).where(t.c.name == name, t.c.state == READY)
                                .order_by(t.c.version)).mappings().all()
        return [_version_info(r) for r in rows]

    def get(self, ref: str) -> DatasetVersionInfo:
        """The version ``ref`` names: ``sales`` or ``sales@latest`` (the latest), ``sales:3``."""
        parsed = parse_ref(ref)
        if parsed.alias is not None and parsed.alias != LATEST:
            raise SpecError(f"'{ref}' is not a dataset reference: datasets have no aliases but '@{LATEST}'.",
                            hint=f"write {parsed.name}, {parsed.name}:3 or {parsed.name}@{LATEST}")
        t = dataset_versions_table
        with self._read() as conn:
            self._dataset_row(conn, parsed.name)
            query = select(t).where(t.c.name == parsed.name, t.c.state == READY)
            if parsed.version is not None:
                query = query.where(t.c.version == parsed.version)
            row = conn.execute(query.order_by(t.c.version.desc()).limit(1)).mappings().first()
            if row is None:
                numbers = conn.execute(select(t.c.version).where(t.c.name == parsed.name, t.c.state == READY)
                                       .order_by(t.c.version)).scalars().all()
                if not numbers:
                    raise NotFoundError(f"dataset '{parsed.name}' has no versions yet.",
                                        hint=f"take one: podium datasets snapshot {parsed.name}")
                raise NotFoundError(f"dataset '{parsed.name}' has no version {parsed.version} "
                                    f"(its versions: {', '.join(map(str, numbers))}).",
                                    hint=f"list them: podium datasets versions {parsed.name}")
        return _version_info(row)

    def previous(self, ref: str) -> DatasetVersionInfo | None:
        """The version before ``ref``'s, or ``None`` for a first version."""
        info = self.get(ref)
        t = dataset_versions_table
        with self._read() as conn:
            row = conn.execute(select(t).where(t.c.name == info.name, t.c.state == READY,
                                               t.c.version < info.version)
                               .order_by(t.c.version.desc()).limit(1)).mappings().first()
        return None if row is None else _version_info(row)

    def load(self, ref: str) -> pd.DataFrame:
        """The data of the version ``ref`` names, its checksums verified."""
        info = self.get(ref)
        try:
            folder = self.registry.artifacts.get_local(info.artifact_key, checksum=info.checksum)
        except NotFoundError:
            raise IntegrityError(f"dataset {info.ref} is registered but its files '{info.artifact_key}' are "
                                 f"missing from {self.registry.artifacts.url}.",
                                 hint="check artifacts_url in podium.yaml (or PODIUM_ARTIFACTS_URL)") from None
        manifest_path, data_path = folder / MANIFEST, folder / DATA_FILE
        if not manifest_path.is_file() or (info.checksum and file_fingerprint(manifest_path) != info.checksum):
            raise IntegrityError(f"the manifest of dataset {info.ref} does not match the registry.",
                                 hint=f"its folder {info.artifact_key} was changed or is incomplete")
        manifest = json.loads(manifest_path.read_text())
        if not data_path.is_file() or file_fingerprint(data_path) != manifest.get("data_sha256"):
            raise IntegrityError(f"the data of dataset {info.ref} does not match its checksum.",
                                 hint=f"its file {info.artifact_key}/{DATA_FILE} was changed or is incomplete")
        return pd.read_parquet(data_path)

    def drift(self, ref: str, frame: pd.DataFrame, *, columns: list[str] | None = None) -> DriftReport:
        """Drift of ``frame`` (new data, or what a service logged) against the version ``ref``."""
        reference = self.get(ref)
        return drift_report(self.load(reference.ref), frame, psi_threshold=self.psi_threshold,
                            p_threshold=self.p_threshold, columns=columns, reference_name=reference.ref)

    def diff(self, ref_a: str, ref_b: str) -> dict[str, Any]:
        """What changed from ``ref_a`` to ``ref_b``: rows added and removed, schema changes.

        Rows are compared by a hash of their values in the columns both versions share (as a
        multiset: a duplicated row counts twice).
        """
        a, b = self.get(ref_a), self.get(ref_b)
        left, right = self.load(a.ref), self.load(b.ref)
        types_a = {c["name"]: c for c in a.schema}
        types_b = {c["name"]: c for c in b.schema}
        shared = [c for c in left.columns if c in right.columns]
        left_keys, right_keys = _row_hashes(left, right, shared)
        count_a, count_b = Counter(left_keys), Counter(right_keys)
        added, removed = count_b - count_a, count_a - count_b
        return {
            "a": a.ref,
            "b": b.ref,
            "rows": {"a": a.rows, "b": b.rows},
            "rows_added": sum(added.values()),
            "rows_removed": sum(removed.values()),
            "rows_unchanged": sum((count_a & count_b).values()),
            "compared_on": shared,
            "added_columns": [c for c in right.columns if c not in types_a],
            "removed_columns": [c for c in left.columns if c not in types_b],
            "type_changes": [{"column": c, "a": types_a[c]["dtype"], "b": types_b[c]["dtype"]}
                             for c in shared if types_a[c]["dtype"] != types_b[c]["dtype"]],
            "added_examples": _examples(right, right_keys, added),
            "removed_examples": _examples(left, left_keys, removed),
        }

    # -- rows -------------------------------------------------------------------------------
    def _exists(self, name: str) -> bool:
        with self._read() as conn:
            found = conn.execute(select(datasets_table.c.name).where(datasets_table.c.name == name)).first()
        return found is not None

    def _latest(self, name: str) -> DatasetVersionInfo | None:
        try:
            return self.get(name)
        except NotFoundError:
            return None

    def _dataset_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(datasets_table).where(datasets_table.c.name == name)).mappings().first()
        if row is None:
            known = conn.execute(select(datasets_table.c.name)).scalars().all()
            choices = did_you_mean(name, known) if known else "No dataset exists yet."
            raise NotFoundError(f"no dataset named '{name}'. {choices}",
                                hint="add one: podium datasets add NAME SOURCE")
        return row

    def _dataset_info(self, conn: Connection, row: RowMapping) -> DatasetInfo:
        t = dataset_versions_table
        count, latest, latest_at = conn.execute(
            select(func.count(), func.max(t.c.version), func.max(t.c.created_at))
            .where(t.c.name == row["name"], t.c.state == READY)).one()
        return DatasetInfo(name=row["name"], source=row["description"], options=row["options"] or {},
                           created_at=row["created_at"], versions=int(count or 0),
                           latest_version=None if latest is None else int(latest),
                           latest_at=_aware(latest_at))


# -- helpers ----------------------------------------------------------------------------------
def _artifact_key(name: str, version: int) -> str:
    return f"datasets/{name}/{version}"


def _version_info(row: RowMapping) -> DatasetVersionInfo:
    return DatasetVersionInfo(
        name=row["name"], version=int(row["version"]), fingerprint=row["fingerprint"], rows=int(row["rows"]),
        schema=list(row["schema"] or []), profile=row["profile"] or {}, drift=row["drift"],
        drifted=bool(row["drifted"]), artifact_key=row["artifact_key"], checksum=row["checksum"],
        origin=row["origin"], creator=row["creator"], created_at=row["created_at"])


def _aware(value: Any) -> datetime | None:
    """``max()`` of a column comes back without its type's conversion on SQLite."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _normalized(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """String column names and a plain index: what Parquet keeps, so what the version holds."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"a version of dataset '{name}' must be a table, not {type(frame).__name__}.")
    columns = [str(c) for c in frame.columns]
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataError(f"the data for dataset '{name}' has duplicated columns: {', '.join(duplicated)}.",
                        hint="rename them so that every column has its own name")
    if len(frame) == 0:
        raise DataError(f"the data for dataset '{name}' has no rows.")
    return frame.set_axis(columns, axis=1).reset_index(drop=True)


def _write_parquet(frame: pd.DataFrame, path: Path, name: str) -> None:
    try:
        frame.to_parquet(path, index=False)
        return
    except Exception:  # noqa: BLE001  mixed-type columns: retried as text below
        pass
    fixed = frame.copy()
    for column in fixed.columns:
        if fixed[column].dtype == object:
            values = fixed[column]
            fixed[column] = values.where(values.isna(), values.astype(str))
    try:
        fixed.to_parquet(path, index=False)
    except Exception as err:  # noqa: BLE001
        raise DataError(f"the data for dataset '{name}' cannot be stored as Parquet: "
                        f"{str(err).splitlines()[0] if str(err) else type(err).__name__}.") from None


def _row_hashes(left: pd.DataFrame, right: pd.DataFrame, shared: list[str]) -> tuple[list[int], list[int]]:
    ordered = sorted(shared)
    a, b = left[ordered].copy(), right[ordered].copy()
    for column in ordered:
        if a[column].dtype != b[column].dtype:  # 1 and 1.0 are one value; other clashes compare as text
            try:
                a[column], b[column] = a[column].astype(float), b[column].astype(float)
            except (TypeError, ValueError):
                a[column], b[column] = a[column].astype(str), b[column].astype(str)
    if not ordered:
        return [0] * len(a), [0] * len(b)
    return ([int(h) for h in pd.util.hash_pandas_object(a, index=False)],
            [int(h) for h in pd.util.hash_pandas_object(b, index=False)])


def _examples(frame: pd.DataFrame, keys: list[int], wanted: Counter[int]) -> list[dict[str, Any]]:
    rows, left = [], Counter(wanted)
    for position, key in enumerate(keys):
        if left[key] > 0:
            left[key] -= 1
            rows.append(to_jsonable(frame.iloc[position].to_dict()))
            if len(rows) == _EXAMPLES:
                break
    return rows
