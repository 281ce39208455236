from __future__ import annotations

import json

import pytest
from pydantic import Field
from sklearn.base import BaseEstimator, TransformerMixin

import podium.steps as steps
from podium.errors import NotFoundError, SpecError
from podium.spec import StepSpec, parse_spec
from podium.steps import (
    BuiltSteps,
    DropDuplicates,
    ImputeParams,
    OneHotParams,
    StepInfo,
    StepParams,
    build_steps,
    register_step,
    step_params,
    step_registry,
    step_schemas,
    transform_params,
)
from podium.steps.encode import OneHotParams


def spec(name: str, **params) -> StepSpec:
    return StepSpec(name=name, params=params)


def test_unknown_step_names_its_place_and_the_closest_name():
    specs = [spec("impute"), spec("scale"), spec("one_hott")]
    with pytest.raises(NotFoundError, match=r"^spec: steps\[2\]: 'one_hott' is not a step\. Did you mean 'one_hot'\?$"):
        build_steps(specs)


def test_unknown_step_far_from_any_lists_the_steps():
    with pytest.raises(NotFoundError, match=r"'zzz' is not a step\. Choose from: clip_outliers, date_parts"):
        build_steps([spec("zzz")], origin="churn.yaml")


def test_bad_value_names_the_parameter_and_the_value():
    with pytest.raises(SpecError, match=r"^spec: steps\[1\]\.one_hot\.max_categories: "
                                        r"Input should be greater than or equal to 2 \(got 1\)\.$"):
        build_steps([spec("impute"), spec("one_hot", max_categories=1)])


def test_unknown_parameter_suggests_the_closest():
    with pytest.raises(SpecError, match=r"^spec: steps\[0\]\.one_hot\.max_cats: unknown parameter\. "
                                        r"Did you mean 'max_categories'\?$"):
        build_steps([spec("one_hot", max_cats=5)])


def test_choice_parameter_lists_the_choices():
    with pytest.raises(SpecError, match=r"steps\[0\]\.scale\.method: Input should be 'standard', 'minmax' or "
                                        r"'robust' \(got 'zscore'\)"):
        build_steps([spec("scale", method="zscore")])


def test_list_item_error_names_its_index():
    with pytest.raises(SpecError, match=r"steps\[0\]\.date_parts\.parts\.1: Input should be 'year'"):
        build_steps([spec("date_parts", parts=["year", "week"])])


def test_cross_field_rule_names_the_step():
    with pytest.raises(SpecError, match=r"^x\.yaml: steps\[0\]\.clip_outliers: lower \(0\.9\) must be below "
                                        r"upper \(0\.1\)\.$"):
        build_steps([spec("clip_outliers", lower=0.9, upper=0.1)], origin="x.yaml")


def test_missing_required_parameter():
    with pytest.raises(SpecError, match=r"steps\[0\]\.drop_columns\.columns: required parameter is missing"):
        build_steps([spec("drop_columns")])


def test_frame_steps_and_transforms_are_split_in_spec_order():
    built = build_steps([spec("impute", numeric="mean"), spec("drop_duplicates"), spec("one_hot"),
                         spec("impute", numeric="constant", fill_value=-1), spec("drop_columns", columns=["a"])])
    assert isinstance(built, BuiltSteps)
    assert [type(s).__name__ for s in built.frame] == ["DropDuplicates", "DropColumns"]
    assert [name for name, _ in built.transforms] == ["impute", "one_hot", "impute_2"]
    first, second = built.transforms[0][1], built.transforms[2][1]
    assert isinstance(first, ImputeParams) and first.numeric == "mean"
    assert second.numeric == "constant" and second.fill_value == -1


def test_each_build_gives_fresh_transformers():
    specs = [spec("one_hot", max_categories=5)]
    a, b = build_steps(specs).transforms[0][1], build_steps(specs).transforms[0][1]
    assert a is not b and isinstance(a, OneHotParams) and a.max_categories == 5


