"""The clearance state machine: what each returnStatus means for a case (cbec-facts §3.2)."""

from __future__ import annotations

import pytest

from clearance.pipeline.state import MAIN_PATH, check_move, state_for_status
from kit.errors import Conflict


@pytest.mark.parametrize("status", [2, 3])
def test_the_eport_taking_a_declaration_is_not_customs_acceptance(status: int) -> None:
    assert state_for_status(status) == "declared_to_eport"


def test_customs_accepts_only_at_120() -> None:
    accepting = [
        s for s in (1, 2, 3, 4, 100, 120, 300, 399, 500, 800) if state_for_status(s) == "accepted"
    ]
    assert accepting == [120]


def test_declared_to_eport_sits_between_submitted_and_accepted() -> None:
    at = MAIN_PATH.index("declared_to_eport")
    assert MAIN_PATH[at - 1 : at + 2] == ("submitted", "declared_to_eport", "accepted")


def test_a_case_at_the_eport_may_only_be_cancelled_by_hand() -> None:
    check_move("declared_to_eport", "cancelled")
    with pytest.raises(Conflict):
        check_move("declared_to_eport", "accepted")
