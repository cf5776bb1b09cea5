"""Runtime settings, read from CLEARWAY_* environment variables (pydantic-settings)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Clearway reads; the defaults are the embedded, single-laptop mode."""

    model_config = SettingsConfigDict(env_prefix="CLEARWAY_", env_file=".env", extra="ignore")

    data_dir: Path = Path("var")
    database_url: str = ""
    redis_url: str | None = None
    queue_prefix: str = "clearway"
    gateway_send_dir: Path | None = None
    gateway_receive_dir: Path | None = None
    warehouse_profiles: Path | None = None
    embedded_simulator: bool = True
    simulator_delay_s: float = 0.5
    simulator_seed: int = 1210
    simulator_require_documents: bool = True
    simulator_review_rate: float = Field(default=0.0, ge=0, le=1)
    simulator_inspection_rate: float = Field(default=0.0, ge=0, le=1)
    simulator_hold_rate: float = Field(default=0.0, ge=0, le=1)
    simulator_receipts_per_file: int = Field(default=1, ge=1, le=1000)
    receipt_poll_s: float = 1.0
    sweep_interval_s: float = 15.0
    relay_grace_s: float = 10.0
    # Commits within this long of the last relay kick share one trailing kick (one Redis call).
    relay_kick_interval_s: float = Field(default=0.2, ge=0, le=5)
    db_pool_size: int = Field(default=20, ge=1, le=200)
    # FastAPI's native OpenTelemetry spans and metrics (with an exporter configured globally).
    opentelemetry: bool = False
    # Order lines one CSV import may hold. The JSON batch takes 1,000 orders parsed whole in
    # memory; a CSV is read a row at a time and stored 500 orders a commit, and its rows are
    # order lines (a few per order): 10,000 is about ten batches' worth, ~3 MB, about a second.
    csv_max_rows: int = Field(default=10_000, ge=1, le=1_000_000)
    weight_tolerance: float = Field(default=0.10, ge=0, le=1)
    # Signs session cookies. Required (32+ bytes) in production; the embedded default makes one
    # in the data directory (kit/secret.py).
    secret_key: str = ""
    session_max_age_s: int = 12 * 3600
    webhook_timeout_s: float = 5.0
    webhook_backoff_s: float = 10.0
    webhook_max_attempts: int = 8
    webhook_disable_after_s: float = 3 * 24 * 3600
    webhook_retention_days: int = 30
    # Ports a webhook URL may name (JSON list); endpoints an admin allowed private may use any.
    webhook_ports: list[int] = Field(default_factory=lambda: [80, 443])
    # Told to callers (Retry-After) while the database or Redis is away: a restart takes seconds.
    retry_after_s: int = Field(default=5, ge=1, le=300)
    # Failed logins allowed per user name, and per client address, in one window; then 429.
    login_failures_per_user: int = Field(default=5, ge=1)
    login_failures_per_address: int = Field(default=30, ge=1)
    login_window_s: int = Field(default=300, ge=1)
    # Password checks (argon2id, 64 MiB each) running at once in this process; others wait.
    password_checks_at_once: int = Field(default=2, ge=1, le=64)
    # The session cookie's Secure flag: on behind TLS (also when a proxy ends TLS before us).
    cookie_secure: bool = False
    # Proxies (addresses or networks, comma-separated) whose X-Forwarded-Proto and
    # X-Forwarded-For are believed: behind them a request that reached the proxy over TLS counts
    # as https (Secure cookies) and the login throttle sees the real client address.
    trusted_proxies: str = "127.0.0.1"
    # Request bodies larger than this are refused (413) before anything parses them.
    max_body_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    # The overview page and /metrics without logging in: None means on in the embedded demo
    # (no REDIS_URL) and off in production, where they need an admin.
    public_status_pages: bool | None = None
    # Events one webhook replay call may resend; a wider range is refused (narrow since/until).
    webhook_replay_max: int = Field(default=500, ge=1, le=5000)
    # Webhooks and printers reach only loopback addresses and spool folders inside data_dir:
    # for tests and fuzzing, which must never send traffic off the machine (kit/outbound.py).
    outbound_loopback_only: bool = False
    # Where a tcp:// printer may be: printers sit on the warehouse LAN (JSON lists).
    printer_networks: list[str] = Field(
        default_factory=lambda: [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "127.0.0.0/8",
            "::1/128",
            "fc00::/7",
        ]
    )
    printer_ports: list[int] = Field(default_factory=lambda: [9100, 9101, 9102, 9103, 6101])

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'clearway.db').as_posix()}"
        if self.gateway_send_dir is None:
            self.gateway_send_dir = self.data_dir / "exchange" / "send"
        if self.gateway_receive_dir is None:
            self.gateway_receive_dir = self.data_dir / "exchange" / "receive"
        return self

    @property
    def send_dir(self) -> Path:
        assert self.gateway_send_dir is not None
        return self.gateway_send_dir

    @property
    def receive_dir(self) -> Path:
        assert self.gateway_receive_dir is not None
        return self.gateway_receive_dir

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def embedded_queue(self) -> bool:
        return not self.redis_url

    @property
    def status_pages_public(self) -> bool:
        if self.public_status_pages is None:
            return self.embedded_queue
        return self.public_status_pages

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def production(self) -> bool:
        """Anything beyond the embedded default (SQLite, no Redis) is run as production."""
        return not self.is_sqlite or not self.embedded_queue


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; tests call `get_settings.cache_clear()` after changing env."""
    return Settings()
