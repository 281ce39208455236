"""Alias compare-and-set, and promotions recorded before registering and completed once."""

from __future__ import annotations

from pathlib import Path

import pytest

from podium.errors import ConflictError, NotFoundError, UserError
from podium.registry import ModelPackage, Registry


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(f"sqlite:///{tmp_path}/registry.db", str(tmp_path / "artifacts"))


def _decide(registry: Registry, run_id: str, *, champion: int | None, decision: str = "promote") -> None:
    registry.start_run("m", spec={}, task="binary", metric="accuracy", dataset_fingerprint=None, source=None)
    registry.record_promotion(run_id, model="m", alias="champion", dataset="sales:2", champion=champion,
                              decision=decision, message="not worse", figures={"challenger": 0.9})


def test_an_alias_move_with_an_expected_version_loses_cleanly_to_a_newer_move(
        registry: Registry, classifier_package: ModelPackage) -> None:
    for _ in range(3):
        registry.register("m", classifier_package, alias=None)
    assert registry.set_alias("m", "champion", 1, expected=None) is None
    assert registry.set_alias("m", "champion", 2, expected=1) == 1
    with pytest.raises(ConflictError, match=r"m@champion is at version 2, not 1 as expected"):
        registry.set_alias("m", "champion", 3, expected=1)
    with pytest.raises(ConflictError, match="not \\(none\\) as expected"):
        registry.set_alias("m", "champion", 3, expected=None)
    assert registry.resolve("m@champion").version == 2
    moves = [e.payload for e in registry.list_events(kind="alias_moved", model="m")]
    assert [(m["from"], m["to"]) for m in moves] == [(1, 2), (None, 1)]  # nothing recorded for the losers
    assert registry.set_alias("m", "champion", 3) == 2  # a person's move, unchecked


def test_a_promotion_completes_once_and_moves_the_alias(registry: Registry,
                                                       classifier_package: ModelPackage) -> None:
    run_id = registry.start_run("m", spec={}, task="binary", metric="accuracy", dataset_fingerprint=None,
                                source=None)
    registry.record_promotion(run_id, model="m", alias="champion", dataset="sales:1", champion=None,
                              decision="promote", message="first", figures={})
    version = registry.register("m", classifier_package, run_id=run_id, alias=None)
    # killed before promotion_registered: completing finds the version by its run
    done = registry.complete_promotion(run_id)
    assert (done.state, done.version, done.dataset) == ("promoted", version, "sales:1")
    assert registry.resolve("m@champion").version == version
    again = registry.complete_promotion(run_id)
    assert again.state == "promoted" and again.updated_at == done.updated_at
    assert len(registry.list_events(kind="alias_moved", model="m")) == 1


def test_a_promotion_overtaken_by_a_newer_move_is_superseded(registry: Registry,
                                                             classifier_package: ModelPackage) -> None:
    registry.register("m", classifier_package)  # version 1 is the champion
    _decide(registry, "run-a", champion=1)
    registry.register("m", classifier_package, run_id="run-a", alias=None)  # version 2
    registry.register("m", classifier_package, alias=None)  # version 3, moved by hand meanwhile
    registry.set_alias("m", "champion", 3)
    record = registry.complete_promotion("run-a")
    assert record.state == "superseded" and "moved to version 3" in record.outcome
    assert registry.resolve("m@champion").version == 3


def test_an_unregistered_challenger_is_abandoned_and_kept_is_kept(registry: Registry,
                                                                  classifier_package: ModelPackage) -> None:
    _decide(registry, "run-a", champion=None)
    assert registry.complete_promotion("run-a").state == "abandoned"
    _decide(registry, "run-b", champion=None, decision="keep")
    registry.register("m", classifier_package, run_id="run-b", alias=None)
    record = registry.complete_promotion("run-b")
    assert record.state == "kept" and record.outcome == "not promoted: not worse"
    with pytest.raises(NotFoundError, match="m@champion|no alias|has no alias"):
        registry.resolve("m@champion")
    with pytest.raises(NotFoundError, match="no recorded promotion"):
        registry.complete_promotion("nope")


def test_a_challenger_waits_for_approval_then_moves_the_alias(registry: Registry,
                                                             classifier_package: ModelPackage) -> None:
    registry.register("m", classifier_package)
    _decide(registry, "run-a", champion=1, decision="approve")
    version = registry.register("m", classifier_package, run_id="run-a", alias=None)
    registry.promotion_registered("run-a", version)
    assert registry.complete_promotion("run-a").state == "awaiting_approval"
    assert registry.resolve("m@champion").version == 1
    assert [p.version for p in registry.list_promotions(state="awaiting_approval")] == [2]
    with pytest.raises(NotFoundError, match="m:1 has no promotion waiting"):
        registry.approve_promotion("m", 1)
    approved = registry.approve_promotion("m", 2)
    assert approved.state == "promoted" and registry.resolve("m@champion").version == 2
    with pytest.raises(UserError, match="m:2 is not waiting for approval: its promotion is promoted"):
        registry.approve_promotion("m", 2)


def test_approval_is_refused_when_the_champion_moved_since_the_comparison(
        registry: Registry, classifier_package: ModelPackage) -> None:
    registry.register("m", classifier_package)
    _decide(registry, "run-a", champion=1, decision="approve")
    registry.register("m", classifier_package, run_id="run-a", alias=None)
    registry.complete_promotion("run-a")
    registry.register("m", classifier_package)  # version 3 became the champion meanwhile
    with pytest.raises(ConflictError, match="moved to version 3 since m:2 was compared with version 1"):
        registry.approve_promotion("m", 2)
    assert registry.resolve("m@champion").version == 3
