"""Fixtures of clearance's browser tests: the whole system served live, and a Chromium tab."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import chromium_page, live_server
from tests.conftest import Stack


@pytest.fixture
def server(embedded: Stack) -> Iterator[str]:
    """The whole system: API, pages, embedded worker and the customs simulator."""
    with live_server(background=True) as url:
        yield url


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    with chromium_page() as tab:
        yield tab
