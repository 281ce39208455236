"""The podium error tree.

::

    PodiumError                      every error podium raises on purpose
    ├── UserError                    bad input; exit code 2, HTTP 4xx; one line, no traceback
    │   ├── SpecError(ValueError)    a pipeline spec or setting that is invalid
    │   ├── NotFoundError(KeyError)  an unknown name: step, candidate, metric, scheme, model, run
    │   ├── DataError(ValueError)    data that cannot be used as it is
    │   │   ├── SourceError          a source that cannot be read or written
    │   │   └── SchemaError          columns or types that do not match what is expected
    │   ├── RegistryRevisionError    a registry database at another revision than podium's
    │   └── ConflictError            a concurrent change won (an alias moved since it was read)
    ├── IntegrityError               a stored artifact whose checksum does not match
    └── GateFailed                   the best model did not clear the gate (exit code 3)

A message says what failed, the offending value and what to do about it.
"""

from __future__ import annotations

__all__ = [
    "PodiumError",
    "UserError",
    "SpecError",
    "NotFoundError",
    "DataError",
    "SourceError",
    "SchemaError",
    "RegistryRevisionError",
    "ConflictError",
    "IntegrityError",
    "GateFailed",
]


class PodiumError(Exception):
    """Root of every error podium raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message} Hint: {hint}")

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} Hint: {self.hint}"


class UserError(PodiumError):
    """Bad input from the user: exit code 2, HTTP 4xx."""

    exit_code = 2


class SpecError(UserError, ValueError):
    """A pipeline spec, a setting or a parameter that is invalid."""


class NotFoundError(UserError, KeyError):
    """An unknown name: a step, candidate, metric, source scheme, model or run."""

    def __str__(self) -> str:  # KeyError would quote the message
        return PodiumError.__str__(self)


class DataError(UserError, ValueError):
    """Data that cannot be used as it is (empty table, unusable target, ...)."""


class SourceError(DataError):
    """A source that cannot be read or written (missing file, unreachable server, ...)."""


class SchemaError(DataError):
    """Columns or types that do not match what is expected."""


class RegistryRevisionError(UserError):
    """A registry database whose schema is behind (or ahead of) the revision this podium needs."""


class ConflictError(UserError):
    """A concurrent change won: e.g. an alias moved since the version it was expected at (HTTP 409)."""


class IntegrityError(PodiumError):
    """A stored artifact whose checksum does not match its manifest."""


class GateFailed(PodiumError):
    """The best model did not clear the gate; nothing was promoted."""

    exit_code = 3
