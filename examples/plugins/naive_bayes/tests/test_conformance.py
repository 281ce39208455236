"""The family keeps podium's candidate contract (podium.testing is the contract)."""

from importlib.metadata import entry_points

from podium.testing.checks import check_candidate

from podium_naive_bayes import candidate


def test_the_family_conforms():
    check_candidate(candidate)


def test_podium_finds_it_by_its_entry_point():
    (found,) = [ep for ep in entry_points(group="podium.candidates") if ep.name == "naive_bayes"]
    assert found.load() is candidate
