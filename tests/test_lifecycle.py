"""The report state machine: which status may follow which, checked in one place."""

from __future__ import annotations

import pytest

from bot.reports.lifecycle import (
    ALLOWED,
    PUBLIC,
    PUBLIC_CLOSED,
    PUBLIC_OPEN,
    Status,
    can_transition,
)


@pytest.mark.parametrize(
    ("current", "wanted", "allowed"),
    [
        ("draft", "pending_review", True),
        ("pending_review", "published", True),
        ("pending_review", "rejected", True),
        ("pending_review", "duplicate", True),
        ("published", "acknowledged", True),
        ("acknowledged", "in_progress", True),
        ("in_progress", "resolved", True),
        ("resolved", "reopened", True),
        ("reopened", "in_progress", True),
        ("not_responsible", "published", True),
        ("resolved", "rejected", False),  # a resolved report cannot be rejected
        ("rejected", "duplicate", False),  # a rejected one cannot be merged
        ("rejected", "published", False),
        ("duplicate", "published", False),
        ("pending_review", "resolved", False),
        ("draft", "published", False),
        ("published", "pending_review", False),
    ],
)
def test_transitions(current: str, wanted: str, allowed: bool) -> None:
    assert can_transition(current, wanted) is allowed


def test_every_status_has_its_rules_and_public_sets_match_open311() -> None:
    assert set(ALLOWED) == set(Status)
    assert {"published", "acknowledged", "in_progress", "reopened"} == PUBLIC_OPEN
    assert {"resolved", "duplicate", "not_responsible", "no_action"} == PUBLIC_CLOSED
    assert "rejected" not in PUBLIC and "pending_review" not in PUBLIC
