"""Champion / challenger decisions, the fresh-process smoke test, promote and rollback."""

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.automation.promote import Holdout, decide_promotion, promote, rollback, schema_changes, smoke_test
from podium.data import infer_column_types
from podium.errors import UserError
from podium._internal.fingerprint import file_fingerprint
from podium.registry import MANIFEST, InputSchema, ModelPackage, OutputSchema, Registry
from podium.spec import PromotionSpec
from podium.training import get_metric


def _frame(n=200, seed=0):
    rng = np.random.default_rng(seed)
    color = rng.choice(["red", "blue"], n)
    return pd.DataFrame({"color": color, "y": np.where(color == "red", "yes", "no")})


def _package(estimator, frame):
    X, y = frame[["color"]], frame["y"]
    pipeline = make_pipeline(OneHotEncoder(handle_unknown="ignore"), estimator).fit(X, y)
    return ModelPackage(pipeline=pipeline, input_schema=InputSchema.from_frame(X, infer_column_types(X)),
                        output_schema=OutputSchema.from_target(y, "binary"), metric="accuracy")


@pytest.fixture
def rows():
    frame = _frame(seed=1)
    return frame[["color"]], frame["y"]


def test_a_worse_challenger_is_not_promoted(rows):
    frame = _frame()
    good, bad = _package(LogisticRegression(), frame), _package(DummyClassifier(), frame)
    X, y = rows
    decision = decide_promotion(challenger_value=0.5, champion=good, challenger=bad, X_test=X, y_test=y,
                                metric=get_metric("accuracy", "binary"), policy=PromotionSpec())
    assert not decision.promote
    assert decision.figures["champion"] == 1.0 and "worse than the champion" in decision.message
    tolerant = decide_promotion(challenger_value=0.5, champion=good, challenger=bad, X_test=X, y_test=y,
                                metric=get_metric("accuracy", "binary"), policy=PromotionSpec(tolerance=0.6))
    assert tolerant.promote


def test_an_equal_or_better_challenger_and_a_first_model_are_promoted(rows):
    frame = _frame()
    good = _package(LogisticRegression(), frame)
    X, y = rows
    metric = get_metric("accuracy", "binary")
    assert decide_promotion(challenger_value=1.0, champion=good, challenger=good, X_test=X, y_test=y,
                            metric=metric, policy=PromotionSpec()).promote
    first = decide_promotion(challenger_value=0.6, champion=None, challenger=good, X_test=X, y_test=y,
                             metric=metric, policy=PromotionSpec())
    assert first.promote and "no champion" in first.message


def test_a_removed_column_is_a_breaking_change(rows):
    old = InputSchema.from_frame(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}))
    new = InputSchema.from_frame(pd.DataFrame({"a": ["p", "q"]}))
    changes = schema_changes(old, new)
    assert "column 'b' was removed" in changes
    assert any("'a' changed type" in c for c in changes)


def test_the_smoke_test_reloads_the_package_in_a_fresh_process(tmp_path, rows):
    package = _package(LogisticRegression(), _frame())
    package.save(None, tmp_path / "pkg")
    X, _ = rows
    expected = package.predict_frame(X)[0]["prediction"].to_numpy()
    checksum = file_fingerprint(tmp_path / "pkg" / MANIFEST)
    assert smoke_test(tmp_path / "pkg", X, expected, checksum=checksum) is None
    flipped = np.where(expected == "yes", "no", "yes")
    assert "changed" in smoke_test(tmp_path / "pkg", X, flipped, checksum=checksum)


def test_promote_by_hand_and_roll_back(tmp_path):
    registry = Registry(f"sqlite:///{tmp_path}/r.db", str(tmp_path / "artifacts"))
    package = _package(LogisticRegression(), _frame())
    for _ in range(3):
        registry.register("m", package)
    assert registry.resolve("m@champion").version == 3
    registry.register("solo", package)
    with pytest.raises(UserError, match="solo@champion has no earlier version"):
        rollback(registry, "solo")
    assert rollback(registry, "m") == (3, 2)
    assert registry.resolve("m@champion").version == 2
    assert promote(registry, "m:3") == (2, 3)
    assert registry.resolve("m@champion").version == 3
    kinds = [e.kind for e in registry.list_events(model="m")]
    assert "rolled_back" in kinds and "promoted_by_hand" in kinds


