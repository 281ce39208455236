"""podium's own built-ins pass the conformance checks it offers plugin authors."""

import importlib
from pathlib import Path

import pytest

from podium.candidates import candidate_registry
from podium.data import resolve_source
from podium.steps import step_registry
from podium.testing.checks import check_candidate, check_source, check_transform_step, typed_sample


@pytest.mark.parametrize("name", [n for n in candidate_registry.names() if not n.endswith("_test")])
def test_builtin_candidates_conform(name):
    check_candidate(candidate_registry.get(name))


@pytest.mark.parametrize("name", [n for n, info in step_registry.items()
                                  if info.kind == "transform" and not n.endswith("_test")])
def test_builtin_transform_steps_conform_and_convert_to_onnx(name):
    info = step_registry.get(name)
    check_transform_step(info.factory(info.params()), *typed_sample())


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl", "xlsx"])
def test_file_sources_conform(tmp_path, suffix):
    check_source(lambda: resolve_source(str(tmp_path / f"table.{suffix}")))


def test_the_example_plugin_conforms(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "examples" / "plugins" / "naive_bayes"))
    check_candidate(importlib.import_module("podium_naive_bayes").candidate)


def test_a_family_whose_space_or_presets_its_parameter_model_refuses_is_caught():
    from pydantic import BaseModel, ConfigDict
    from sklearn.linear_model import LogisticRegression

    from podium.candidates import Candidate, Float

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        C: float = 1.0

    def build(task, params, seed):
        return LogisticRegression(**params)

    stray = Candidate(name="stray", tasks=frozenset({"binary"}), build=build, params=Params,
                      space={"c": Float(0.1, 1.0)})
    with pytest.raises(AssertionError, match=r"search space names \['c'\]"):
        check_candidate(stray)
    refused = Candidate(name="refused", tasks=frozenset({"binary"}), build=build, params=Params,
                        presets=({"C": "much"},))
    with pytest.raises(AssertionError, match="preset {'C': 'much'} is refused"):
        check_candidate(refused)
    with pytest.raises(AssertionError, match="unknown tasks"):
        check_candidate(Candidate(name="odd", tasks=frozenset({"ranking"}), build=build))


def test_a_broken_candidate_is_caught():
    from sklearn.dummy import DummyRegressor

    from podium.candidates import Candidate

    broken = Candidate(name="broken", tasks=frozenset({"binary"}),
                       build=lambda task, params, seed: DummyRegressor())
    with pytest.raises(AssertionError, match="broken/binary"):
        check_candidate(broken)
