"""The suite's reset of module-level state: a pending relay kick is cancelled, and a worker or
ticker left running is found."""

from __future__ import annotations

import threading

import pytest

from kit import outbox
from kit.queue import Coalesced, Ticker
from tests import conftest


def test_reset_cancels_a_pending_trailing_call():
    ran = threading.Event()
    kick = Coalesced(ran.set, lambda: 60.0)
    kick()
    ran.clear()
    kick()  # inside the interval: a trailing call is armed for 60 s later
    kick.reset()
    assert kick._trailing is None
    assert not ran.wait(0.2)
    kick()  # the interval is forgotten: it runs at once
    assert ran.is_set()


def test_the_module_reset_cancels_the_relay_kickers_pending_kick(monkeypatch, embedded):
    calls: list[str] = []
    monkeypatch.setattr(outbox.jobs, "enqueue_once", lambda *args, **kw: calls.append("kick"))
    monkeypatch.setenv("CLEARWAY_RELAY_KICK_INTERVAL_S", "5")
    conftest.get_settings.cache_clear()
    outbox._relay_kicker()
    outbox._relay_kicker()
    assert outbox._relay_kicker._trailing is not None
    conftest.reset_module_state()
    assert outbox._relay_kicker._trailing is None and calls == ["kick"]


def test_a_ticker_left_running_is_reported(monkeypatch: pytest.MonkeyPatch, embedded):
    monkeypatch.setattr(conftest, "LEAK_GRACE_S", 0.1)
    ticker = Ticker().start()
    try:
        assert conftest._still_running(conftest._background_threads()) == ["clearway-ticker"]
    finally:
        ticker.stop()
    assert conftest._still_running({ticker._thread}) == []
