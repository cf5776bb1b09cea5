"""The clearance state machine (DESIGN.md), pure: which transitions are legal, and what a
customs returnStatus moves a case to."""

from __future__ import annotations

from kit.errors import Conflict

MAIN_PATH = (
    "received",
    "matched",
    "declared",
    "submitted",
    "declared_to_eport",
    "accepted",
    "cleared",
    "released",
    "shipped",
    "closed",
)
REVIEW = ("manual_review", "inspection")
OFF_PATH = ("rejected", "held", "returned", "cancelled")

# Moves people and the floor make; customs receipts are handled by `state_for_status`.
MANUAL_MOVES: dict[str, set[str]] = {
    "received": {"matched", "cancelled"},
    "matched": {"declared", "cancelled"},
    "declared": {"submitted", "cancelled", "declared"},
    "submitted": {"cancelled"},
    "declared_to_eport": {"cancelled"},
    "accepted": {"cancelled"},
    "rejected": {"declared", "cancelled"},
    "released": {"shipped", "cancelled", "returned"},
    "shipped": {"closed"},
}


def state_for_status(status: int) -> str | None:
    """The case state a CEB622 returnStatus stands for (cbec-facts §3.2), or None for 1.

    2 ("新增申报成功") and 3 ("sent to customs") are the E-Port's word that it took the
    declaration and passed it on; customs itself has accepted it only at 120 (海关入库)."""
    if status < 0 or status in (4, 100):
        return "rejected"
    table = {
        2: "declared_to_eport",
        3: "declared_to_eport",
        120: "accepted",
        300: "manual_review",
        500: "inspection",
        399: "cleared",
        800: "released",
        899: "closed",
        700: "returned",
    }
    if status in table:
        return table[status]
    if 501 <= status <= 503 or status == 599:
        return "held"
    return None


def check_move(current: str, target: str) -> None:
    """Refuse a manual move the state machine does not allow."""
    if target not in MANUAL_MOVES.get(current, set()):
        raise Conflict(
            "illegal_transition",
            f"a case that is {current} cannot become {target}",
            field="state",
            details={"from": current, "to": target},
        )


def customs_may_move(current: str) -> bool:
    """Receipts apply once a case was submitted (and while customs still decides)."""
    return current not in ("received", "matched", "shipped", "closed", "cancelled")


# Where a returnStatus sits in customs' own sequence; breaks ties between equal returnTimes.
_RANK = {1: 0, 2: 1, 3: 1, 4: 1, 100: 2, 120: 2, 300: 3, 500: 3, 399: 5, 800: 6, 700: 7, 899: 8}


def status_rank(status: int | None) -> int:
    """Order of a status in the receipt sequence (2 → 120 → 300/500 → 5xx → 399 → 800 → 899)."""
    if status is None:
        return -1
    if 501 <= status <= 599:
        return 4
    return _RANK.get(status, 2 if status < 0 else 0)


# What a customs answer to our own requests concludes (CEB624 to a CEB623 withdrawal, CEB626 to a
# CEB625 return). Which statuses appear there in practice is open (cbec-facts §9 item 9); the
# simulator concludes with 399, and 800/899 are read the same way.
REQUEST_TARGETS = {"CEB624": "cancelled", "CEB626": "returned"}
REQUEST_DONE = frozenset({399, 800, 899})


def request_outcome(message_type: str, status: int) -> str | None:
    """`cancelled`/`returned` when customs concluded our request, `refused` when it said no."""
    if message_type not in REQUEST_TARGETS:
        return None
    if status in REQUEST_DONE:
        return REQUEST_TARGETS[message_type]
    if state_for_status(status) == "rejected":
        return "refused"
    return None