def test_a_challenger_that_wins_on_its_own_rows_but_loses_on_the_reference_is_not_promoted():
    clean = _frame(seed=2)
    poisoned = clean.assign(y=np.where(clean["y"] == "yes", "no", "yes"))  # labels flipped by the uploader
    champion, challenger = _package(LogisticRegression(), clean), _package(LogisticRegression(), poisoned)
    metric = get_metric("accuracy", "binary")
    new_rows = _frame(seed=3).assign(y=lambda f: np.where(f["y"] == "yes", "no", "yes"))
    reference = _frame(seed=4)
    decision = decide_promotion(
        challenger_value=1.0, champion=champion, challenger=challenger, X_test=new_rows[["color"]],
        y_test=new_rows["y"], metric=metric, policy=PromotionSpec(),
        reference=Holdout("sales:1", reference[["color"]], reference["y"]))
    assert not decision.promote
    assert "on the reference holdout sales:1, challenger accuracy 0 is worse than the champion's 1" in decision.message
    assert decision.figures["champion"] == pytest.approx(0.0) and decision.figures["margin"] == pytest.approx(1.0)
    ref = decision.figures["reference"]
    assert ref["rows"] == "sales:1" and ref["challenger"] == pytest.approx(0.0)
    assert ref["champion"] == pytest.approx(1.0) and ref["margin"] == pytest.approx(-1.0) and not ref["not_worse"]
    honest = decide_promotion(
        challenger_value=1.0, champion=champion, challenger=_package(LogisticRegression(), _frame(seed=5)),
        X_test=reference[["color"]], y_test=reference["y"], metric=metric, policy=PromotionSpec(),
        reference=Holdout("sales:1", reference[["color"]], reference["y"]))
    assert honest.promote and "on the reference holdout sales:1: 1 vs 1" in honest.message


def test_the_champion_keeps_its_recorded_score_on_the_data_it_learned_from(rows):
    frame = _frame()
    champion = _package(LogisticRegression(), frame)
    champion.metrics["accuracy"] = 0.97
    champion.lineage["dataset_fingerprint"] = "fp-1"
    X, y = rows
    decision = decide_promotion(challenger_value=1.0, champion=champion, challenger=champion, X_test=X, y_test=y,
                                metric=get_metric("accuracy", "binary"), policy=PromotionSpec(),
                                reference=Holdout("sales:1", X, y, fingerprint="fp-1"))
    assert decision.promote
    assert decision.figures["reference"]["basis"] == "holdout scores on the same data"
    assert decision.figures["reference"]["champion"] == pytest.approx(0.97)


def test_cas_promote_by_hand_loses_to_a_move_made_meanwhile(tmp_path, monkeypatch):
    from podium.automation import promote as promote_module
    from podium.errors import ConflictError

    registry = Registry(f"sqlite:///{tmp_path}/r.db", str(tmp_path / "artifacts"))
    package = _package(LogisticRegression(), _frame())
    for _ in range(3):
        registry.register("m", package, alias=None)
    registry.set_alias("m", "champion", 1)
    read = promote_module._alias_target

    def read_then_someone_moves(reg, name, alias):  # another admin promotes between read and write
        seen = read(reg, name, alias)
        reg.set_alias(name, alias, 2)
        return seen

    monkeypatch.setattr(promote_module, "_alias_target", read_then_someone_moves)
    with pytest.raises(ConflictError, match="m@champion is at version 2, not 1 as expected"):
        promote(registry, "m:3")
    assert registry.resolve("m@champion").version == 2
