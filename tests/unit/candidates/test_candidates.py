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


@pytest.mark.parametrize("params", [{"early_stopping": False, "max_iter": 200}, {}])
def test_histogram_boosting_grows_in_rounds_to_the_deadline_and_fits_alike_before_it(data, params):
    import time

    X, y = data["multiclass"]
    build = candidate_registry.get("hist_gradient_boosting").estimator
    plain = build("multiclass", params, 0).fit(X, y)  # no deadline: scikit-learn's own fit
    with fit_deadline(time.time() + 600):  # rounds, none late: the same model (early stopping included)
        rounds = build("multiclass", params, 0).fit(X, y)
    assert rounds.n_iter_ == plain.n_iter_ and np.allclose(rounds.predict_proba(X), plain.predict_proba(X))
    with fit_deadline(time.time() - 1):  # already past: the first round's 32 iterations only
        late = build("multiclass", params, 0).fit(X, y)
    assert late.n_iter_ == min(32, plain.n_iter_) and late.max_iter == plain.max_iter and not late.warm_start


def test_a_plugin_candidate_registers_like_a_builtin():
    from sklearn.dummy import DummyClassifier

    dummy = Candidate(name="dummy_test", tasks=frozenset({"binary"}),
                      build=lambda task, params, seed: DummyClassifier(**params),
                      presets=({"strategy": "most_frequent"},), tags=Tags(handles_missing=True))
    candidate_registry.register("dummy_test", dummy)
    assert "dummy_test" in candidate_registry.names()
    assert candidate_registry.get("dummy_test").supports("binary")
    assert not candidate_registry.get("dummy_test").supports("regression")
