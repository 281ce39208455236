"""The registry: runs and trials, model versions and aliases, events and API keys.

Metadata lives in a SQLAlchemy database (SQLite in ``.podium/registry.db`` by default,
PostgreSQL by URL); model packages live in an ``ArtifactStore``. Registering a version is
crash-safe and safe between processes:

1. the version number is *reserved*: a ``pending`` row, made unique by the primary key
   (name, version) — two writers that pick the same number conflict, and the loser retries;
2. the package is stored under ``models/<name>/<version>`` (whole or not at all);
3. one transaction marks the row ``ready`` and moves the alias.

Only ``ready`` rows are versions. A crash leaves at worst an invisible ``pending`` row and an
unreferenced artifact, never a version without its files or an alias pointing at nothing.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import math
import random
import secrets
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import Connection, Engine, RowMapping, Table, and_, delete, exc, func, insert, select, update

from podium._internal import failpoints
from podium._internal.fingerprint import file_fingerprint
from podium._internal.suggest import did_you_mean
from podium.errors import ConflictError, IntegrityError, NotFoundError, PodiumError, SpecError, UserError
from podium.registry import tables as t
from podium.registry.artifacts import MANIFEST, ArtifactExists, ArtifactStore
from podium.registry.engine import WRITE_OPTION, create_registry_engine, normalize_url
from podium.registry.migrate import ensure_schema
from podium.registry.package import ModelPackage
from podium.registry.records import (
    RUN_STATUSES,
    TRIAL_STATUSES,
    ApiKeyInfo,
    EventRecord,
    KeyVerdict,
    ModelInfo,
    ModelVersionInfo,
    PromotionRecord,
    RunInfo,
)
from podium.registry.refs import DEFAULT_ALIAS, LATEST, check_name, parse_ref
from podium.registry.signing import SigningKey, TrustPolicy

if TYPE_CHECKING:
    from podium.config import Settings

__all__ = ["Registry", "UNCHECKED"]


class _Unchecked(enum.Enum):
    UNCHECKED = "unchecked"


#: ``set_alias(expected=UNCHECKED)``: move the alias wherever it points now (a person's act)
UNCHECKED = _Unchecked.UNCHECKED

logger = logging.getLogger("podium.registry")

_ATTEMPTS = 50  # reservations tried before giving up (each conflict means another writer won)
_TRIAL_COLUMNS = ("candidate", "params", "status", "score", "metrics", "fit_seconds",
                  "predict_ms_per_1000", "size_bytes", "error", "rank")
_KEY_PREFIX = "pdm_"
_INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE for a missing grant
_UNKNOWN = "unknown"  # a version's state when the database cannot be asked


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Registry:
    """The project's registry: metadata at ``registry_url``, packages at ``artifacts_url``.

    One engine per registry; on first use a new database gets its tables, and one at another
    schema revision raises ``RegistryRevisionError`` (``podium db upgrade``). Several processes
    may share one registry (SQLite in WAL mode, or PostgreSQL).

    ``trust`` decides which package signatures are required and accepted on every load;
    ``signing_key`` (a key, or the path of its PEM file, read when first needed) signs the
    packages this registry registers.
    """

    def __init__(self, registry_url: str, artifacts_url: str | ArtifactStore, *,
                 cache_dir: str | Path | None = None, echo: bool = False,
                 trust: TrustPolicy | None = None, signing_key: SigningKey | str | Path | None = None) -> None:
        self.url = normalize_url(registry_url)
        self.engine: Engine = create_registry_engine(self.url, echo=echo)
        self.artifacts = (artifacts_url if isinstance(artifacts_url, ArtifactStore)
                          else ArtifactStore(artifacts_url, cache_dir=cache_dir))
        self.trust = trust or TrustPolicy()
        self._signing_key = signing_key
        self._ready = False
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> Registry:
        return cls(settings.resolved_registry_url, settings.resolved_artifacts_url,
                   cache_dir=settings.cache_dir, trust=trust_from_settings(settings),
                   signing_key=settings.resolved_signing_key)

    @property
    def signing_key(self) -> SigningKey | None:
        """The key that signs registered packages (None: they are not signed)."""
        if self._signing_key is not None and not isinstance(self._signing_key, SigningKey):
            self._signing_key = SigningKey.load(self._signing_key)
        return self._signing_key

    def __repr__(self) -> str:
        return f"Registry({self.engine.url.render_as_string(hide_password=True)!r}, {self.artifacts.url!r})"

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- connections --------------------------------------------------------------------------
    def _ensure_tables(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                ensure_schema(self.engine)
                self._ready = True

    @contextmanager
    def _connection(self, *, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(**{WRITE_OPTION: True})
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One transaction that writes (on SQLite it holds the write lock from its start).

        A database role without the right to write (a serving role) gets one clear error.
        """
        self._ensure_tables()
        try:
            with self._connection(write=True) as conn, conn.begin():
                yield conn
        except exc.ProgrammingError as error:
            if getattr(error.orig, "sqlstate", None) != _INSUFFICIENT_PRIVILEGE:
                raise
            user = self.engine.url.username or "this user"
            raise PodiumError(f"the registry role '{user}' may not make this change: "
                              f"{str(error.orig).splitlines()[0]}.",
                              hint="serving roles only read (and keep prediction_log); use the "
                                   "registry owner's role to register, promote or manage keys") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        self._ensure_tables()
        with self._connection(write=False) as conn:
            yield conn

    # -- runs ---------------------------------------------------------------------------------
    def start_run(self, name: str, *, spec: Mapping[str, Any], task: str | None, metric: str | None,
                  dataset_fingerprint: str | None, source: str | None, owner: str | None = None) -> str:
        """Record a run that starts now (``owner``: the process running it); returns its id."""
        run_id = uuid.uuid4().hex
        with self._write() as conn:
            conn.execute(insert(t.runs).values(
                id=run_id, name=name, status="running", spec=dict(spec), task=task, metric=metric,
                dataset_fingerprint=dataset_fingerprint, source=source, started_at=_now(), owner=owner))
        return run_id

    def record_trials(self, run_id: str, trials: Sequence[Mapping[str, Any]]) -> None:
        """Append a run's trials (leaderboard rows); keys beyond the columns are kept as ``extra``."""
        rows = []
        for trial in trials:
            status = str(trial.get("status", "ok"))
            if status not in TRIAL_STATUSES:
                raise ValueError(f"trial status {status!r} is not one of {', '.join(TRIAL_STATUSES)}")
            row = {k: _finite(trial.get(k)) for k in _TRIAL_COLUMNS}
            row.update(run_id=run_id, status=status, candidate=str(trial.get("candidate", "")),
                       extra={k: v for k, v in trial.items() if k not in _TRIAL_COLUMNS and k != "run_id"})
            rows.append(row)
        with self._write() as conn:
            self._run_row(conn, run_id)
            if rows:
                conn.execute(insert(t.trials), rows)

    def finish_run(self, run_id: str, status: str, *, summary: Mapping[str, Any],
                   error: str | None = None, if_running: bool = False) -> bool:
        """Record how a run ended (succeeded, not_promoted, awaiting_approval, gate_failed or
        failed) with its figures; with ``if_running``, only a run still running. Returns
        whether the run was changed."""
        if status not in RUN_STATUSES or status == "running":
            raise ValueError(f"a run finishes as one of {', '.join(RUN_STATUSES[1:])}, not {status!r}")
        with self._write() as conn:
            self._run_row(conn, run_id)
            query = update(t.runs).where(t.runs.c.id == run_id)
            if if_running:
                query = query.where(t.runs.c.status == "running")
            return conn.execute(query.values(status=status, summary=dict(summary), error=error,
                                             finished_at=_now())).rowcount == 1

    def get_run(self, run_id: str) -> RunInfo:
        """A run by id or by a unique prefix of it."""
        with self._read() as conn:
            return _run_info(self._run_row(conn, run_id))

    def list_runs(self, limit: int = 50, name: str | None = None, status: str | None = None) -> list[RunInfo]:
        """The latest runs, newest first."""
        query = select(t.runs).order_by(t.runs.c.started_at.desc(), t.runs.c.id).limit(limit)
        if name is not None:
            query = query.where(t.runs.c.name == name)
        if status is not None:
            query = query.where(t.runs.c.status == status)
        with self._read() as conn:
            return [_run_info(r) for r in conn.execute(query).mappings()]

    def get_trials(self, run_id: str) -> list[dict[str, Any]]:
        """A run's trials in the order they were recorded (best first for a leaderboard)."""
        with self._read() as conn:
            full_id = self._run_row(conn, run_id)["id"]
            rows = conn.execute(select(t.trials).where(t.trials.c.run_id == full_id)
                                .order_by(t.trials.c.id)).mappings().all()
        out = []
        for r in rows:
            record = {"run_id": r["run_id"], **{k: r[k] for k in _TRIAL_COLUMNS}}
            record.update(r["extra"] or {})
            out.append(record)
        return out

    def _run_row(self, conn: Connection, run_id: str) -> RowMapping:
        row = conn.execute(select(t.runs).where(t.runs.c.id == run_id)).mappings().first()
        if row is not None:
            return row
        prefix = run_id.strip().lower()
        matches: Sequence[RowMapping] = ()
        if prefix and all(c in "0123456789abcdef" for c in prefix):
            matches = conn.execute(select(t.runs).where(t.runs.c.id.startswith(prefix))
                                   .order_by(t.runs.c.started_at.desc()).limit(6)).mappings().all()
        if len(matches) == 1:
            return matches[0]
        if matches:
            shown = ", ".join(m["id"][:12] for m in matches[:5])
            raise UserError(f"run id '{run_id}' matches several runs ({shown}...).",
                            hint="give more characters of the id")
        raise NotFoundError(f"no run with id '{run_id}'.", hint="list the runs: podium runs list")

    # -- models: registering ------------------------------------------------------------------
    def register(self, name: str, package: ModelPackage, *, run_id: str | None = None,
                 alias: str | None = DEFAULT_ALIAS, description: str | None = None) -> int:
        """Store ``package`` as the next version of ``name`` and point ``alias`` at it.

        Atomic and crash-safe (see the module docstring); returns the new version number.
        """
        check_name(name, "model name")
        if alias is not None:
            _check_alias(alias)
        signer = self.signing_key
        with tempfile.TemporaryDirectory(prefix="podium-register-") as tmp:
            package.save(None, tmp, signer=signer)
            checksum = file_fingerprint(Path(tmp) / MANIFEST)
            for _ in range(_ATTEMPTS):
                version = self._reserve(name, package, run_id=run_id, description=description)
                key = _artifact_key(name, version)
                try:
                    self.artifacts.put_dir(tmp, key)
                except ArtifactExists:
                    # left by another registry sharing this store: never overwrite it; the
                    # pending row keeps the number taken, so the next reservation moves on
                    logger.warning("artifact %s already exists; skipping version %d of %s", key, version, name)
                    continue
                except BaseException:
                    self._release(name, version)
                    raise
                failpoints.reach("registry.stored")
                try:
                    self._publish(name, version, checksum=checksum, alias=alias, run_id=run_id,
                                  metric=package.metric, score=package.score)
                except BaseException:
                    state = self._version_state(name, version)
                    if state == t.READY:  # the commit landed after all (the error came after it)
                        return version
                    if state != _UNKNOWN:  # never delete files a committed version might use
                        self._discard(name, version, key)
                    raise
                return version
        raise PodiumError(f"could not register a new version of '{name}': no free version number "
                          f"after {_ATTEMPTS} tries.", hint="check the artifact store for stray folders")

    def _next_version(self, conn: Connection, name: str) -> int:
        current = conn.execute(select(func.max(t.model_versions.c.version))
                               .where(t.model_versions.c.name == name)).scalar()
        return int(current or 0) + 1

    def _reserve(self, name: str, package: ModelPackage, *, run_id: str | None,
                 description: str | None) -> int:
        """Take the next version number with a pending row; retries when another writer won."""
        for attempt in range(_ATTEMPTS):
            try:
                with self._write() as conn:
                    known = conn.execute(select(t.models.c.name).where(t.models.c.name == name)).first()
                    if known is None:
                        conn.execute(insert(t.models).values(name=name, created_at=_now(),
                                                             description=description))
                    version = self._next_version(conn, name)
                    conn.execute(insert(t.model_versions).values(
                        name=name, version=version, state=t.PENDING, run_id=run_id,
                        artifact_key=_artifact_key(name, version), metric=package.metric,
                        score=package.score, created_at=_now()))
                return version
            except exc.IntegrityError:  # (name, version) taken by a concurrent writer
                time.sleep(random.uniform(0.002, 0.02) * (1 + attempt))
        raise PodiumError(f"could not reserve a version number for '{name}' after {_ATTEMPTS} tries "
                          "(too many concurrent registrations).", hint="try again")

    def _publish(self, name: str, version: int, *, checksum: str, alias: str | None,
                 run_id: str | None, metric: str, score: float | None) -> None:
        """Make a stored version visible and move the alias, in one transaction."""
        now = _now()
        with self._write() as conn:
            done = conn.execute(update(t.model_versions).where(
                t.model_versions.c.name == name, t.model_versions.c.version == version,
                t.model_versions.c.state == t.PENDING).values(state=t.READY, checksum=checksum,
                                                               created_at=now)).rowcount
            if done != 1:
                raise PodiumError(f"version {version} of '{name}' is no longer reserved.")
            self._record(conn, "registered", {"alias": alias, "metric": metric, "score": score},
                         run_id=run_id, model=name, version=version)
            if alias is not None:
                self._move_alias(conn, name, alias, version, run_id=run_id)

    def _version_state(self, name: str, version: int) -> str | None:
        try:
            with self._read() as conn:
                return conn.execute(select(t.model_versions.c.state).where(
                    t.model_versions.c.name == name, t.model_versions.c.version == version)).scalar()
        except exc.SQLAlchemyError:
            return _UNKNOWN

    def _release(self, name: str, version: int) -> None:
        """Drop a reservation (best effort: a leftover pending row is harmless)."""
        try:
            with self._write() as conn:
                conn.execute(delete(t.model_versions).where(
                    t.model_versions.c.name == name, t.model_versions.c.version == version,
                    t.model_versions.c.state == t.PENDING))
        except exc.SQLAlchemyError as err:
            logger.warning("could not release version %d of %s: %s", version, name, err)

    def _discard(self, name: str, version: int, key: str) -> None:
        try:
            self.artifacts.delete(key)
        except Exception as err:  # noqa: BLE001  an unreferenced artifact is harmless
            logger.warning("could not remove artifact %s: %s", key, err)
        self._release(name, version)

    # -- models: aliases ----------------------------------------------------------------------
    def set_alias(self, name: str, alias: str, version: int, *,
                  expected: int | None | _Unchecked = UNCHECKED) -> int | None:
        """Point ``name@alias`` at ``version`` (atomic); returns the version it pointed at before.

        With ``expected`` (a version, or None for "no alias yet") it is a compare-and-set: the
        alias moves only if it is still there, else ``ConflictError`` and nothing changes —
        so a decision taken against one champion never overwrites a newer move.
        """
        _check_alias(alias)
        try:
            with self._write() as conn:
                self._model_row(conn, name)
                self._version_row(conn, name, int(version))
                return self._move_alias(conn, name, alias, int(version), expected=expected)
        except exc.IntegrityError:
            if expected is UNCHECKED:
                raise
            raise ConflictError(f"{name}@{alias} was created by another writer meanwhile; nothing was changed.",
                                hint=f"see where it points: podium models show {name}@{alias}") from None

    def delete_alias(self, name: str, alias: str) -> int:
        """Remove ``name@alias``; returns the version it pointed at."""
        with self._write() as conn:
            self._model_row(conn, name)
            current = self._alias_version(conn, name, alias)
            if current is None:
                raise NotFoundError(f"model '{name}' has no alias '{alias}'.",
                                    hint=f"see its aliases: podium models show {name}")
            conn.execute(delete(t.aliases).where(t.aliases.c.name == name, t.aliases.c.alias == alias))
            self._record(conn, "alias_deleted", {"alias": alias, "from": current}, model=name,
                         version=current)
            return current

    def _move_alias(self, conn: Connection, name: str, alias: str, version: int, *,
                    run_id: str | None = None, expected: int | None | _Unchecked = UNCHECKED) -> int | None:
        previous: int | None = conn.execute(select(t.aliases.c.version).where(
            t.aliases.c.name == name, t.aliases.c.alias == alias).with_for_update()).scalar()
        if expected is not UNCHECKED and previous != expected:
            raise ConflictError(
                f"{name}@{alias} is at version {previous if previous is not None else '(none)'}, not "
                f"{expected if expected is not None else '(none)'} as expected: it moved meanwhile; nothing was changed.",
                hint=f"see where it points: podium models show {name}@{alias}")
        now = _now()
        if expected is not UNCHECKED and previous is not None:  # the row is locked; the condition re-checks
            moved = conn.execute(update(t.aliases).where(
                t.aliases.c.name == name, t.aliases.c.alias == alias, t.aliases.c.version == expected,
            ).values(version=version, updated_at=now)).rowcount
            if moved != 1:
                raise ConflictError(f"{name}@{alias} moved meanwhile; nothing was changed.")
        else:
            _upsert(conn, t.aliases, {"name": name, "alias": alias, "version": version, "updated_at": now},
                    keys=("name", "alias"), changes=("version", "updated_at"))
        self._record(conn, "alias_moved", {"alias": alias, "from": previous, "to": version},
                     run_id=run_id, model=name, version=version)
        return previous

    def _alias_version(self, conn: Connection, name: str, alias: str) -> int | None:
        return conn.execute(select(t.aliases.c.version).where(
            t.aliases.c.name == name, t.aliases.c.alias == alias)).scalar()

    # -- promotions ---------------------------------------------------------------------------
    def record_promotion(self, run_id: str, *, model: str, alias: str, dataset: str | None,
                         champion: int | None, decision: str, message: str,
                         figures: Mapping[str, Any]) -> PromotionRecord:
        """Record a champion/challenger decision *before* its challenger is registered.

        ``decision`` is promote, keep or approve (wait for a person); ``champion`` is the version
        the alias pointed at when it was taken, the expected version of the move.
        """
        if decision not in ("promote", "keep", "approve"):
            raise ValueError(f"a promotion decision is promote, keep or approve, not {decision!r}")
        now = _now()
        with self._write() as conn:
            conn.execute(insert(t.promotions).values(
                run_id=run_id, model=model, alias=alias, dataset=dataset, champion=champion, decision=decision,
                message=message, figures=dict(figures), state="decided", created_at=now, updated_at=now))
            self._record(conn, "promotion_decision", {"promote": decision != "keep", "decision": decision,
                                                      "message": message, "champion": champion, **figures},
                         run_id=run_id, model=model)
            return self._promotion_row(conn, run_id)

    def promotion(self, run_id: str) -> PromotionRecord | None:
        """The promotion decided by this run, if any."""
        with self._read() as conn:
            row = conn.execute(select(t.promotions).where(t.promotions.c.run_id == run_id)).mappings().first()
        return None if row is None else _promotion_record(row)

    def list_promotions(self, *, model: str | None = None, state: str | None = None,
                        limit: int = 100) -> list[PromotionRecord]:
        """Promotions, newest first."""
        query = select(t.promotions).order_by(t.promotions.c.created_at.desc()).limit(limit)
        if model is not None:
            query = query.where(t.promotions.c.model == model)
        if state is not None:
            query = query.where(t.promotions.c.state == state)
        with self._read() as conn:
            return [_promotion_record(r) for r in conn.execute(query).mappings()]

    def promotion_registered(self, run_id: str, version: int) -> None:
        """The challenger of this promotion is registered as ``version``."""
        with self._write() as conn:
            conn.execute(update(t.promotions).where(
                t.promotions.c.run_id == run_id, t.promotions.c.state == "decided",
            ).values(version=version, state="registered", updated_at=_now()))

    def complete_promotion(self, run_id: str) -> PromotionRecord:
        """Act on a recorded decision, once, in one transaction; returns how it ended.

        promote: the alias moves to the challenger only if it still points at the champion the
        decision was taken against (else ``superseded``: the newer move stands); keep: the
        champion stays; approve: it waits for ``approve_promotion``. A challenger that was never
        registered ends ``abandoned``; one whose stored package fails the checks every load makes
        (checksums, signature) is kept out. Completing a finished promotion changes nothing.
        """
        self._refuse_unverified(run_id)
        with self._write() as conn:
            row = conn.execute(select(t.promotions).where(t.promotions.c.run_id == run_id)
                               .with_for_update()).mappings().first()
            if row is None:
                raise NotFoundError(f"run '{run_id}' has no recorded promotion decision.")
            record = _promotion_record(row)
            if record.finished or record.state == "awaiting_approval":
                return record
            version = record.version if record.version is not None else conn.execute(
                select(t.model_versions.c.version).where(
                    t.model_versions.c.name == record.model, t.model_versions.c.run_id == run_id,
                    t.model_versions.c.state == t.READY)).scalar()
            ref = f"{record.model}:{version}"
            if version is None:
                state, outcome = "abandoned", "its challenger was never registered (the run was interrupted first)"
            elif record.decision == "keep":
                state, outcome = "kept", f"not promoted: {record.message}"
            elif record.decision == "approve":
                state, outcome = "awaiting_approval", f"waits for a person: podium models approve {ref}"
            else:
                current = self._alias_version(conn, record.model, record.alias)
                if current == record.champion:
                    self._move_alias(conn, record.model, record.alias, int(version), run_id=run_id,
                                     expected=record.champion)
                    state, outcome = "promoted", f"{ref} is now {record.model}@{record.alias}"
                elif current == version:
                    state, outcome = "promoted", f"{ref} is now {record.model}@{record.alias}"
                else:
                    state, outcome = "superseded", (
                        f"not promoted: {record.model}@{record.alias} moved to version {current} after the "
                        f"decision (taken against version {record.champion}); the newer move stands")
            conn.execute(update(t.promotions).where(t.promotions.c.run_id == run_id).values(
                version=version, state=state, outcome=outcome, updated_at=_now()))
            self._record(conn, "promotion_completed", {"state": state, "outcome": outcome, "alias": record.alias},
                         run_id=run_id, model=record.model, version=version)
            return self._promotion_row(conn, run_id)

    def _refuse_unverified(self, run_id: str) -> None:
        """A challenger to be promoted whose registered package does not verify becomes 'keep'."""
        record = self.promotion(run_id)
        if record is None or record.finished or record.decision == "keep" or record.state == "awaiting_approval":
            return
        with self._read() as conn:
            version = conn.execute(select(t.model_versions.c.version).where(
                t.model_versions.c.name == record.model, t.model_versions.c.run_id == run_id,
                t.model_versions.c.state == t.READY)).scalar()
        if version is None:
            return
        try:
            self.verify(f"{record.model}:{version}")
        except IntegrityError as err:
            with self._write() as conn:
                conn.execute(update(t.promotions).where(
                    t.promotions.c.run_id == run_id, t.promotions.c.state.in_(("decided", "registered")),
                ).values(decision="keep", message=f"the registered package was refused: {err.message}",
                         updated_at=_now()))

    def approve_promotion(self, model: str, version: int) -> PromotionRecord:
        """A person approves the challenger ``model:version`` that waits: the alias moves to it,
        if it still points at the champion the challenger was compared with."""
        ref = f"{model}:{version}"
        with self._write() as conn:
            rows = conn.execute(select(t.promotions).where(
                t.promotions.c.model == model, t.promotions.c.version == version)
                .order_by(t.promotions.c.created_at.desc()).with_for_update()).mappings().all()
            waiting = next((r for r in rows if r["state"] == "awaiting_approval"), None)
            if waiting is None:
                if rows:
                    raise UserError(f"{ref} is not waiting for approval: its promotion is {rows[0]['state']} "
                                    f"({rows[0]['outcome'] or rows[0]['message']}).",
                                    hint=f"to move the alias anyway: podium models promote {ref}")
                self._version_row(conn, model, version)  # an unknown version is its own message
                raise NotFoundError(f"{ref} has no promotion waiting for approval.",
                                    hint=f"list them: podium models pending · promote by hand: podium models promote {ref}")
            record = _promotion_record(waiting)
            try:
                self._move_alias(conn, model, record.alias, version, run_id=record.run_id, expected=record.champion)
            except ConflictError:
                current = self._alias_version(conn, model, record.alias)
                raise ConflictError(
                    f"{model}@{record.alias} moved to version {current} since {ref} was compared with version "
                    f"{record.champion}: the comparison no longer holds, so it is not approved.",
                    hint=f"to move the alias anyway: podium models promote {ref}") from None
            conn.execute(update(t.promotions).where(t.promotions.c.run_id == record.run_id).values(
                state="promoted", outcome=f"approved: {ref} is now {model}@{record.alias}", updated_at=_now()))
            self._record(conn, "promotion_approved", {"alias": record.alias, "from": record.champion, "to": version},
                         run_id=record.run_id, model=model, version=version)
            return self._promotion_row(conn, record.run_id)

    def promotion_notified(self, run_id: str) -> None:
        """The promotion's outcome was sent to the notifiers (recovery does not send it again)."""
        with self._write() as conn:
            conn.execute(update(t.promotions).where(t.promotions.c.run_id == run_id).values(
                notified_at=_now(), updated_at=_now()))

    def _promotion_row(self, conn: Connection, run_id: str) -> PromotionRecord:
        row = conn.execute(select(t.promotions).where(t.promotions.c.run_id == run_id)).mappings().one()
        return _promotion_record(row)

    # -- models: reading ----------------------------------------------------------------------
    def resolve(self, ref: str) -> ModelVersionInfo:
        """The version ``ref`` names: ``name`` (champion, else latest), ``name@alias``, ``name:3``."""
        parsed = parse_ref(ref)
        with self._read() as conn:
            self._model_row(conn, parsed.name)
            if parsed.version is not None:
                return self._version_row(conn, parsed.name, parsed.version)
            alias = parsed.alias or DEFAULT_ALIAS
            if alias != LATEST:
                version = self._alias_version(conn, parsed.name, alias)
                if version is not None:
                    return self._version_row(conn, parsed.name, version)
                if parsed.alias is not None:
                    known = self._aliases(conn, parsed.name)
                    choices = did_you_mean(alias, known) if known else "It has no aliases."
                    raise NotFoundError(f"model '{parsed.name}' has no alias '{alias}'. {choices}",
                                        hint=f"see its versions: podium models show {parsed.name}")
            latest = conn.execute(select(func.max(t.model_versions.c.version)).where(
                t.model_versions.c.name == parsed.name, t.model_versions.c.state == t.READY)).scalar()
            if latest is None:
                raise NotFoundError(f"model '{parsed.name}' has no versions yet.",
                                    hint="train and register one: podium run SPEC")
            return self._version_row(conn, parsed.name, int(latest))

    def load(self, ref: str) -> ModelPackage:
        """The package ``ref`` names, its checksums and signature verified before it is unpickled."""
        info = self.resolve(ref)
        return ModelPackage.load(self.package_folder(info), manifest_sha256=info.checksum, trust=self.trust)

    def verify(self, ref: str) -> ModelVersionInfo:
        """Check the package ``ref`` names (checksums, signature under ``trust``) without loading it.

        Raises ``IntegrityError`` saying what is wrong; returns the version checked.
        """
        info = self.resolve(ref)
        ModelPackage.verify(self.package_folder(info), manifest_sha256=info.checksum, trust=self.trust)
        return info

    def package_folder(self, info: ModelVersionInfo) -> Path:
        """A local folder holding the version's package files (verify before use: ``load``)."""
        try:
            return self.artifacts.get_local(info.artifact_key, checksum=info.checksum)
        except NotFoundError:
            raise IntegrityError(
                f"model {info.ref} is registered but its files '{info.artifact_key}' are missing "
                f"from {self.artifacts.url}.",
                hint="check artifacts_url in podium.yaml (or PODIUM_ARTIFACTS_URL), or re-register the model",
            ) from None

    def list_models(self) -> list[ModelInfo]:
        """Every model with at least one version, by name."""
        with self._read() as conn:
            described = {r.name: r for r in conn.execute(select(t.models))}
            versions = conn.execute(select(t.model_versions).where(t.model_versions.c.state == t.READY)
                                    .order_by(t.model_versions.c.name, t.model_versions.c.version)).mappings().all()
            pointers = conn.execute(select(t.aliases).order_by(t.aliases.c.alias)).mappings().all()
        by_model: dict[str, list[RowMapping]] = {}
        for v in versions:
            by_model.setdefault(v["name"], []).append(v)
        out = []
        for name in sorted(by_model):
            rows = {v["version"]: v for v in by_model[name]}
            names = {a["alias"]: a["version"] for a in pointers if a["name"] == name}
            latest = max(rows)
            headline = rows.get(names.get(DEFAULT_ALIAS, latest), rows[latest])
            out.append(ModelInfo(name=name, latest_version=latest, versions=len(rows), aliases=names,
                                 metric=headline["metric"], score=headline["score"],
                                 created_at=described[name].created_at,
                                 description=described[name].description))
        return out

    def list_versions(self, name: str) -> list[ModelVersionInfo]:
        """The versions of ``name``, oldest first."""
        with self._read() as conn:
            self._model_row(conn, name)
            rows = conn.execute(select(t.model_versions).where(
                t.model_versions.c.name == name, t.model_versions.c.state == t.READY)
                .order_by(t.model_versions.c.version)).mappings().all()
            pointers = conn.execute(select(t.aliases).where(t.aliases.c.name == name)
                                    .order_by(t.aliases.c.alias)).mappings().all()
        return [_version_info(r, [a["alias"] for a in pointers if a["version"] == r["version"]]) for r in rows]

    def _model_row(self, conn: Connection, name: str) -> Any:
        row = conn.execute(select(t.models).where(t.models.c.name == name)).first()
        if row is None:
            known = conn.execute(select(t.models.c.name)).scalars().all()
            hint = did_you_mean(name, known) if known else "No model is registered yet."
            raise NotFoundError(f"no model named '{name}'. {hint}",
                                hint="list the models: podium models list")
        return row

    def _version_row(self, conn: Connection, name: str, version: int) -> ModelVersionInfo:
        row = conn.execute(select(t.model_versions).where(
            t.model_versions.c.name == name, t.model_versions.c.version == version,
            t.model_versions.c.state == t.READY)).mappings().first()
        if row is None:
            numbers = conn.execute(select(t.model_versions.c.version).where(
                t.model_versions.c.name == name, t.model_versions.c.state == t.READY)
                .order_by(t.model_versions.c.version)).scalars().all()
            have = f"its versions: {_spans(numbers)}" if numbers else "it has no versions yet"
            raise NotFoundError(f"model '{name}' has no version {version} ({have}).",
                                hint=f"list them: podium models show {name}")
        pointing = conn.execute(select(t.aliases.c.alias).where(
            t.aliases.c.name == name, t.aliases.c.version == version).order_by(t.aliases.c.alias)).scalars().all()
        return _version_info(row, list(pointing))

    def _aliases(self, conn: Connection, name: str) -> list[str]:
        return list(conn.execute(select(t.aliases.c.alias).where(t.aliases.c.name == name)).scalars())

    # -- events -------------------------------------------------------------------------------
    def record_event(self, kind: str, payload: Mapping[str, Any], *, run_id: str | None = None,
                     model: str | None = None, version: int | None = None) -> int:
        """Record a decision (promotion, gate...) with the figures it was taken on; returns its id."""
        with self._write() as conn:
            return self._record(conn, kind, payload, run_id=run_id, model=model, version=version)

    def list_events(self, *, kind: str | None = None, model: str | None = None,
                    run_id: str | None = None, limit: int = 100) -> list[EventRecord]:
        """Recorded events, newest first."""
        query = select(t.events).order_by(t.events.c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(t.events.c.kind == kind)
        if model is not None:
            query = query.where(t.events.c.model == model)
        if run_id is not None:
            query = query.where(t.events.c.run_id == run_id)
        with self._read() as conn:
            return [EventRecord(id=r["id"], time=r["time"], kind=r["kind"], run_id=r["run_id"],
                                model=r["model"], version=r["version"], payload=r["payload"] or {})
                    for r in conn.execute(query).mappings()]

    def _record(self, conn: Connection, kind: str, payload: Mapping[str, Any], *, run_id: str | None = None,
                model: str | None = None, version: int | None = None) -> int:
        key = conn.execute(insert(t.events).values(time=_now(), kind=kind, run_id=run_id, model=model,
                                                   version=version, payload=dict(payload))).inserted_primary_key
        assert key is not None
        return int(key[0])

    # -- API keys -----------------------------------------------------------------------------
    def create_key(self, name: str, models: Sequence[str] = ("*",), *, uploads: Sequence[str] = (),
                   admin: bool = False) -> tuple[str, str]:
        """A new API key; returns (id, the key). Only its sha256 is kept.

        It may predict with ``models`` ("*": all), upload versions of the datasets ``uploads``
        ("*": all; none by default) and administer only when ``admin``.
        """
        name = name.strip()
        if not name:
            raise SpecError("an API key needs a name.", hint="podium keys create --name NAME")
        allowed, datasets = _key_names(models, "model"), _key_names(uploads, "dataset")
        if not allowed and not datasets and not admin:
            raise SpecError(f"API key '{name}' would have no right at all.",
                            hint="name the models it may use ('*' for all), datasets it may upload to, or --admin")
        plaintext = _KEY_PREFIX + secrets.token_urlsafe(32)
        key_id = uuid.uuid4().hex[:16]
        with self._write() as conn:
            clash = conn.execute(select(t.api_keys.c.id).where(
                t.api_keys.c.name == name, t.api_keys.c.revoked_at.is_(None))).first()
            if clash is not None:
                raise SpecError(f"an API key named '{name}' already exists.",
                                hint=f"revoke it first (podium keys revoke {name}) or choose another name")
            conn.execute(insert(t.api_keys).values(
                id=key_id, name=name, hashed_key=_hash_key(plaintext), prefix=plaintext[:12],
                models=allowed, uploads=datasets, admin=bool(admin), created_at=_now()))
        return key_id, plaintext

    def list_keys(self) -> list[ApiKeyInfo]:
        """Every API key, active and revoked, oldest first."""
        with self._read() as conn:
            rows = conn.execute(select(t.api_keys).order_by(t.api_keys.c.created_at, t.api_keys.c.id)).mappings()
            return [_key_info(r) for r in rows]

    def revoke_key(self, name_or_id: str) -> ApiKeyInfo:
        """Revoke the active key with this name (or this id); returns it as revoked."""
        with self._write() as conn:
            target = self._key_row(conn, name_or_id)
            if target["revoked_at"] is None:
                conn.execute(update(t.api_keys).where(t.api_keys.c.id == target["id"]).values(revoked_at=_now()))
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == target["id"])).mappings().one()
            return _key_info(row)

    def set_key_rights(self, name_or_id: str, *, models: Sequence[str] | None = None,
                       uploads: Sequence[str] | None = None, admin: bool | None = None) -> ApiKeyInfo:
        """Replace the rights given (None: unchanged) of an active key; services apply it within seconds."""
        with self._write() as conn:
            target = self._key_row(conn, name_or_id)
            if target["revoked_at"] is not None:
                raise SpecError(f"API key '{target['name']}' is revoked; its rights cannot change.",
                                hint="create a new key: podium keys create --name NAME")
            changes: dict[str, Any] = {}
            if models is not None:
                changes["models"] = _key_names(models, "model")
            if uploads is not None:
                changes["uploads"] = _key_names(uploads, "dataset")
            if admin is not None:
                changes["admin"] = bool(admin)
            if changes:
                conn.execute(update(t.api_keys).where(t.api_keys.c.id == target["id"]).values(**changes))
            row = conn.execute(select(t.api_keys).where(t.api_keys.c.id == target["id"])).mappings().one()
            return _key_info(row)

    def find_key(self, plaintext: str) -> ApiKeyInfo | None:
        """The key with this secret (revoked ones included), or None: what a service checks rights on."""
        with self._read() as conn:
            row = conn.execute(select(t.api_keys).where(
                t.api_keys.c.hashed_key == _hash_key(plaintext))).mappings().first()
        return None if row is None else _key_info(row)

    def check_key(self, plaintext: str, model: str) -> KeyVerdict:
        """Whether a key may predict with ``model``: ok, unknown, revoked or forbidden."""
        key = self.find_key(plaintext)
        if key is None:
            return "unknown"
        if not key.active:
            return "revoked"
        return "ok" if key.allows("predict", model) else "forbidden"

    @staticmethod
    def _key_row(conn: Connection, name_or_id: str) -> RowMapping:
        """The key named so (the active one first), or the key with this id."""
        rows = conn.execute(select(t.api_keys).where(
            (t.api_keys.c.id == name_or_id) | (t.api_keys.c.name == name_or_id))
            .order_by(t.api_keys.c.created_at.desc())).mappings().all()
        if not rows:
            known = conn.execute(select(t.api_keys.c.name)).scalars().all()
            raise NotFoundError(f"no API key named '{name_or_id}'. {did_you_mean(name_or_id, set(known))}".rstrip(),
                                hint="list the keys: podium keys list")
        return next((r for r in rows if r["id"] == name_or_id), None) or \
            next((r for r in rows if r["revoked_at"] is None), rows[0])