def test_yaml_shorthands_build():
    pipeline = parse_spec({
        "source": "x.csv", "target": "y",
        "steps": [{"drop_columns": ["id"]}, "drop_duplicates", {"drop_missing": {"how": "columns"}},
                  {"one_hot": {"max_categories": 5}}, {"scale": {"method": "robust"}}],
    })
    built = build_steps(pipeline.steps or [])
    assert [type(s).__name__ for s in built.frame] == ["DropColumns", "DropDuplicates", "DropMissing"]
    assert [n for n, _ in built.transforms] == ["one_hot", "scale"]
    assert isinstance(built.frame[1], DropDuplicates) and built.frame[1].subset is None


def test_no_steps_builds_nothing():
    built = build_steps([])
    assert built.frame == [] and built.transforms == []


def test_step_params_and_schemas_cover_every_step():
    assert step_params("one_hot") is OneHotParams
    assert transform_params("one_hot") is OneHotParams
    with pytest.raises(NotFoundError, match="Did you mean 'scale'"):
        step_params("scal")
    schemas = step_schemas()
    assert sorted(schemas) == step_registry.names()
    for name, schema in schemas.items():
        info = step_registry.get(name)
        assert schema["title"] == name and schema["description"] == info.summary
        assert schema["x-podium-kind"] == info.kind
        assert schema["additionalProperties"] is False
        for field in schema["properties"].values():
            assert field.get("description"), (name, field)
    assert schemas["scale"]["properties"]["method"]["enum"] == ["standard", "minmax", "robust"]
    json.dumps(schemas)


def test_every_builtin_transform_is_its_parameter_model():
    for name, info in step_registry.items():
        if info.kind == "transform":
            params = info.params()
            assert info.factory(params) is params and isinstance(params, steps.ColumnStep), name


def test_constructing_directly_is_checked():
    with pytest.raises(ValueError, match="greater than or equal to 2"):
        OneHotParams(max_categories=1)


class _Negate(TransformerMixin, BaseEstimator):
    def __init__(self, *, column: str = "x") -> None:
        self.column = column

    def fit(self, X, y=None):
        self.n_features_in_ = X.shape[1]
        return self

    def transform(self, X):
        return X.assign(**{self.column: -X[self.column]})


class _NegateParams(StepParams):
    column: str = Field("x", description="the column to negate")


@pytest.fixture
def plugin():
    info = register_step(StepInfo(name="negate_test", kind="transform", params=_NegateParams,
                                  factory=lambda p: _Negate(column=p.column), summary="negate a column"))
    yield info
    step_registry._items.pop("negate_test")  # the registry has no unregister: tests only


def test_a_registered_plugin_builds_like_a_built_in(plugin):
    built = build_steps([spec("negate_test", column="y")])
    assert isinstance(built.transforms[0][1], _Negate) and built.transforms[0][1].column == "y"
    assert "negate_test" in step_schemas()
    with pytest.raises(ValueError, match="already registered"):
        register_step(plugin)


def test_public_names_resolve():
    for name in steps.__all__:
        assert getattr(steps, name) is not None, name


def test_podium_0_1_0_step_names_resolve_to_the_frozen_legacy_classes():
    import podium.steps.dates
    import podium.steps.encode
    import podium.steps.impute
    import podium.steps.outliers
    import podium.steps.scale
    from podium.steps import legacy

    assert podium.steps.impute.Impute is legacy.Impute and podium.steps.scale.Scale is legacy.Scale
    assert podium.steps.encode.OneHot is legacy.OneHot and podium.steps.encode.OrdinalEncode is legacy.OrdinalEncode
    assert podium.steps.dates.DateParts is legacy.DateParts
    assert podium.steps.outliers.ClipOutliers is legacy.ClipOutliers
    with pytest.raises(AttributeError):
        podium.steps.impute.Nothing  # noqa: B018
