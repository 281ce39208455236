"""``podium new candidate|step NAME``: write a plugin package to start from (docs/plugins.md).

The package is installable as it is (``pip install -e ./NAME``): a pyproject that declares
the entry point podium finds it by, the module, a README and a conformance test that runs
podium's own checks (``podium.testing.checks``) and passes before the first edit.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from pathlib import Path
from string import Template

import typer

from podium.cli.context import out
from podium.errors import UserError

app = typer.Typer(help="Write a plugin package (a candidate family or a step) to start from.",
                  no_args_is_help=True)

_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")


@app.command("candidate")
def candidate(name: str = typer.Argument(..., help="the family's name, as specs will write it (my_family)")) -> None:
    """A candidate family: a parameter model, a build function, presets, a search space, tags."""
    def taken() -> bool:
        from podium.candidates import candidate_registry

        return name in candidate_registry

    _write("candidate", name, taken)


@app.command("step")
def step(name: str = typer.Argument(..., help="the step's name, as specs will write it (my_step)")) -> None:
    """A transform step: a scikit-learn transformer with its ONNX converter, and its parameters."""
    def taken() -> bool:
        from podium.steps import step_registry

        return name in step_registry

    _write("step", name, taken)


def check_name(name: str) -> None:
    """A plugin's name is written in specs and is part of a module name: a short lowercase identifier."""
    if not _NAME.fullmatch(name) or keyword.iskeyword(name):
        raise UserError(f"'{name}' cannot name a plugin: use lowercase letters, digits and '_', "
                        f"starting with a letter, at most 40 characters (e.g. my_family).")


def _write(kind: str, name: str, taken: Callable[[], bool]) -> None:
    check_name(name)
    folder = Path(name)
    if folder.exists():
        raise UserError(f"./{name} already exists; podium new writes a new folder and never overwrites one.")
    if taken():  # the registry (plugins included) last: it imports every family
        raise UserError(f"'{name}' is already a {kind} (podium catalog {kind}s); choose another name.")
    module = f"podium_{name}"
    values = {"name": name, "module": module, "dist": f"podium-{name.replace('_', '-')}",
              "Class": "".join(part.capitalize() for part in name.split("_") if part)}
    files = {
        "pyproject.toml": _PYPROJECT,
        "README.md": _README[kind],
        f"{module}.py": _MODULE[kind],
        f"tests/test_{name}.py": _TEST[kind],
    }
    for relative, template in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(values, kind=kind, group=f"podium.{kind}s",
                                                      obj="candidate" if kind == "candidate" else "step"),
                        encoding="utf-8")
    out.print(f"wrote the {kind} plugin '{name}' to ./{name}: {', '.join(sorted(files))}")
    out.print(f"next: pip install -e ./{name} && pytest ./{name}/tests && podium catalog {kind}s")


_PYPROJECT = '''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A podium plugin: the $kind '$name'."
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["podium", "scikit-learn>=1.6"]

[project.optional-dependencies]
test = ["pytest>=8"]

# podium finds the $kind by this entry point: the name is the one specs write,
# the value the object podium registers
[project.entry-points."$group"]
$name = "$module:$obj"

[tool.setuptools]
py-modules = ["$module"]
'''

_README = {
    "candidate": '''\
# $dist

A podium plugin: the candidate family `$name`.

```
pip install -e .            # podium finds it by its entry point (pyproject.toml)
pytest tests                # podium's conformance checks
podium catalog candidates   # $name is listed
podium run --data table.csv --target y --candidates $name,logistic_regression
```

Edit `$module.py`: `build` returns your unfitted scikit-learn estimator, `Params` declares
its parameters, `presets` the settings tried first and `space` where the search draws the
others. A champion of this family is served on the ONNX engine when skl2onnx can convert its
estimator; otherwise register a converter (see podium's docs/plugins.md) or it is served on
the scikit-learn engine, which needs this package installed where the model is served.
''',
    "step": '''\
# $dist

A podium plugin: the transform step `$name`.

```
pip install -e .            # podium finds it by its entry point (pyproject.toml)
pytest tests                # podium's conformance checks, ONNX included
podium catalog steps        # $name is listed
```

In a spec:

```yaml
steps:
  - impute: {}
  - $name: {}
```

Edit `$module.py`: `$Class` is the scikit-learn transformer, `_convert` its ONNX
converter (registered with skl2onnx when the module is imported, so the pipelines that use
the step compile to one graph), `${Class}Params` the step's parameters and the columns it
takes. See podium's docs/plugins.md.
''',
}