# -- helpers ----------------------------------------------------------------------------------
def trust_from_settings(settings: Settings) -> TrustPolicy:
    """The project's package trust policy (``require_signed``, ``trusted_keys``)."""
    return TrustPolicy.from_files(settings.resolved_trusted_keys, require_signed=settings.require_signed)


def _artifact_key(name: str, version: int) -> str:
    return f"models/{name}/{version}"


def _finite(value: Any) -> Any:
    """NaN and infinities as None: SQLite cannot keep them and PostgreSQL would."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _check_alias(alias: str) -> None:
    check_name(alias, "alias")
    if alias == LATEST or alias.isdigit():
        raise SpecError(f"'{alias}' cannot be an alias: name@{LATEST} always means the newest "
                        "version and numbers are versions.", hint="choose another alias name")


def _hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.strip().encode()).hexdigest()


def _upsert(conn: Connection, table: Table, values: dict[str, Any], *, keys: tuple[str, ...],
            changes: tuple[str, ...]) -> None:
    """Insert a row or update it in place, in one statement where the database allows."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        # Two spellings of one statement: the dialects' Insert classes share no typed base.
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert
            lite = sqlite_insert(table).values(**values)
            conn.execute(lite.on_conflict_do_update(index_elements=list(keys),
                                                    set_={c: lite.excluded[c] for c in changes}))
        else:
            from sqlalchemy.dialects.postgresql import insert as pg_insert
            pg = pg_insert(table).values(**values)
            conn.execute(pg.on_conflict_do_update(index_elements=list(keys),
                                                  set_={c: pg.excluded[c] for c in changes}))
        return
    where = and_(*(table.c[k] == values[k] for k in keys))
    if conn.execute(update(table).where(where).values({c: values[c] for c in changes})).rowcount == 0:
        conn.execute(insert(table).values(**values))


