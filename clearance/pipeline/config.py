"""The pipeline's own knobs, read from CLEARWAY_* environment variables like kit.settings."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# How long a case may wait in a state before the sweeper flags it as stuck, in seconds.
# Customs normally answers 2/120 within minutes and 399/800 within hours; held cases wait days.
DEFAULT_STUCK_AFTER: dict[str, float] = {
    "declared": 300,
    "submitted": 1800,
    "declared_to_eport": 1800,
    "accepted": 4 * 3600,
    "manual_review": 24 * 3600,
    "inspection": 24 * 3600,
    "cleared": 4 * 3600,
    "held": 3 * 24 * 3600,
    "rejected": 24 * 3600,
}


class PipelineSettings(BaseSettings):
    """Receipt batching, claims, send retries and stuck thresholds (e.g.
    CLEARWAY_STUCK_AFTER='{...}')."""

    model_config = SettingsConfigDict(env_prefix="CLEARWAY_", env_file=".env", extra="ignore")

    receipt_batch: int = Field(default=500, ge=1, le=5000)
    # A claimer refreshes its heartbeat five times in this; silent longer, it is taken for dead
    # and the sweeper puts its claimed receipt files back.
    claim_dead_after_s: float = Field(default=10.0, gt=0)
    # A receipt file is claimed only once nothing touched it for this long (still being written).
    receipt_settle_s: float = Field(default=1.0, ge=0)
    # An unreadable receipt is read again until this long after it was first seen, then set aside.
    unreadable_grace_s: float = Field(default=60.0, ge=0)
    # A message the disk could not take (full, quota, I/O error) is written again after this,
    # doubling per attempt up to the cap.
    send_retry_s: float = Field(default=5.0, gt=0)
    send_retry_max_s: float = Field(default=300.0, gt=0)
    # A declaration that broke the XSD is built again after this, doubling per failure up to
    # the cap, or at the next sweep once its order was corrected.
    redeclare_backoff_s: float = Field(default=60.0, gt=0)
    redeclare_backoff_max_s: float = Field(default=3600.0, gt=0)
    # Share of first filings the customs simulator refuses with a 100 naming a field to fix.
    simulator_reject_rate: float = Field(default=0.0, ge=0, le=1)
    stuck_after: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_STUCK_AFTER))


def pipeline_settings() -> PipelineSettings:
    """Read afresh each time (cheap), so tests and operators can change the environment."""
    return PipelineSettings()
