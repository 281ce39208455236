"""The fast CSV writer writes the bytes pandas' ``to_csv(index=False)`` writes, or leaves it to pandas."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from podium.data import resolve_source
from podium.data.csv_writer import render_csv


def _awkward(n: int = 4000) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    floats = np.concatenate([
        rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n),  # every magnitude, exponents both ways
        rng.integers(0, 2**63, n, dtype=np.uint64).view(np.float64),  # any bit pattern: subnormals, nan, huge
        np.round(rng.standard_normal(n) * 1000, 2), rng.integers(-10**6, 10**6, n).astype(float),  # 12.5, 3.0
        [0.0, -0.0, 1.0, 1e16, 1e16 - 2, 1e-4, 9.9999e-5, 0.1 + 0.2, np.inf, -np.inf, np.nan, 5e-324,
         1.7976931348623157e308, 123456789012345.67, 2.0**53 + 2],
    ])
    m = len(floats)
    texts = np.array(["plain", "a,b", 'say "hi"', "two\nlines", "", None, np.nan, "Ünïcödé 日本 🙂", " padded "],
                     dtype=object)
    frame = pd.DataFrame({
        "x": floats,
        "n": rng.integers(-10**15, 10**15, m),
        "small": rng.integers(0, 255, m).astype(np.uint8),
        "flag": rng.random(m) < 0.5,
        "text": rng.choice(texts, m),
        "f32": (rng.standard_normal(m) * 10.0 ** rng.integers(-12, 12, m)).astype(np.float32),
        "kind": pd.Categorical(rng.choice(["low", "high", "mid,dle"], m)),
        "maybe": rng.choice(np.array([True, False, None], dtype=object), m),
        "prediction": rng.random(m).astype(np.float32).astype(np.float64),
    })
    frame.loc[rng.random(m) < 0.05, "f32"] = np.nan
    return frame


@pytest.mark.parametrize("header", [True, False])
def test_it_writes_the_bytes_pandas_writes(header):
    frame = _awkward()
    fast = render_csv(frame, header=header)
    assert fast is not None
    assert fast == frame.to_csv(index=False, header=header).encode()


def test_what_it_writes_reads_back_as_the_same_table():
    frame = _awkward(500)
    back = pd.read_csv(io.BytesIO(render_csv(frame, header=True)), float_precision="round_trip",
                       keep_default_na=False, na_values=[""])
    finite = np.isfinite(frame["x"])
    np.testing.assert_array_equal(back["x"][finite], frame["x"][finite])  # floats to the last bit
    assert back["n"].tolist() == frame["n"].tolist() and back["flag"].tolist() == frame["flag"].tolist()
    texts = frame["text"].where(frame["text"].notna() & (frame["text"] != ""), None)
    assert back["text"].where(back["text"].notna(), None).tolist() == texts.tolist()


@pytest.mark.parametrize("frame", [
    pd.DataFrame({"only": ["", "x"]}),  # a lone empty field is quoted ('""') by the csv module
    pd.DataFrame({"a": ["carriage\rreturn", "x"], "b": [1, 2]}),
    pd.DataFrame({"a": [1, 2], "b": pd.array([1, None], dtype="Int64")}),
    pd.DataFrame({"a": [1, 2], "when": pd.to_datetime(["2024-01-01", "2024-01-02"])}),
    pd.DataFrame({"a": [1, 2], "mixed": np.array([1, "x"], dtype=object)}),
    pd.DataFrame({1: [1, 2], 2: [3, 4]}),
    pd.DataFrame({"a": [], "b": []}),
], ids=["one-column", "carriage-return", "nullable-int", "datetime", "mixed-object", "int-names", "no-rows"])
def test_what_it_cannot_be_sure_of_is_left_to_pandas(frame):
    assert render_csv(frame, header=True) is None


def test_files_and_batches_write_the_same_text_as_before(tmp_path):
    frame = _awkward(300)
    expected = frame.to_csv(index=False).encode()
    sink = resolve_source(str(tmp_path / "whole.csv"))
    sink.write(frame)
    assert (tmp_path / "whole.csv").read_bytes() == expected
    batched = resolve_source(str(tmp_path / "batched.csv"))
    with batched.batch_writer() as writer:
        for start in range(0, len(frame), 1000):
            writer.write(frame.iloc[start:start + 1000])
    assert (tmp_path / "batched.csv").read_bytes() == expected
    semicolons = resolve_source({"path": str(tmp_path / "semi.csv"), "sep": ";"})  # an option: pandas writes
    semicolons.write(frame)
    assert (tmp_path / "semi.csv").read_bytes() == frame.to_csv(index=False, sep=";").encode()
