"""`podium predict`'s batch loop: batches scored on several threads at once are written in their
order, and answer what one call on the whole table answers, in each streamed file format."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from podium.cli import main
from podium.data import infer_column_types, resolve_source
from podium.errors import SchemaError
from podium.registry import InputSchema, ModelPackage, OutputSchema
from podium.training.compile import compile_model


def _rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    return pd.DataFrame({
        "age": age,
        "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "churn": np.where(age > 45, "yes", "no"),
    })


@pytest.fixture(scope="module")
def compiled() -> ModelPackage:
    frame = _rows(200, 0)
    X, y = frame.drop(columns=["churn"]), frame["churn"]
    pipeline = make_pipeline(make_column_transformer((make_pipeline(SimpleImputer(), StandardScaler()),
                                                      ["age", "income"]), (OneHotEncoder(), ["city"])),
                             LogisticRegression()).fit(X, y)
    schema = InputSchema.from_frame(X, infer_column_types(X))
    graph = compile_model(pipeline, schema, "binary", ["no", "yes"], schema.typed(X))
    assert graph.model is not None, graph.engine.reason
    return ModelPackage(pipeline=pipeline, input_schema=schema, output_schema=OutputSchema.from_target(y, "binary"),
                        metric="accuracy", engine_info=graph.engine, onnx_model=graph.model)


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet"])
def test_batches_scored_at_once_are_written_in_order(tmp_path, monkeypatch, compiled, suffix):
    rows = _rows(500, 1).drop(columns=["churn"])
    source, sink = resolve_source(str(tmp_path / f"in.{suffix}")), resolve_source(str(tmp_path / f"out.{suffix}"))
    source.write(rows)
    monkeypatch.setattr(main, "PREDICT_BATCH_ROWS", 37)  # 14 batches, several scored at once
    assert main._score_batches(compiled, source, sink) == 500
    whole = resolve_source(str(tmp_path / f"whole.{suffix}"))
    whole.write(compiled.predict_frame(source.read(), threads=1)[0])
    if suffix == "csv":
        assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    else:
        pd.testing.assert_frame_equal(sink.read(), whole.read(), check_exact=True)


def test_a_batch_that_fails_leaves_no_output(tmp_path, monkeypatch, compiled):
    rows = _rows(100, 2).drop(columns=["churn"]).astype({"age": object})
    rows.loc[80, "age"] = "eighty"
    source, sink = resolve_source(str(tmp_path / "in.csv")), resolve_source(str(tmp_path / "out.csv"))
    source.write(rows)
    monkeypatch.setattr(main, "PREDICT_BATCH_ROWS", 10)
    with pytest.raises(SchemaError, match="age"):
        main._score_batches(compiled, source, sink)
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".*partial"))
