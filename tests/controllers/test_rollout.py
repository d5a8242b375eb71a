"""Rollout arithmetic, with the cases of Kubernetes' documentation and controller tests."""

from __future__ import annotations

import pytest

from gitkube.controllers import rollout
from gitkube.controllers.rollout import ReplicaSetState as RS
from gitkube.controllers.rollout import Strategy


@pytest.mark.parametrize(
    ("surge", "unavailable", "desired", "expected"),
    [
        pytest.param("25%", "25%", 10, (3, 2), id="10-replicas-25%-surge-rounds-up"),
        pytest.param(1, 0, 3, (1, 0), id="surge-1-unavailable-0"),
        pytest.param(0, 0, 3, (0, 1), id="both-zero-allows-one-unavailable"),
        pytest.param("0%", "0%", 5, (0, 1), id="both-zero-percent"),
        pytest.param(None, None, 4, (1, 1), id="defaults-25%"),
        pytest.param("50%", "10%", 3, (2, 0), id="percent-rounding"),
    ],
)
def test_resolve_fenceposts(
    surge: int | str | None, unavailable: int | str | None, desired: int,
    expected: tuple[int, int],
) -> None:
    assert rollout.resolve_fenceposts(surge, unavailable, desired) == expected


ROLLING_25 = Strategy("RollingUpdate", "25%", "25%")
SURGE_1 = Strategy("RollingUpdate", 1, 0)
BOTH_ZERO = Strategy("RollingUpdate", 0, 0)
RECREATE = Strategy("Recreate")


@pytest.mark.parametrize(
    ("strategy", "desired", "new", "olds", "expected"),
    [
        pytest.param(ROLLING_25, 10, RS("new", 0, 0), [RS("old", 10, 10)], {"new": 3},
                     id="10x25%-step1-surge-new-to-3"),
        pytest.param(ROLLING_25, 10, RS("new", 3, 0), [RS("old", 10, 10)], {"old": 8},
                     id="10x25%-step2-old-down-by-maxUnavailable"),
        pytest.param(ROLLING_25, 10, RS("new", 3, 0), [RS("old", 8, 8)], {"new": 5},
                     id="10x25%-step3-new-up-again"),
        pytest.param(ROLLING_25, 10, RS("new", 5, 0), [RS("old", 8, 8)], {},
                     id="10x25%-waits-for-new-pods-to-become-available"),
        pytest.param(ROLLING_25, 10, RS("new", 3, 0), [RS("old", 10, 4)], {"old": 8},
                     id="unhealthy-old-pods-cleaned-up-first"),
        pytest.param(SURGE_1, 3, RS("new", 0, 0), [RS("old", 3, 3)], {"new": 1},
                     id="surge1-step1-new-to-1"),
        pytest.param(SURGE_1, 3, RS("new", 1, 0), [RS("old", 3, 3)], {},
                     id="surge1-new-not-ready-old-kept"),
        pytest.param(SURGE_1, 3, RS("new", 1, 1), [RS("old", 3, 3)], {"old": 2},
                     id="surge1-new-ready-old-down-1"),
        pytest.param(SURGE_1, 3, RS("new", 3, 3), [RS("old", 1, 1)], {"old": 0},
                     id="surge1-last-old-pod-goes"),
        pytest.param(BOTH_ZERO, 3, RS("new", 0, 0), [RS("old", 3, 3)], {"old": 2},
                     id="both-zero-old-down-first"),
        pytest.param(BOTH_ZERO, 3, RS("new", 0, 0), [RS("old", 2, 2)], {"new": 1},
                     id="both-zero-then-new-up"),
        pytest.param(ROLLING_25, 2, RS("new", 4, 4), [], {"new": 2},
                     id="new-above-desired-scaled-down"),
        pytest.param(ROLLING_25, 4, RS("new", 4, 4), [RS("a", 0, 0)], {},
                     id="complete-nothing-to-do"),
        pytest.param(ROLLING_25, 4, RS("new", 0, 0),
                     [RS("b", 2, 2, created="2026-01-02"), RS("a", 2, 2, created="2026-01-01")],
                     {"new": 1}, id="two-olds-surge-first"),
        pytest.param(ROLLING_25, 4, RS("new", 1, 0),
                     [RS("b", 2, 2, created="2026-01-02"), RS("a", 2, 2, created="2026-01-01")],
                     {"a": 1}, id="two-olds-oldest-scaled-down-first"),
        pytest.param(ROLLING_25, 4, RS("new", 1, 1),
                     [RS("b", 2, 2, created="2026-01-02"), RS("a", 2, 2, created="2026-01-01")],
                     {"a": 0}, id="two-olds-new-available-more-room"),
        pytest.param(RECREATE, 3, RS("new", 0, 0), [RS("old", 3, 3, active_pods=3)],
                     {"old": 0}, id="recreate-old-to-zero-first"),
        pytest.param(RECREATE, 3, RS("new", 0, 0), [RS("old", 0, 0, active_pods=2)], {},
                     id="recreate-waits-for-old-pods-to-go"),
        pytest.param(RECREATE, 3, RS("new", 0, 0), [RS("old", 0, 0, active_pods=0)],
                     {"new": 3}, id="recreate-new-up-when-old-gone"),
    ],
)
def test_plan_rollout(
    strategy: Strategy, desired: int, new: RS, olds: list[RS], expected: dict[str, int]
) -> None:
    assert rollout.plan_rollout(strategy, desired, new, olds) == expected


def test_rolling_update_never_leaves_the_fenceposts() -> None:
    """10 replicas 25%/25%, pods become available one step later: 8..13 pods at every step."""
    new, old = RS("new", 0, 0), RS("old", 10, 10)
    for _ in range(30):
        changes = rollout.plan_rollout(ROLLING_25, 10, new, [old])
        new = RS("new", changes.get("new", new.replicas), new.replicas)  # last step's pods ready
        old = RS("old", changes.get("old", old.replicas), changes.get("old", old.replicas))
        assert new.replicas + old.replicas <= 13
        assert new.available + old.available >= 8
        if not changes and new.available == 10:
            break
    assert (new.replicas, old.replicas) == (10, 0)
