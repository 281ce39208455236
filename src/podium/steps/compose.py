"""Transform steps on typed frames, composed into one scikit-learn ``ColumnTransformer``.

A typed frame holds a model's input columns as ``InputSchema.typed`` makes them: numeric and
boolean columns as float64 (NaN missing), datetime columns as float64 seconds since the
Unix epoch, everything else as str ("" missing). A step cannot tell a date from a number by
its dtype, so the column kinds come from the schema: ``compose_steps(steps, kinds)``.

Each of podium's transform steps is a ``ColumnStep``: its pydantic parameter model, which
says which columns it takes and builds the scikit-learn transformer for them. Composing a
list of steps follows each column through the steps that take it; columns that go through
the same steps share one branch (a ``Pipeline`` of those transformers) of a single
``ColumnTransformer``, so the whole chain converts to one ONNX graph.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Literal

from pydantic import ValidationError
from sklearn.base import TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline

from podium._internal.suggest import did_you_mean
from podium.data.types import ColumnType
from podium.errors import SchemaError, SpecError
from podium.steps.base import StepParams, describe_error

__all__ = ["ColumnStep", "Kind", "compose_steps", "value_kind", "KINDS"]

#: what a typed column holds, as the steps see it
Kind = Literal["numeric", "datetime", "categorical"]
KINDS: tuple[Kind, ...] = ("numeric", "datetime", "categorical")


def value_kind(kind: ColumnType | str) -> Kind:
    """How a column of this kind is typed: booleans are numbers, anything else not a date is text."""
    value = ColumnType(kind)
    if value in (ColumnType.NUMERIC, ColumnType.BOOLEAN):
        return "numeric"
    if value == ColumnType.DATETIME:
        return "datetime"
    return "categorical"


class ColumnStep(StepParams):
    """A value-changing step: its parameters, the columns it takes and its transformer.

    Subclasses declare ``picks`` (the kinds taken when ``columns`` is omitted), ``accepts``
    (the kinds a named column may have), a ``columns: list[str] | None`` field (last, so it
    is listed last), and implement ``transformer(kind)``: a fresh scikit-learn transformer
    for the columns of that kind that reach this step.
    """

    step_name: ClassVar[str]
    picks: ClassVar[tuple[Kind, ...]]
    accepts: ClassVar[tuple[Kind, ...]]

    #: whether each column comes out under its own name (encoders and date parts rename)
    keeps_names: ClassVar[bool] = True

    def named_columns(self) -> list[str] | None:
        """The columns named in the spec (a ``columns`` field, declared last by each step), or None."""
        columns: list[str] | None = getattr(self, "columns", None)
        return columns

    def transformer(self, kind: Kind) -> TransformerMixin:
        """A fresh transformer for the columns of ``kind`` this step takes."""
        raise NotImplementedError

    def output_kind(self, kind: Kind) -> Kind:
        """What the columns are after this step (encoders and date parts make numbers)."""
        return kind

    def takes(self, kind: Kind) -> bool:
        """Whether an unnamed column of this kind is one this step acts on."""
        return kind in self.picks


def compose_steps(
    steps: Sequence[tuple[str, Any]],
    kinds: Mapping[str, ColumnType | str],
    *,
    frame_output: bool = False,
) -> list[tuple[str, Any]]:
    """The pipeline steps for a spec's transform steps, given the kind of each input column.

    Consecutive ``ColumnStep``s become one ``ColumnTransformer`` named ``features`` (columns
    in ``kinds`` that no step takes pass through); any other transformer (a plugin's) is
    placed as it is, between them, and gets a DataFrame. The last one gives a numpy array
    unless ``frame_output``.
    """
    state: dict[str, Kind] = {str(c): value_kind(k) for c, k in kinds.items()}
    out: list[tuple[str, Any]] = []
    segment: list[tuple[str, ColumnStep]] = []
    made = 0

    def close(frame: bool) -> None:
        nonlocal made, segment
        if segment or not made:
            features = _segment(segment, state, keep_rest=made > 0)
            if frame:
                features.set_output(transform="pandas")
            made += 1
            out.append(("features" if made == 1 else f"features_{made}", features))
            segment = []

    for name, step in steps:
        if isinstance(step, ColumnStep):
            segment.append((name, step))
        else:
            close(frame=True)
            out.append((name, clone(step)))
    if segment or not made:
        close(frame=frame_output)
    return out


def _segment(steps: list[tuple[str, ColumnStep]], state: dict[str, Kind], *, keep_rest: bool) -> ColumnTransformer:
    """One ColumnTransformer: each column through the steps that take it, grouped by path."""
    paths: dict[str, list[tuple[int, Kind]]] = {c: [] for c in state}
    for index, (name, step) in enumerate(steps):
        for column in _chosen(step, name, state):
            paths[column].append((index, state[column]))
            state[column] = step.output_kind(state[column])
    groups: dict[tuple[tuple[int, Kind], ...], list[str]] = {}
    for column, path in paths.items():
        groups.setdefault(tuple(path), []).append(column)
    branches: list[tuple[str, Any, list[str]]] = []
    used: set[str] = set()
    for route, columns in groups.items():
        kind = route[0][1] if route else state[columns[0]]
        label = kind if kind not in used else f"{kind}_{sum(1 for b in used if b.startswith(kind)) + 1}"
        used.add(label)
        if not route:
            branches.append((label, "passthrough", columns))
            continue
        chain = [(steps[i][0], steps[i][1].transformer(k)) for i, k in route]
        branches.append((label, chain[0][1] if len(chain) == 1 else Pipeline(chain), columns))
    for column, path in paths.items():
        if not all(steps[i][1].keeps_names for i, _ in path):
            del state[column]  # renamed: a later segment (after a plugin) passes its columns through
    return ColumnTransformer(branches, remainder="passthrough" if keep_rest else "drop",
                             verbose_feature_names_out=False, sparse_threshold=0.0)


def _chosen(step: ColumnStep, name: str, state: Mapping[str, Kind]) -> list[str]:
    _check(step, name)
    named = step.named_columns()
    if named is None:
        return [c for c, kind in state.items() if step.takes(kind)]
    for column in named:
        if column not in state:
            raise SchemaError(f"{name}: '{column}' is not a column. "
                              f"{did_you_mean(column, list(state))}".rstrip())
        if state[column] not in step.accepts:
            raise SchemaError(f"{name}: column '{column}' is {state[column]}; "
                              f"{name} acts on {' or '.join(step.accepts)} columns.")
    return list(dict.fromkeys(named))


def _check(step: ColumnStep, name: str) -> None:
    """Parameters set after construction are checked again (pydantic models validate on build)."""
    try:
        type(step).model_validate(step.model_dump())
    except ValidationError as exc:
        where, what = describe_error(exc.errors()[0], type(step).model_fields)
        raise SpecError(f"{name}{'.' + where if where else ''}: {what}") from None