def _run_info(row: RowMapping) -> RunInfo:
    return RunInfo(id=row["id"], name=row["name"], status=row["status"], spec=row["spec"] or {},
                   task=row["task"], metric=row["metric"], dataset_fingerprint=row["dataset_fingerprint"],
                   source=row["source"], started_at=row["started_at"], finished_at=row["finished_at"],
                   summary=row["summary"], error=row["error"], owner=row["owner"])


def _promotion_record(row: RowMapping) -> PromotionRecord:
    return PromotionRecord(run_id=row["run_id"], model=row["model"], alias=row["alias"], dataset=row["dataset"],
                           champion=row["champion"], decision=row["decision"], message=row["message"],
                           figures=row["figures"] or {}, version=row["version"], state=row["state"],
                           outcome=row["outcome"], notified_at=row["notified_at"], created_at=row["created_at"],
                           updated_at=row["updated_at"])


def _version_info(row: RowMapping, pointing: list[str]) -> ModelVersionInfo:
    return ModelVersionInfo(name=row["name"], version=int(row["version"]), run_id=row["run_id"],
                            artifact_key=row["artifact_key"], checksum=row["checksum"], metric=row["metric"],
                            score=row["score"], created_at=row["created_at"], aliases=pointing)


def _key_info(row: RowMapping) -> ApiKeyInfo:
    return ApiKeyInfo(id=row["id"], name=row["name"], prefix=row["prefix"], models=list(row["models"]),
                      created_at=row["created_at"], revoked_at=row["revoked_at"],
                      uploads=list(row["uploads"] or []), admin=bool(row["admin"]))


def _key_names(names: Sequence[str], what: str) -> list[str]:
    """Model or dataset names of a key's rights: sorted, unique, "*" alone when present."""
    cleaned = {str(n).strip() for n in names if str(n).strip()}
    if "*" in cleaned:
        return ["*"]
    for name in cleaned:
        check_name(name, what)
    return sorted(cleaned)


def _spans(numbers: Sequence[int]) -> str:
    """[1, 2, 3, 5] → "1-3, 5"."""
    runs: list[list[int]] = []  # [first, last] of each run of consecutive numbers
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ", ".join(str(first) if first == last else f"{first}-{last}" for first, last in runs)
