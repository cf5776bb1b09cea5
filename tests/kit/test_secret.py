"""The session-signing key: a production start refuses a guessable one; the demo makes its own."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app import create_app
from cli import app as cli_app
from kit.secret import InsecureSecret, _data_dir_secret, signing_secret
from kit.settings import get_settings

DEPLOY_EXAMPLE = "change-me-to-a-long-random-secret"
UNREACHABLE_PG = "postgresql://clearway@127.0.0.1:1/nowhere"


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """PostgreSQL configured (never reached: the refusal comes first), no secret key set."""
    monkeypatch.setenv("CLEARWAY_DATABASE_URL", UNREACHABLE_PG)
    monkeypatch.setenv("CLEARWAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CLEARWAY_SECRET_KEY", raising=False)
    monkeypatch.delenv("CLEARWAY_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


@pytest.mark.parametrize("secret", [None, "dev-only-secret-change-me", DEPLOY_EXAMPLE, "s" * 31])
def test_production_refuses_a_default_example_or_short_secret(
    production: pytest.MonkeyPatch, secret: str | None
) -> None:
    if secret is not None:
        production.setenv("CLEARWAY_SECRET_KEY", secret)
    get_settings.cache_clear()
    with pytest.raises(InsecureSecret, match="Set CLEARWAY_SECRET_KEY"):
        create_app()


def test_redis_alone_also_counts_as_production(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLEARWAY_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("CLEARWAY_REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.delenv("CLEARWAY_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    try:
        with pytest.raises(InsecureSecret):
            create_app()
    finally:
        get_settings.cache_clear()


def test_serve_says_what_to_set_before_touching_the_database(
    production: pytest.MonkeyPatch,
) -> None:
    result = CliRunner().invoke(cli_app, ["serve"])
    assert result.exit_code == 2
    assert "refusing to start" in result.output and "CLEARWAY_SECRET_KEY" in result.output


def test_production_starts_with_a_long_random_secret(production: pytest.MonkeyPatch) -> None:
    production.setenv("CLEARWAY_SECRET_KEY", "k" * 32)
    get_settings.cache_clear()
    assert create_app().title == "Clearway"


def test_the_embedded_demo_makes_a_private_secret_once_and_reuses_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CLEARWAY_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CLEARWAY_DATABASE_URL", raising=False)
    monkeypatch.delenv("CLEARWAY_REDIS_URL", raising=False)
    monkeypatch.delenv("CLEARWAY_SECRET_KEY", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    first = signing_secret(settings)
    _data_dir_secret.cache_clear()  # a restart: read back from the data directory
    path = tmp_path / "var" / "secret_key"
    assert signing_secret(settings) == first
    assert len(first) >= 32 and first not in ("", "dev-only-secret-change-me")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]
    get_settings.cache_clear()