_MODULE = {
    "candidate": '''\
"""The podium candidate family `$name`.

podium calls ``build(task, params, seed)`` once per trial, with ``params`` validated by
``Params`` (defaults filled in), and fits what it returns inside its pipeline: the steps
the family's tags ask for (imputed, scaled, one-hot encoded columns here), then the model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from podium.candidates import Candidate, Float, Tags

__all__ = ["Params", "build", "candidate"]


class Params(BaseModel):
    """The family's parameters: presets and search draws are checked against these."""

    model_config = ConfigDict(extra="forbid")

    strength: float = Field(1.0, gt=0, description="inverse regularisation: larger fits the data more closely")


def build(task: str, params: Mapping[str, Any], seed: int) -> Any:
    """An unfitted scikit-learn estimator for ``task`` (replace these with your model)."""
    if task == "regression":
        from sklearn.linear_model import Ridge

        return Ridge(alpha=1.0 / params["strength"], random_state=seed)
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=params["strength"], max_iter=2000, random_state=seed)


candidate = Candidate(
    name="$name",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=build,
    params=Params,
    presets=({"strength": 1.0},),
    space={"strength": Float(1e-3, 1e2, log=True)},
    tags=Tags(handles_missing=False, needs_scaling=True, encoding="one_hot"),
    summary="$name (plugin $dist)",
)
''',
    "step": '''\
"""The podium transform step `$name`: sign(x)·log(1 + |x|) on numeric columns.

``$Class`` is a scikit-learn transformer; ``_convert`` writes the same computation as ONNX
nodes and is registered with skl2onnx when this module is imported (podium imports it when
a spec names the step, and unpickling a model that holds the transformer imports it too),
so a pipeline with this step compiles to one graph and is served on the ONNX engine.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from pydantic import Field
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from podium.steps import ColumnStep, StepInfo
from podium.steps.compose import Kind

__all__ = ["$Class", "${Class}Params", "step"]


class $Class(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """sign(x)·log(1 + |x|), column by column: long tails shrink, missing stays missing."""

    def fit(self, X: Any, y: Any = None) -> "$Class":
        validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan")
        return self

    def transform(self, X: Any) -> Any:
        check_is_fitted(self)
        values = validate_data(self, X, dtype=np.float64, ensure_all_finite="allow-nan", reset=False)
        return np.sign(values) * np.log1p(np.abs(values))


class ${Class}Params(ColumnStep):
    """The step's parameters; podium gives the transformer the columns it takes."""

    step_name: ClassVar[str] = "$name"
    picks: ClassVar[tuple[Kind, ...]] = ("numeric",)  # the kinds taken when `columns` is omitted
    accepts: ClassVar[tuple[Kind, ...]] = ("numeric",)  # the kinds a named column may have

    columns: list[str] | None = Field(None, description="only these numeric columns; all when omitted")

    def transformer(self, kind: Kind) -> Any:
        return $Class()


step = StepInfo(name="$name", kind="transform", params=${Class}Params, factory=lambda params: params,
                summary="sign(x)·log(1 + |x|) on numeric columns (plugin $dist)")


# -- the ONNX converter -------------------------------------------------------------------------


def _shape(operator: Any) -> None:
    width = sum(int(v.type.shape[1]) for v in operator.inputs)
    operator.outputs[0].type = type(operator.inputs[0].type)([operator.inputs[0].get_first_dimension(), width])


def _convert(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType

    def node(kind: str, inputs: list[str], output: str | None = None, **attrs: Any) -> str:
        name = output or scope.get_unique_variable_name(kind.lower())
        container.add_node(kind, inputs, [name], name=scope.get_unique_operator_name(kind), **attrs)
        return name

    inputs = [v.full_name for v in operator.inputs]
    X = inputs[0] if len(inputs) == 1 else node("Concat", inputs, axis=1)
    double = isinstance(operator.inputs[0].type, DoubleTensorType)
    one = scope.get_unique_variable_name("one")
    container.add_initializer(one, TensorProto.DOUBLE if double else TensorProto.FLOAT, [], [1.0])
    log1p = node("Log", [node("Add", [node("Abs", [X]), one])])
    node("Mul", [node("Sign", [X]), log1p], output=operator.outputs[0].full_name)


try:
    from skl2onnx import update_registered_converter
except ImportError:  # without podium[onnx] the step works; its pipelines are served on scikit-learn
    pass
else:
    update_registered_converter($Class, "Podium${Class}", _shape, _convert)
''',
}

_TEST = {
    "candidate": '''\
"""The family keeps podium's candidate contract; podium finds it once installed."""

from importlib.metadata import entry_points

from podium.testing.checks import check_candidate

from $module import candidate


def test_the_family_conforms() -> None:
    check_candidate(candidate)  # declares, fits each task, predicts, pickles


def test_podium_finds_it_by_its_entry_point() -> None:
    (found,) = [ep for ep in entry_points(group="podium.candidates") if ep.name == "$name"]
    assert found.load() is candidate
''',
    "step": '''\
"""The step keeps podium's transform-step contract, ONNX included; podium finds it once installed."""

from importlib.metadata import entry_points

from podium.testing.checks import check_transform_step, typed_sample

from $module import step


def test_the_step_conforms_and_converts_to_onnx() -> None:
    check_transform_step(step.params(), *typed_sample())


def test_podium_finds_it_by_its_entry_point() -> None:
    (found,) = [ep for ep in entry_points(group="podium.steps") if ep.name == "$name"]
    assert found.load() is step
''',
}
