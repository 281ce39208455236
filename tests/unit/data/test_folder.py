import time

import pandas as pd
import pytest

from podium.data import FolderSource, resolve_source
from podium.errors import DataError, SourceError


def test_a_folder_reads_every_matching_file_in_name_order(tmp_path):
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "b.csv", index=False)
    pd.DataFrame({"a": [0]}).to_csv(tmp_path / "a.csv", index=False)
    (tmp_path / "notes.txt").write_text("ignored")
    source = resolve_source(f"folder://{tmp_path}?pattern=*.csv")
    assert isinstance(source, FolderSource)
    assert source.read()["a"].tolist() == [0, 1, 2]


def test_the_fingerprint_changes_when_a_file_is_dropped_or_grows(tmp_path):
    pd.DataFrame({"a": [1]}).to_csv(tmp_path / "a.csv", index=False)
    source = FolderSource(tmp_path)
    before = source.fingerprint()
    assert source.fingerprint() == before
    time.sleep(0.01)
    pd.DataFrame({"a": [1, 2]}).to_csv(tmp_path / "b.csv", index=False)
    assert source.fingerprint() != before


def test_missing_or_empty_folders_say_so(tmp_path):
    with pytest.raises(SourceError, match="does not exist"):
        FolderSource(tmp_path / "nope").read()
    with pytest.raises(DataError, match="no files matching"):
        FolderSource(tmp_path).read()
