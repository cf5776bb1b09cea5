"""The broker's workspace API: a rejected declaration corrected and resubmitted, the exception
view, cancelling, transport retry, and who may see what."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import col

from app import create_app
from clearance.pipeline.models import ClearanceCase, CustomsMessage
from kit.auth import Role
from kit.db import session_scope
from kit.settings import get_settings
from tests.clearance.broker_flow import (
    REASON,
    case_state,
    reject_sent_message,
    submit_parcel,
    wait_until,
)
from tests.conftest import Customs, Stack
from tests.factories import api_key, auth

API = "/api/v1/broker"


@pytest.fixture
def client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("CLEARWAY_EMBEDDED_SIMULATOR", "false")
    get_settings.cache_clear()
    with TestClient(create_app(background=True)) as test_client:
        yield test_client


def test_rejected_declaration_is_corrected_resubmitted_and_released(client: TestClient) -> None:
    admin = api_key()
    broker = api_key(Role.broker, warehouse_codes=("HZ",))
    with Customs():
        order_no, cop_no = submit_parcel(client, admin, break_id=True)
        wait_until(lambda: case_state(cop_no) == "rejected", "the rejection")
        view = client.get(f"{API}/declarations/{cop_no}", headers=auth(broker)).json()
        assert "订购人身份证件号码校验不通过" in view["reason"]
        assert view["receipts"][-1]["meaning_en"] == "Rejected by customs"
        assert [f["field"] for f in view["preflight"]] == ["buyerIdNumber"]
        good = view["order"]["buyer_id_number"][:17] + _check_digit(view)
        fix = {"buyer_id_number": good}
        fixed = client.post(f"{API}/declarations/{cop_no}/correct", json=fix, headers=auth(broker))
        assert fixed.status_code == 200 and fixed.json()["preflight"] == []
        again = client.post(f"{API}/declarations/{cop_no}/resubmit", headers=auth(broker))
        assert again.json()["app_type"] == "2"
        wait_until(lambda: case_state(cop_no) == "released", "release after resubmission")
    view = client.get(f"{API}/declarations/{cop_no}", headers=auth(broker)).json()
    assert [m["app_type"] for m in view["messages"]] == ["2", "1"]
    assert "<ceb:appType>2</ceb:appType>" in view["messages"][0]["xml"]
    assert f"<ceb:buyerIdNumber>{good}</ceb:buyerIdNumber>" in view["messages"][0]["xml"]
    topics = [e["topic"] for e in view["timeline"]]
    assert topics.index("clearance.rejected") < topics.index("order.corrected")
    assert topics[-1] == "clearance.released"
    assert order_no == view["order_no"]


def _check_digit(view: dict) -> str:
    """The check digit the pre-flight finding names ("check digit should be X")."""
    return view["preflight"][0]["message"].rsplit(" ", 1)[-1]


def test_exceptions_group_rejections_with_reason_and_time(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    reject_sent_message()
    wait_until(lambda: case_state(cop_no) == "rejected", "the rejection")
    groups = client.get(f"{API}/exceptions", headers=auth(admin)).json()
    rejected = next(g for g in groups if g["key"] == "rejected")
    assert [(r["cop_no"], r["reason"]) for r in rejected["rows"]] == [(cop_no, REASON)]
    assert rejected["rows"][0]["waited"].endswith("s")
    page = client.get("/broker/exceptions", headers=auth(admin))
    assert page.status_code == 200 and cop_no in page.text and "退单" in page.text


def test_illegal_moves_are_refused_with_a_clear_error(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    refused = client.post(f"{API}/declarations/{cop_no}/resubmit", headers=auth(admin))
    assert refused.status_code == 409 and refused.json()["code"] == "not_rejected"
    fix = client.post(
        f"{API}/declarations/{cop_no}/correct", json={"buyer_name": "x"}, headers=auth(admin)
    )
    assert fix.status_code == 409


def test_correction_refuses_a_bad_id_number(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    reject_sent_message()
    wait_until(lambda: case_state(cop_no) == "rejected", "the rejection")
    bad = client.post(
        f"{API}/declarations/{cop_no}/correct",
        json={"buyer_id_number": "11010519491231002Y"},
        headers=auth(admin),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "invalid_id_number"


def test_correction_names_each_bad_field(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    reject_sent_message()
    wait_until(lambda: case_state(cop_no) == "rejected", "the rejection")
    bad = client.post(
        f"{API}/declarations/{cop_no}/correct", json={"consignee_name": "  "}, headers=auth(admin)
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "consignee_name"


def test_cancel_before_customs_has_it_withdraws_the_message(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    reject_sent_message()
    wait_until(lambda: case_state(cop_no) == "rejected", "the rejection")
    done = client.post(f"{API}/declarations/{cop_no}/cancel", headers=auth(admin)).json()
    assert (done["result"], case_state(cop_no)) == ("cancelled", "cancelled")


def test_failed_transport_is_retried(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    with session_scope() as session:
        message = session.scalars(select(CustomsMessage)).one()
        message.transport_state, message.transport_error = "failed", "disk full"
        session.add(message)
    retried = client.post(f"{API}/declarations/{cop_no}/retry", headers=auth(admin))
    assert retried.json()["retried"] == 1

    def written_again() -> bool:
        with session_scope() as session:
            states = list(session.scalars(select(col(CustomsMessage.transport_state))))
        return states == ["written"]

    wait_until(written_again, "the retried message to be written")
    nothing = client.post(f"{API}/declarations/{cop_no}/retry", headers=auth(admin))
    assert nothing.status_code == 409


def test_broker_sees_only_own_warehouses(client: TestClient) -> None:
    admin = api_key()
    other = api_key(Role.broker, warehouse_codes=("NB",))
    merchant = api_key(Role.merchant, merchant_id=1)
    _, cop_no = submit_parcel(client, admin)
    assert client.get(f"{API}/declarations", headers=auth(other)).json() == []
    hidden = client.get(f"{API}/declarations/{cop_no}", headers=auth(other))
    assert hidden.status_code == 404
    assert client.get(f"{API}/declarations", headers=auth(merchant)).status_code == 403
    with session_scope() as session:
        count = len(session.scalars(select(ClearanceCase)).all())
    listed = client.get(f"{API}/declarations?warehouse=HZ", headers=auth(admin)).json()
    assert len(listed) == count == 1


def _released(client: TestClient, admin: str) -> str:
    _, cop_no = submit_parcel(client, admin)
    wait_until(lambda: case_state(cop_no) == "released", "release")
    return cop_no


def test_cancel_after_acceptance_goes_through_ceb623(client: TestClient) -> None:
    admin = api_key()
    with Customs():
        cop_no = _released(client, admin)
        done = client.post(f"{API}/declarations/{cop_no}/cancel", headers=auth(admin)).json()
        assert done["result"] == "cancel_requested"
        wait_until(lambda: case_state(cop_no) == "cancelled", "CEB624 to conclude")
    view = client.get(f"{API}/declarations/{cop_no}", headers=auth(admin)).json()
    assert view["messages"][0]["message_type"] == "CEB623"
    assert view["messages"][0]["transport_state"] in ("written", "picked_up")
    answers = [r for r in view["receipts"] if r["message_type"] == "CEB624"]
    assert answers and answers[-1]["return_status"] == 399
    topics = [e["topic"] for e in view["timeline"]]
    assert topics.index("clearance.cancel_requested") < topics.index("clearance.cancelled")


def test_return_of_a_released_parcel_goes_through_ceb625(client: TestClient) -> None:
    admin = api_key()
    with Customs():
        cop_no = _released(client, admin)
        body = {"reason": "买家七天无理由退货"}
        done = client.post(f"{API}/declarations/{cop_no}/return", json=body, headers=auth(admin))
        assert done.json()["result"] == "return_requested"
        wait_until(lambda: case_state(cop_no) == "returned", "CEB626 to conclude")
    view = client.get(f"{API}/declarations/{cop_no}", headers=auth(admin)).json()
    assert view["messages"][0]["message_type"] == "CEB625"
    assert view["timeline"][-1]["topic"] == "clearance.returned"


def test_return_before_release_is_refused(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    refused = client.post(f"{API}/declarations/{cop_no}/return", headers=auth(admin))
    assert refused.status_code == 409 and refused.json()["code"] == "not_released"


def test_batch_submission_sends_waiting_declarations(client: TestClient) -> None:
    admin = api_key()
    _, cop_no = submit_parcel(client, admin)
    with session_scope() as session:
        case = session.scalars(select(ClearanceCase)).one()
        message = session.scalars(select(CustomsMessage)).one()
        case.state, message.transport_state = "declared", "pending"
        session.add_all([case, message])
    done = client.post(f"{API}/submit", json={"cop_nos": [cop_no]}, headers=auth(admin))
    assert done.json() == {"submitted": [cop_no]}
    wait_until(lambda: case_state(cop_no) == "submitted", "the batch to be sent")
    with session_scope() as session:
        assert session.scalars(select(col(CustomsMessage.transport_state))).one() == "written"


def test_workspace_page_counts_declarations_per_warehouse_and_state(client: TestClient) -> None:
    admin = api_key()
    broker = api_key(Role.broker, warehouse_codes=("HZ",))
    _, cop_no = submit_parcel(client, admin)
    state = case_state(cop_no)
    page = client.get("/broker", headers=auth(broker))
    assert page.status_code == 200
    assert f'href="/broker?warehouse=HZ&state={state}">1</a>' in page.text
    assert ">NB<" not in page.text and cop_no in page.text
