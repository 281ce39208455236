import random

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_regression

from podium.candidates import Candidate, Choice, Float, Int, Tags, candidate_registry, fit_deadline
from podium.errors import NotFoundError


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)
    Xr, yr = make_regression(300, 6, noise=5, random_state=0)
    labels = np.array(["low", "mid", "high"])[y]
    return {"multiclass": (X, labels), "binary": (X, labels == "low"), "regression": (Xr, yr)}


@pytest.mark.parametrize("name", candidate_registry.names())
def test_every_preset_builds(name):
    candidate = candidate_registry.get(name)
    task = sorted(candidate.tasks)[0]
    for params in candidate.presets:
        candidate.estimator(task, params, seed=1)  # valid parameters (the fits: test_conformance)


def test_configurations_are_reproducible():
    lgbm = candidate_registry.get("lightgbm")
    a = [p for _, p in zip(range(8), lgbm.configurations(random.Random(3)))]
    b = [p for _, p in zip(range(8), lgbm.configurations(random.Random(3)))]
    assert a == b and a[0] == {} and len({str(p) for p in a}) == 8


def test_unknown_candidate_suggests_a_close_name():
    with pytest.raises(NotFoundError, match="'lightgmb' is not a candidate. Did you mean 'lightgbm'"):
        candidate_registry.get("lightgmb")


def test_distributions_stay_in_range():
    rng = random.Random(0)
    assert all(2 <= Int(2, 9).sample(rng) <= 9 for _ in range(50))
    assert all(1e-3 <= Float(1e-3, 10, log=True).sample(rng) <= 10 for _ in range(50))
    assert Choice(("a",)).sample(rng) == "a"


def test_boosting_stops_at_the_deadline(data):
    import time

    X, y = data["regression"]
    booster = candidate_registry.get("lightgbm").estimator("regression", {"learning_rate": 0.001}, 0)
    with fit_deadline(time.time() - 1):  # already past: keep what the first iterations made
        booster.fit(X, y)
    assert booster.best_iteration_ < 10


@pytest.mark.parametrize(("name", "params", "first_round"), [
    ("hist_gradient_boosting", {"early_stopping": False, "max_iter": 200}, 32),
    ("hist_gradient_boosting", {}, 32),  # early-stopped: the rounds stop where one fit stops
    ("random_forest", {"n_estimators": 40}, 4),
    ("extra_trees", {"n_estimators": 40}, 4),
])
def test_scikit_learn_ensembles_grow_in_rounds_to_the_deadline_and_fit_alike_before_it(data, name, params,
                                                                                        first_round):
    import time

    X, y = data["multiclass"]
    build = candidate_registry.get(name).estimator
    plain = build("multiclass", params, 0).fit(X, y)  # no deadline: scikit-learn's own fit
    size = plain.n_iter_ if hasattr(plain, "n_iter_") else len(plain.estimators_)
    with fit_deadline(time.time() + 600):  # rounds, none late: the same model
        rounds = build("multiclass", params, 0).fit(X, y)
    assert np.allclose(rounds.predict_proba(X), plain.predict_proba(X))
    with fit_deadline(time.time() - 1):  # already past: the first round only
        late = build("multiclass", params, 0).fit(X, y)
    late_size = late.n_iter_ if hasattr(late, "n_iter_") else len(late.estimators_)
    assert late_size == min(first_round, size) and late.get_params() == plain.get_params()


def test_a_trials_booster_skips_the_refit_that_a_shipped_one_gets(data):
    from podium.candidates import selection_fit

    X, y = data["regression"]
    candidate = candidate_registry.get("lightgbm")
    shipped = candidate.estimator("regression", {}, 0).fit(X, y)
    with selection_fit():
        trial = candidate.estimator("regression", {}, 0).fit(X, y)
    assert trial.best_iteration_ == shipped.best_iteration_
    # the shipped model is refitted on every row with ~1.1x the trees found; the trial's is the early-stopped one
    assert shipped.model_.n_estimators == int(shipped.best_iteration_ * 1.1) + 1 != trial.model_.n_estimators
    assert candidate.tags.final_fit_factor == 2.0 and candidate_registry.get("ridge").tags.final_fit_factor == 1.0


def test_a_plugin_candidate_registers_like_a_builtin():
    from sklearn.dummy import DummyClassifier

    dummy = Candidate(name="dummy_test", tasks=frozenset({"binary"}),
                      build=lambda task, params, seed: DummyClassifier(**params),
                      presets=({"strategy": "most_frequent"},), tags=Tags(handles_missing=True))
    candidate_registry.register("dummy_test", dummy)
    assert "dummy_test" in candidate_registry.names()
    assert candidate_registry.get("dummy_test").supports("binary")
    assert not candidate_registry.get("dummy_test").supports("regression")


@pytest.mark.parametrize("family", ["random_forest", "extra_trees"])
def test_a_forest_holds_a_bounded_number_of_nodes_whatever_its_rows(family, monkeypatch):
    from podium.candidates import trees

    candidate = candidate_registry.get(family)
    rng = random.Random(0)
    drawn = [*candidate.presets, *(next(candidate.configurations(rng)) for _ in range(20))]
    for task, node_bytes in (("regression", 64 + 8), ("multiclass", 64 + 8 * 10)):
        for params in drawn:  # every configuration podium may try: ~100 MB of nodes at most
            model = candidate.estimator(task, params, 0)
            trees_ = model.get_params()["n_estimators"]
            assert model.get_params()["max_leaf_nodes"] == trees.forest_leaves(task, trees_)
            assert (2 * model.get_params()["max_leaf_nodes"] - 1) * trees_ * node_bytes < 130 * 2**20
    # fitted: fully grown, these 3,000 noisy rows would make ~3,000 leaves a tree
    monkeypatch.setattr(trees, "FOREST_LEAVES", {"regression": 2_000, "classification": 1_000})
    monkeypatch.setattr(trees, "MIN_TREE_LEAVES", 10)
    X, y = make_regression(3000, 4, noise=20, random_state=0)
    forest = candidate.estimator("regression", {"n_estimators": 10, "max_features": 1.0}, 0).fit(X, y)
    assert all(t.tree_.n_leaves <= 200 for t in forest.estimators_)
    labels = np.array(["a", "b"])[(X[:, 0] + np.random.default_rng(0).normal(size=3000) > 0).astype(int)]
    forest = candidate.estimator("binary", {"n_estimators": 10}, 0).fit(X, labels)
    assert all(t.tree_.n_leaves <= 100 for t in forest.estimators_)
    # a cap the spec gives wins
    assert candidate.estimator("regression", {"n_estimators": 10, "max_leaf_nodes": 7}, 0).max_leaf_nodes == 7


def test_a_boosted_model_grows_a_bounded_number_of_trees_whatever_its_classes(data, monkeypatch):
    from podium.candidates import boosting

    monkeypatch.setattr(boosting, "_MAX_TREES", 60)
    assert boosting.max_rounds(5000, 3) == 20 and boosting.max_rounds(7, 3) == 7 and boosting.max_rounds(5000, 1) == 60
    X, y = data["multiclass"]  # 3 classes: 3 trees a round; a tiny learning rate never stops early
    for name in ("lightgbm", "xgboost"):
        model = candidate_registry.get(name).estimator("multiclass", {"learning_rate": 0.001}, 0).fit(X, y)
        assert model.best_iteration_ == 20
        assert model.model_.get_params()["n_estimators"] <= 23  # the refit: 1.1 x the rounds found
