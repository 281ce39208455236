from __future__ import annotations

import pandas as pd
import pytest
from serving_doubles import titanic_frame

from podium.serving.client import ServiceError, predict_remote


def test_a_table_is_scored_in_batches_in_row_order(client, registry):
    frame = titanic_frame(25, seed=3)
    frame.index = range(100, 125)
    scored = predict_remote("http://testserver", "titanic", frame, client=client, batch_size=10)
    expected, _ = registry.load("titanic").predict_frame(frame)
    assert list(scored.index) == list(frame.index)
    assert list(scored["prediction"]) == list(expected["prediction"])
    assert scored["proba_yes"].to_numpy() == pytest.approx(expected["proba_yes"].to_numpy())


def test_a_missing_feature_or_a_refusal_is_one_clear_error(client):
    with pytest.raises(ServiceError, match="lacks feature.*class"):
        predict_remote("http://testserver", "titanic", titanic_frame(3).drop(columns=["class"]), client=client)
    with pytest.raises(ServiceError, match="404.*No model 'nope'"):
        predict_remote("http://testserver", "nope", titanic_frame(3), client=client)
    client.headers.pop("Authorization")
    with pytest.raises(ServiceError, match="401"):
        predict_remote("http://testserver", "titanic", pd.DataFrame(titanic_frame(3)), client=client)
